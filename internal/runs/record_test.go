package runs_test

import (
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/runs"
)

var r0 = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return r0.Add(time.Duration(minutes) * time.Minute) }

func ptr(t time.Time) *time.Time { return &t }

// report is a step report of attempt in phase at minute m.
func report(attempt int, phase, outcome string, seq, m int) runs.StepReport {
	return runs.StepReport{Attempt: attempt, Phase: phase, Order: runs.PhaseOrder(phase), Seq: seq, At: at(m), Outcome: outcome, Summary: phase + " " + outcome}
}

func newRecord() runs.Run {
	var r runs.Run
	r.Started(r0)
	return r
}

func TestAReportMovesARunOnlyForward(t *testing.T) {
	r := newRecord()
	steps := []struct {
		rep     runs.StepReport
		changed bool
		why     string
	}{
		{report(1, "refreshSandbox", runs.OutcomeRunning, 1, 1), true, "the first report opens the step"},
		{report(1, "refreshSandbox", runs.OutcomeRunning, 3, 2), true, "a later poll updates it"},
		{report(1, "refreshSandbox", runs.OutcomeRunning, 2, 3), false, "an older poll, delivered late, does not"},
		{report(1, "refreshSandbox", runs.OutcomeSucceeded, 4, 4), true, "the step ends"},
		{report(1, "refreshSandbox", runs.OutcomeRunning, 5, 5), false, "a running report after the end does not reopen it"},
		{report(1, "dropUsers", runs.OutcomeRunning, 0, 6), true, "the next phase begins"},
		{report(1, "refreshSandbox", runs.OutcomeSucceeded, 9, 7), false, "a report of an earlier phase, once the next began, is stale"},
		{report(1, "dropUsers", runs.OutcomeSucceeded, 1, 8), true, "the phase ends"},
	}
	for _, s := range steps {
		if got := r.RecordStep(s.rep, runs.PhaseOrder); got != s.changed {
			t.Fatalf("%s: got changed %v, want %v (record %+v)", s.why, got, s.changed, r)
		}
	}
	v := r.View(at(9))
	if len(v.Steps) != 2 || v.Steps[0].Outcome != runs.OutcomeSucceeded || !v.Steps[0].EndedAt.Equal(at(4)) ||
		v.Steps[1].Name != "dropUsers" || v.Steps[1].Outcome != runs.OutcomeSucceeded || v.CurrentStep != "dropUsers" {
		t.Fatalf("got steps %+v, current %q", v.Steps, v.CurrentStep)
	}
}

func TestAFinishedRunTakesNoMoreReportsOfItsAttempt(t *testing.T) {
	r := newRecord()
	r.RecordStep(report(1, "masking", runs.OutcomeRunning, 1, 1), runs.PhaseOrder)
	if !r.Finish(1, runs.StatusTimedOut, runs.ExecutionFailure(runs.StatusTimedOut, "", ""), at(2)) {
		t.Fatal("the finish changed nothing")
	}
	if r.Finish(1, runs.StatusTimedOut, nil, at(3)) {
		t.Fatal("a replayed finish changed the record")
	}
	if r.RecordStep(report(1, "masking", runs.OutcomeSucceeded, 2, 4), runs.PhaseOrder) {
		t.Fatal("a late report of the ended attempt changed the record")
	}
	v := r.View(at(5))
	if v.Status != runs.StatusTimedOut || v.FailedStep != "masking" || v.Error.Code != "EXECUTION_TIMED_OUT" || !v.StoppedAt.Equal(at(2)) {
		t.Fatalf("got %+v, error %+v", v, v.Error)
	}
	if s := v.Steps[0]; s.Outcome != runs.OutcomeFailed || !s.EndedAt.Equal(at(2)) || s.Failure == nil {
		t.Fatalf("got the step %+v, want it failed at the finish", s)
	}
}

func TestAStepsOwnFailureIsTheRunsFailure(t *testing.T) {
	r := newRecord()
	rep := report(1, "masking", runs.OutcomeFailed, 2, 3)
	rep.Failure = &runs.Failure{Step: "masking", Code: "MASKING_FAILED", Message: "DCS execution 7 ended FAILED"}
	r.RecordStep(rep, runs.PhaseOrder)
	r.Finish(1, runs.StatusFailed, runs.ExecutionFailure(runs.StatusFailed, "MaskingFailed", `{"errorMessage":"less precise"}`), at(4))
	if v := r.View(at(5)); v.Error == nil || v.Error.Message != "DCS execution 7 ended FAILED" || v.FailedStep != "masking" {
		t.Fatalf("got %+v, want the step's own failure", v.Error)
	}
}

func TestARedriveIsASecondAttempt(t *testing.T) {
	r := newRecord()
	r.RecordStep(report(1, "refreshSandbox", runs.OutcomeSucceeded, 4, 1), runs.PhaseOrder)
	r.RecordStep(report(1, "masking", runs.OutcomeRunning, 1, 2), runs.PhaseOrder)
	// The redrive's first step reports before attempt 1's failure arrives.
	if !r.RecordStep(report(2, "masking", runs.OutcomeRunning, 1, 10), runs.PhaseOrder) {
		t.Fatal("the second attempt's first report changed nothing")
	}
	if !r.Finish(1, runs.StatusFailed, runs.ExecutionFailure(runs.StatusFailed, "PermanentError", `{"errorMessage":"start the DCS compliance job: 401"}`), at(3)) {
		t.Fatal("attempt 1's failure, arriving late, was not recorded")
	}
	if r.Redriven(2, at(11)) {
		t.Fatal("a redrive the steps already opened opened it again")
	}
	r.RecordStep(report(2, "masking", runs.OutcomeSucceeded, 2, 12), runs.PhaseOrder)
	r.RecordStep(report(2, "recreateUsers", runs.OutcomeSucceeded, 1, 13), runs.PhaseOrder)
	r.Finish(2, runs.StatusSucceeded, nil, at(14))
	v := r.View(at(15))
	if v.Status != runs.StatusSucceeded || v.RedriveCount != 1 || v.Error != nil || len(v.Attempts) != 2 {
		t.Fatalf("got %+v", v)
	}
	a1 := v.Attempts[0]
	if a1.Status != runs.StatusFailed || a1.Failure == nil || a1.Failure.Step != "masking" || a1.Failure.Code != "PERMANENT_ERROR" {
		t.Fatalf("got attempt 1 %+v, want it failed in masking, saying why", a1)
	}
	var got []string
	for _, s := range v.Steps {
		got = append(got, s.Name+"@"+string(rune('0'+s.Attempt))+"="+s.Outcome)
	}
	want := "[refreshSandbox@1=SUCCEEDED masking@1=FAILED masking@2=SUCCEEDED recreateUsers@2=SUCCEEDED]"
	if g := "[" + join(got) + "]"; g != want {
		t.Fatalf("got the timeline %s, want %s", g, want)
	}
	if r.RecordStep(report(1, "recreateUsers", runs.OutcomeSucceeded, 5, 16), runs.PhaseOrder) {
		t.Fatal("a stale invocation of attempt 1 changed the record")
	}
}

func join(list []string) string {
	out := ""
	for i, s := range list {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

func TestTheExposureClock(t *testing.T) {
	r := newRecord()
	if v := r.View(at(60)); v.Exposure.UnmaskedSeconds != nil || v.Exposure.OpenToUsersSeconds != nil {
		t.Fatalf("before activation: got %+v, want no figures", v.Exposure)
	}
	rep := report(1, "refreshSandbox", runs.OutcomeSucceeded, 4, 10)
	rep.Exposure.ActivatedAt = ptr(at(9))
	r.RecordStep(rep, runs.PhaseOrder)
	rep = report(1, "dropUsers", runs.OutcomeSucceeded, 1, 12)
	rep.Exposure.UsersFrozenAt = ptr(at(11))
	r.RecordStep(rep, runs.PhaseOrder)
	// A second drop (a retry) keeps the first time.
	rep.Exposure.UsersFrozenAt, rep.Seq = ptr(at(20)), 2
	r.RecordStep(rep, runs.PhaseOrder)
	v := r.View(at(70))
	if *v.Exposure.OpenToUsersSeconds != 120 || *v.Exposure.UnmaskedSeconds != 61*60 {
		t.Fatalf("while masking runs: got %+v, want 120 s open to users and unmasked since activation", v.Exposure)
	}
	rep = report(1, "masking", runs.OutcomeSucceeded, 2, 40)
	rep.Exposure.MaskedAt = ptr(at(39))
	r.RecordStep(rep, runs.PhaseOrder)
	if v := r.View(at(90)); *v.Exposure.UnmaskedSeconds != 30*60 {
		t.Fatalf("after masking: got %+v, want 30 minutes unmasked", v.Exposure)
	}
}

func TestExecutionFailures(t *testing.T) {
	for _, c := range []struct{ status, name, cause, code, message string }{
		{runs.StatusFailed, "RefreshFailed", `{"errorType":"RefreshFailed","errorMessage":"the copy of sandbox uat1 ended Stopped"}`, "REFRESH_FAILED", "the copy of sandbox uat1 ended Stopped"},
		{runs.StatusFailed, "States.Timeout", "", "STATES_TIMEOUT", "The run failed without saying why."},
		{runs.StatusFailed, "Lambda.ServiceException", "Rate exceeded", "LAMBDA_SERVICE_EXCEPTION", "Rate exceeded"},
		{runs.StatusTimedOut, "", "", "EXECUTION_TIMED_OUT", "The run took longer than the state machine allows; start a new run."},
		{runs.StatusAborted, "", "", "ABORTED", "The run was stopped."},
	} {
		f := runs.ExecutionFailure(c.status, c.name, c.cause)
		if f.Code != c.code || f.Message != c.message {
			t.Errorf("%s %s: got %+v, want %s %q", c.status, c.name, f, c.code, c.message)
		}
	}
}
