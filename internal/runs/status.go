package runs

import "time"

// Status is a run as the API shows it.
type Status struct {
	Run          `json:"-"`
	Status       string     `json:"status"`
	CurrentStep  string     `json:"currentStep,omitempty"`
	StartedAt    time.Time  `json:"startedAt"`
	StoppedAt    *time.Time `json:"stoppedAt,omitempty"`
	Error        string     `json:"error,omitempty"`
	Cause        string     `json:"cause,omitempty"`
	RedriveCount int        `json:"redriveCount"`
	Steps        []Step     `json:"steps"`
}

// Step is one of the four steps of a refresh (workflow.Phases), as a person
// follows it.
type Step struct {
	Name      string         `json:"name"`
	StartedAt time.Time      `json:"startedAt"`
	EndedAt   *time.Time     `json:"endedAt,omitempty"`
	Outcome   string         `json:"outcome"` // OutcomeRunning, OutcomeSucceeded or OutcomeFailed
	Detail    map[string]any `json:"detail,omitempty"`
	Error     string         `json:"error,omitempty"`
	Cause     string         `json:"cause,omitempty"`
}

// A step's outcomes.
const (
	OutcomeRunning   = "RUNNING"
	OutcomeSucceeded = "SUCCEEDED"
	OutcomeFailed    = "FAILED"
)

// statusOf is the run with its execution's status and its steps. The step
// the execution was in when it stopped (still RUNNING in the history) ends
// as the execution did.
func statusOf(run Run, ex Execution, steps []Step) Status {
	st := Status{Run: run, Status: ex.Status, StartedAt: ex.StartedAt, StoppedAt: ex.StoppedAt,
		Error: ex.Error, Cause: ex.Cause, RedriveCount: ex.RedriveCount, Steps: steps}
	if st.Steps == nil {
		st.Steps = []Step{}
	}
	for i := range st.Steps {
		step := &st.Steps[i]
		if step.Outcome != OutcomeRunning {
			continue
		}
		switch ex.Status {
		case StatusRunning:
			st.CurrentStep = step.Name
		case StatusSucceeded:
			step.Outcome, step.EndedAt = OutcomeSucceeded, ex.StoppedAt
		default: // timed out or aborted inside the step
			step.Outcome, step.EndedAt = OutcomeFailed, ex.StoppedAt
			step.Error, step.Cause = ex.Status, ex.Cause
		}
	}
	return st
}
