package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/workflow"
)

// Records keeps the runs' records (runs.Store's UpdateRun): every step
// reports its phase there, so a run's progress, its timeline and its
// exposure clock outlive the execution's history.
type Records interface {
	UpdateRun(ctx context.Context, tenant, id string, change func(*runs.Run) bool) (runs.Run, error)
}

// seqStride orders the reports of one phase: its Tasks in workflow order,
// and each Task's polls within (a poll count is far below it).
const seqStride = 1_000_000

// report writes a step's report to its run's record, and the exposure
// figures it changed to the metrics. A record that cannot be written is a
// TransientError: the step runs again (steps are idempotent) rather than
// losing what happened.
func (s *Steps) report(ctx context.Context, req Request, step workflow.Step, rep runs.StepReport) error {
	if s.Records == nil {
		return nil
	}
	rep.Attempt, rep.Phase, rep.Order = req.RedriveCount+1, step.Phase.Name, runs.PhaseOrder(step.Phase.Name)
	rep.At = s.Now().UTC()
	before := runs.Exposure{}
	run, err := s.Records.UpdateRun(ctx, req.Run.Tenant, req.Run.RunID, func(r *runs.Run) bool {
		before = r.Exposure
		return r.RecordStep(rep, runs.PhaseOrder)
	})
	switch {
	case access.ErrorKind(err) == access.ENOTFOUND:
		// A run without a record (started before runs had them): it runs
		// on, only its progress is not kept.
		s.log().WarnContext(ctx, "the run has no record: its progress is not kept", "runId", req.Run.RunID, "tenant", req.Run.Tenant)
		return nil
	case err != nil:
		return &TransientError{Message: "record the run's progress: " + err.Error(), cause: err}
	}
	s.metrics().exposure(run, before, rep.At)
	return nil
}

// reportStart says that a phase has begun: before the first Task of a
// phase, so that a long step (dropping 10,000 users) shows as the run's
// current step while it works.
func (s *Steps) reportStart(ctx context.Context, req Request, step workflow.Step) error {
	if firstOfPhase(step) {
		return s.report(ctx, req, step, runs.StepReport{Seq: seqOf(step, 0), Outcome: runs.OutcomeRunning, Summary: startSummary[step.Phase.Name]})
	}
	return nil
}

func firstOfPhase(step workflow.Step) bool {
	for _, s := range workflow.Steps {
		if s.Phase == step.Phase {
			return s.Name == step.Name
		}
	}
	return false
}

var startSummary = map[string]string{
	"refreshSandbox": "Asking production for a copy of the sandbox",
	"dropUsers":      "Freezing and deactivating the sandbox's users",
	"masking":        "Starting the DCS masking job",
	"recreateUsers":  "Recreating the non-production users",
}

// seqOf is the sequence number of a step's report after polls polls.
func seqOf(step workflow.Step, polls int) int {
	for i, s := range workflow.Steps {
		if s.Name == step.Name {
			return i*seqStride + polls + 1
		}
	}
	return 0
}

// reportResult says what a step's result or error means for its phase.
func (s *Steps) reportResult(ctx context.Context, req Request, step workflow.Step, result any, stepErr error) error {
	rep := runs.StepReport{Seq: seqOf(step, 0), Outcome: runs.OutcomeRunning}
	var transient *TransientError
	switch {
	case errors.As(stepErr, &transient):
		rep.Retrying = transient.Message // Step Functions retries it: the phase goes on
	case stepErr != nil:
		rep.Outcome = runs.OutcomeFailed
		rep.Failure = &runs.Failure{Step: step.Phase.Name, Code: errorCode(stepErr), Message: stepErr.Error()}
		rep.Summary = "Failed: " + stepErr.Error()
	default:
		r, ok := result.(reporter)
		if !ok {
			return nil
		}
		r.describe(&rep, s.Now().UTC())
		rep.Seq = seqOf(step, rep.Seq)
		var detail any = result
		if d, ok := result.(detailer); ok {
			detail = d.detail()
		}
		if data, err := json.Marshal(detail); err == nil {
			_ = json.Unmarshal(data, &rep.Detail)
		}
	}
	return s.report(ctx, req, step, rep)
}

// errorCode is a step error's code: its type's name in upper snake case
// (MaskingFailed: MASKING_FAILED), as runs.ExecutionFailure names the
// errors Step Functions reports.
func errorCode(err error) string {
	name := fmt.Sprintf("%T", err)
	name = name[strings.LastIndex(name, ".")+1:]
	return runs.ExecutionFailure(runs.StatusFailed, name, "").Code
}

// detailer is a step result that the run's record keeps in another form
// (smaller) than the run's state.
type detailer interface{ detail() any }

// reporter is a step result that says what it means for its phase: the
// outcome, a summary a person reads, the exposure times it saw, and in
// rep.Seq how many polls it has made.
type reporter interface {
	describe(rep *runs.StepReport, now time.Time)
}

func (r *Refresh) describe(rep *runs.StepReport, _ time.Time) {
	rep.Seq = r.Polls
	switch {
	case r.Done:
		rep.Outcome = runs.OutcomeSucceeded
		by := "Salesforce"
		if r.ActivationRequestedAt != nil {
			by = "the pipeline"
		}
		rep.Summary = fmt.Sprintf("Copy completed (100 %%), activated by %s", by)
		rep.Exposure.ActivatedAt = r.ActivatedAt
	case r.ProcessID == "" && r.Status == "":
		rep.Summary = "Checked that Salesforce will refresh the sandbox now"
	case r.ProcessID == "":
		rep.Summary = "Copy requested"
	case r.ActivationRequestedAt != nil:
		rep.Summary = fmt.Sprintf("Copy completed (100 %%); the pipeline is activating it (%s)", r.Status)
	default:
		rep.Summary = fmt.Sprintf("Copy %s (%d %%)", strings.ToLower(r.Status), r.CopyProgress)
	}
}

func (d *Dropped) describe(rep *runs.StepReport, now time.Time) {
	rep.Outcome = runs.OutcomeSucceeded
	rep.Summary = fmt.Sprintf("%s users frozen and deactivated, %s kept", thousands(d.Deactivated), thousands(d.Kept))
	if d.Refused > 0 {
		rep.Summary += fmt.Sprintf(", %s frozen but refused deactivation", thousands(d.Refused))
		if len(d.DeactivateErrors) > 0 {
			rep.Summary += ": " + d.DeactivateErrors[0]
		}
	}
	frozen := now
	if !d.FrozenAt.IsZero() {
		frozen = d.FrozenAt
	}
	rep.Exposure.UsersFrozenAt = &frozen
}

func (m *Masking) describe(rep *runs.StepReport, now time.Time) {
	rep.Seq = m.Polls
	if m.Done {
		rep.Outcome = runs.OutcomeSucceeded
		rep.Summary = fmt.Sprintf("Masking succeeded (DCS execution %s)", m.ExecutionID)
		rep.Exposure.MaskedAt = &now
		return
	}
	switch {
	case m.ExecutionID == "" && m.Replaced != "":
		rep.Summary = fmt.Sprintf("DCS masking execution %s failed; the redrive starts a new one", m.Replaced)
	case m.ExecutionID == "":
		rep.Summary = "Noted the DCS job's executions from before the run's start"
	default:
		rep.Summary = fmt.Sprintf("DCS masking execution %s %s", m.ExecutionID, strings.ToLower(m.Status))
	}
}

func (r *Recreated) describe(rep *runs.StepReport, now time.Time) {
	rep.Outcome = runs.OutcomeSucceeded
	rep.Summary = fmt.Sprintf("%s non-production users created, %s reactivated", thousands(r.Created), thousands(r.Reactivated))
	rep.Exposure.UsersRecreatedAt = &now
}

// thousands writes n with thousands separators: 1,204.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
