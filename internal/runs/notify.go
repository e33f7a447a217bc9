package runs

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode"

	"github.com/dcs-access/dcs-access/internal/access"
)

// Event detail types on the stack's bus: the request that starts a run, and
// what the pipeline publishes.
const (
	DetailRequested = "Sandbox Refresh Requested"
	DetailSucceeded = "Sandbox Refresh Succeeded"
	DetailFailed    = "Sandbox Refresh Failed"
	DetailSkipped   = "Sandbox Refresh Skipped"
)

// Skipped is the detail of a "Sandbox Refresh Skipped" event: a requested
// (or scheduled) refresh that did not start, and why.
type Skipped struct {
	Tenant  string `json:"tenant"`
	Sandbox string `json:"sandbox"`
	EventID string `json:"eventId"`
	Code    string `json:"code"` // RUN_IN_PROGRESS, PLAN_NOT_FOUND…
	Reason  string `json:"reason"`
}

// Publisher puts events on the stack's event bus.
type Publisher interface {
	Publish(ctx context.Context, detailType string, detail any) error
}

// StatusChange is the detail of Step Functions' "Step Functions Execution
// Status Change" event.
type StatusChange struct {
	ExecutionARN    string `json:"executionArn"`
	StateMachineARN string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	Input           string `json:"input"`
	Error           string `json:"error"`
	Cause           string `json:"cause"`
	RedriveCount    int    `json:"redriveCount"`
	StopDate        int64  `json:"stopDate"` // milliseconds since the epoch
}

// Succeeded is the detail of a "Sandbox Refresh Succeeded" event.
type Succeeded struct {
	RunID   string `json:"runId"`
	Tenant  string `json:"tenant"`
	Sandbox string `json:"sandbox"`
}

// Failed is the detail of a "Sandbox Refresh Failed" event.
type Failed struct {
	Succeeded
	Status     string `json:"status"` // FAILED, TIMED_OUT or ABORTED
	FailedStep string `json:"failedStep,omitempty"`
	Error      string `json:"error,omitempty"` // the failure's code, e.g. MASKING_FAILED
	Cause      string `json:"cause,omitempty"` // its message
}

// Notify records how an execution ended on its run's record, and publishes
// the outcome, so that teams can notify themselves. It covers every way a
// run ends, including a timeout or an abort that no Catch sees. Executions
// still running are ignored; a replayed change records nothing again, and a
// change of an attempt that a redrive has since followed announces nothing.
func (s *Service) Notify(ctx context.Context, change StatusChange) error {
	var in Input
	if err := json.Unmarshal([]byte(change.Input), &in); err != nil || in.RunID == "" {
		return access.Errorf(access.EINVALID, "NOT_A_RUN", "status change of %s: the input is not a run's", change.ExecutionARN)
	}
	switch change.Status {
	case StatusSucceeded, StatusFailed, StatusTimedOut, StatusAborted:
	default:
		return nil
	}
	at := s.Now().UTC()
	if change.StopDate > 0 {
		at = time.UnixMilli(change.StopDate).UTC()
	}
	attempt := change.RedriveCount + 1
	var failure *Failure
	if change.Status != StatusSucceeded {
		failure = ExecutionFailure(change.Status, change.Error, change.Cause)
	}
	stale := false
	run, err := s.Store.UpdateRun(ctx, in.Tenant, in.RunID, func(r *Run) bool {
		stale = r.latest() != nil && r.latest().Number > attempt
		return r.Finish(attempt, change.Status, failure, at)
	})
	switch {
	case access.ErrorKind(err) == access.ENOTFOUND:
		run = Run{ID: in.RunID, Tenant: in.Tenant, Sandbox: in.Sandbox, Failure: failure} // a run without a record: announce all the same
	case err != nil:
		return err
	case stale:
		return nil
	}
	who := Succeeded{RunID: in.RunID, Tenant: in.Tenant, Sandbox: in.Sandbox}
	if change.Status == StatusSucceeded {
		return s.Publisher.Publish(ctx, DetailSucceeded, who)
	}
	failed := Failed{Succeeded: who, Status: change.Status}
	if f := run.Failure; f != nil {
		failed.FailedStep, failed.Error, failed.Cause = f.Step, f.Code, f.Message
	}
	return s.Publisher.Publish(ctx, DetailFailed, failed)
}

// ExecutionFailure is the failure of an execution that ended status with
// Step Functions' error and cause: the error's name as an upper-snake code
// (PermanentError: PERMANENT_ERROR, States.Timeout: STATES_TIMEOUT), and the
// message the step gave (a Lambda error's cause is its JSON payload).
func ExecutionFailure(status, errorName, cause string) *Failure {
	f := &Failure{Code: upperSnake(errorName), Message: cause}
	var payload struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &payload) == nil && payload.ErrorMessage != "" {
		f.Message = payload.ErrorMessage
	}
	switch {
	case status == StatusTimedOut && f.Code == "":
		f.Code, f.Message = "EXECUTION_TIMED_OUT", "The run took longer than the state machine allows; start a new run."
	case status == StatusAborted && f.Code == "":
		f.Code, f.Message = "ABORTED", "The run was stopped."
	case f.Code == "":
		f.Code = "FAILED"
	}
	if f.Message == "" {
		f.Message = "The run failed without saying why."
	}
	return f
}

// upperSnake spells an error name as a code: RefreshFailed is
// REFRESH_FAILED, States.Timeout STATES_TIMEOUT.
func upperSnake(name string) string {
	var b strings.Builder
	for i, c := range name {
		switch {
		case c == '.' || c == '-' || c == ' ':
			b.WriteByte('_')
			continue
		case unicode.IsUpper(c) && i > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}
