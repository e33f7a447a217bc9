package runs

import (
	"slices"
	"time"
)

// A run's record is kept current by the pipeline's steps (RecordStep) and
// by Step Functions' status changes (Finish): the API reads a run from its
// record alone, so that a run shows its real status and timeline after
// Step Functions has forgotten its execution (90 days), or after the local
// stand-in restarted. Each change is a pure function of the record, applied
// by Store.UpdateRun under optimistic concurrency, and none moves a run
// backwards: a replayed event, a retried step or a late, stale invocation
// leaves the record as it is.

// Attempt is one go of a run: its start, and each redrive.
type Attempt struct {
	Number    int        `json:"number"` // 1 for the start, then RedriveCount+1
	StartedAt time.Time  `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	Status    string     `json:"status"` // RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED
	Failure   *Failure   `json:"failure,omitempty"`
}

// Failure is why an attempt, and its run, failed: the step, a stable code
// and a message a person can act on.
type Failure struct {
	Step    string `json:"step,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Step is one of the four steps of a run (workflow.Phases) in one attempt,
// as a person follows it: a redriven run shows the step that failed in
// attempt 1 and the same step again in attempt 2.
type Step struct {
	Name      string         `json:"name"`
	Attempt   int            `json:"attempt"`
	StartedAt time.Time      `json:"startedAt"`
	EndedAt   *time.Time     `json:"endedAt,omitempty"`
	Outcome   string         `json:"outcome"` // OutcomeRunning, OutcomeSucceeded or OutcomeFailed
	Summary   string         `json:"summary,omitempty"`
	Detail    map[string]any `json:"detail,omitempty"`
	Failure   *Failure       `json:"failure,omitempty"`
	// Retrying is the last fault of an invocation that Step Functions
	// retries: the step is still running.
	Retrying string `json:"retrying,omitempty"`
	// Seq orders the writes of one step (its Tasks, and their polls): a
	// write older than the one recorded is dropped.
	Seq int `json:"seq"`
}

// A step's outcomes.
const (
	OutcomeRunning   = "RUNNING"
	OutcomeSucceeded = "SUCCEEDED"
	OutcomeFailed    = "FAILED"
)

// Exposure is when the sandbox's copy of production became reachable, and
// when its users were shut out, its data masked and its people let back in:
// the clock the pipeline exists to keep short.
type Exposure struct {
	// ActivatedAt is when the copy replaced the sandbox: its unmasked data
	// is reachable from then.
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
	// UsersFrozenAt is when the last user who is not kept was frozen.
	UsersFrozenAt *time.Time `json:"usersFrozenAt,omitempty"`
	// MaskedAt is when the masking job was seen to have succeeded.
	MaskedAt *time.Time `json:"maskedAt,omitempty"`
	// UsersRecreatedAt is when the non-production users were let back in.
	UsersRecreatedAt *time.Time `json:"usersRecreatedAt,omitempty"`
}

// OpenToUsers is how long the copy was open to the users who are dropped:
// from activation until the last of them was frozen (false until both).
func (e Exposure) OpenToUsers() (time.Duration, bool) {
	if e.ActivatedAt == nil || e.UsersFrozenAt == nil {
		return 0, false
	}
	return max(0, e.UsersFrozenAt.Sub(*e.ActivatedAt)), true
}

// Unmasked is how long the copy has held unmasked data: from activation
// until masking succeeded, or until now while it has not (false before
// activation).
func (e Exposure) Unmasked(now time.Time) (time.Duration, bool) {
	if e.ActivatedAt == nil {
		return 0, false
	}
	end := now
	if e.MaskedAt != nil {
		end = *e.MaskedAt
	}
	return max(0, end.Sub(*e.ActivatedAt)), true
}

// StepReport is what a pipeline step says of its phase: written to the
// run's record by RecordStep.
type StepReport struct {
	Attempt int       // the execution's RedriveCount + 1
	Phase   string    // a workflow phase name
	Order   int       // the phase's place in workflow.Phases
	Seq     int       // orders the reports of one phase in one attempt
	At      time.Time // when the report was made
	Outcome string    // OutcomeRunning, or how the phase ended
	Summary string
	Detail  map[string]any
	// Failure, with OutcomeFailed: why the phase failed.
	Failure *Failure
	// Retrying, with OutcomeRunning: a fault Step Functions retries.
	Retrying string
	// Exposure's times, each recorded once: the first report that has one sets it.
	Exposure Exposure
}

// latest returns the run's newest attempt, or nil before any.
func (r *Run) latest() *Attempt {
	if len(r.Attempts) == 0 {
		return nil
	}
	return &r.Attempts[len(r.Attempts)-1]
}

func (r *Run) attempt(n int) *Attempt {
	for i := range r.Attempts {
		if r.Attempts[i].Number == n {
			return &r.Attempts[i]
		}
	}
	return nil
}

// begin opens attempt n (a redrive, seen first by the step or by the
// redrive itself) and makes the run RUNNING again. Only a failed execution
// is redriven: an attempt still running on the record failed, and the
// status change that says why may come later (Finish fills it in).
func (r *Run) begin(n int, at time.Time) {
	if last := r.latest(); last != nil && last.Status == StatusRunning {
		end := at
		last.Status, last.EndedAt = StatusFailed, &end
		for i := range r.Steps {
			if s := &r.Steps[i]; s.Attempt == last.Number && s.Outcome == OutcomeRunning {
				s.Outcome, s.EndedAt, s.Retrying = OutcomeFailed, &end, ""
			}
		}
	}
	r.Attempts = append(r.Attempts, Attempt{Number: n, StartedAt: at, Status: StatusRunning})
	r.Status, r.StoppedAt, r.Failure, r.CurrentStep = StatusRunning, nil, nil, ""
}

func (r *Run) step(attempt int, phase string) *Step {
	for i := range r.Steps {
		if r.Steps[i].Attempt == attempt && r.Steps[i].Name == phase {
			return &r.Steps[i]
		}
	}
	return nil
}

// Started opens the run's first attempt: the record as Start writes it.
func (r *Run) Started(at time.Time) {
	r.Attempts, r.Steps = nil, nil
	r.begin(1, at)
}

// RecordStep applies a step's report and says whether it changed the
// record. A report of an older attempt, of a run that has ended, of a phase
// before the one in progress, or older than the one recorded changes
// nothing.
func (r *Run) RecordStep(rep StepReport, order func(phase string) int) bool {
	last := r.latest()
	switch {
	case last == nil || rep.Attempt > last.Number:
		r.begin(rep.Attempt, rep.At) // a redrive: its first step reports first
	case rep.Attempt < last.Number || r.Status != StatusRunning:
		return false
	}
	for _, s := range r.Steps {
		if s.Attempt == rep.Attempt && order(s.Name) > rep.Order {
			return false // a later phase has begun: this report is stale
		}
	}
	s := r.step(rep.Attempt, rep.Phase)
	switch {
	case s == nil:
		r.Steps = append(r.Steps, Step{Name: rep.Phase, Attempt: rep.Attempt, StartedAt: rep.At})
		s = &r.Steps[len(r.Steps)-1]
	case s.Seq > rep.Seq || (s.Outcome != OutcomeRunning && rep.Outcome == OutcomeRunning):
		return false
	}
	s.Seq, s.Outcome, s.Summary, s.Retrying = rep.Seq, rep.Outcome, rep.Summary, rep.Retrying
	if rep.Detail != nil {
		s.Detail = rep.Detail
	}
	if rep.Outcome != OutcomeRunning {
		at := rep.At
		s.EndedAt, s.Failure = &at, rep.Failure
	}
	r.CurrentStep = rep.Phase
	r.Exposure.merge(rep.Exposure)
	return true
}

// merge sets the times of e that are unset, from o.
func (e *Exposure) merge(o Exposure) {
	for _, f := range []struct{ have, got **time.Time }{
		{&e.ActivatedAt, &o.ActivatedAt}, {&e.UsersFrozenAt, &o.UsersFrozenAt},
		{&e.MaskedAt, &o.MaskedAt}, {&e.UsersRecreatedAt, &o.UsersRecreatedAt},
	} {
		if *f.have == nil && *f.got != nil {
			t := (*f.got).UTC()
			*f.have = &t
		}
	}
}

// Finish records how attempt n of the run's execution ended (Step
// Functions' status change), and says whether it changed the record. The
// step in progress ends as the attempt did; a failure that no step
// reported (a timeout, an abort) is put on it. A replayed change changes
// nothing; the change of an attempt that a redrive has since followed only
// says why that attempt failed.
func (r *Run) Finish(n int, status string, failure *Failure, at time.Time) bool {
	a := r.attempt(n)
	if a == nil {
		if last := r.latest(); last != nil && last.Number > n {
			return false // an attempt the record never saw, long replaced
		}
		r.begin(n, at)
		a = r.latest()
	}
	current := a == r.latest()
	switch {
	case a.Status == StatusRunning:
	case !current && a.Failure == nil && status != StatusSucceeded:
		// Closed by the redrive that followed it, before this said why.
	default:
		return false
	}
	end := at
	if a.EndedAt == nil {
		a.EndedAt = &end
	}
	a.Status = status
	var last *Step // the attempt's step in progress, or the one it stopped in
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Attempt != n {
			continue
		}
		if s.Outcome == OutcomeFailed && s.Failure != nil && status != StatusSucceeded {
			failure = s.Failure // a step that reported its own failure knows best why
		}
		if s.Outcome == OutcomeRunning || (s.Outcome == OutcomeFailed && s.Failure == nil) {
			last = s
		}
	}
	if last != nil {
		if last.EndedAt == nil || last.Outcome == OutcomeRunning {
			last.EndedAt = &end
		}
		last.Outcome, last.Retrying = OutcomeSucceeded, ""
		if status != StatusSucceeded {
			last.Outcome = OutcomeFailed
			if failure != nil && failure.Step == "" {
				f := *failure
				f.Step = last.Name
				failure = &f
			}
			last.Failure = failure
		}
	}
	if status != StatusSucceeded {
		a.Failure = failure
	}
	if current {
		r.Status, r.StoppedAt, r.Failure, r.CurrentStep = status, &end, a.Failure, ""
	}
	return true
}

// Redriven opens attempt n when the run's redrive was accepted. The first
// step of that attempt would open it too; whichever comes first does.
func (r *Run) Redriven(n int, at time.Time) bool {
	if last := r.latest(); last != nil && last.Number >= n {
		return false
	}
	r.begin(n, at)
	return true
}

// Ended reports whether the run has ended (and holds its sandbox no more).
func (r *Run) Ended() bool {
	return r.Status != "" && r.Status != StatusRunning
}

// Ordered returns the steps in the order a person reads them: by attempt,
// then by phase.
func (r *Run) Ordered(order func(phase string) int) []Step {
	steps := slices.Clone(r.Steps)
	slices.SortStableFunc(steps, func(a, b Step) int {
		if a.Attempt != b.Attempt {
			return a.Attempt - b.Attempt
		}
		return order(a.Name) - order(b.Name)
	})
	return steps
}
