package runs

import (
	"time"

	"github.com/dcs-access/dcs-access/internal/workflow"
)

// View is a run as the API shows it: its record, with the steps in the
// order a person reads them, and the exposure figures worked out.
type View struct {
	ID           string     `json:"id"`
	Sandbox      string     `json:"sandbox"`
	RequestedAt  time.Time  `json:"requestedAt"`
	RequestedBy  string     `json:"requestedBy"`
	Source       string     `json:"source"`
	Status       string     `json:"status"`
	CurrentStep  string     `json:"currentStep,omitempty"`
	StartedAt    time.Time  `json:"startedAt"`
	StoppedAt    *time.Time `json:"stoppedAt,omitempty"`
	RedriveCount int        `json:"redriveCount"`
	// FailedStep and Error say why a run that failed did: the step, a
	// stable code, and a message a person can act on.
	FailedStep string       `json:"failedStep,omitempty"`
	Error      *ErrorView   `json:"error,omitempty"`
	Attempts   []Attempt    `json:"attempts"`
	Steps      []Step       `json:"steps"`
	Exposure   ExposureView `json:"exposure"`
}

// ErrorView is a failure's code and message.
type ErrorView struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ExposureView is the run's exposure clock: its times, and the two figures
// the pipeline exists to keep small.
type ExposureView struct {
	Exposure
	// OpenToUsersSeconds is from activation until the last user who is not
	// kept was frozen.
	OpenToUsersSeconds *int `json:"openToUsersSeconds,omitempty"`
	// UnmaskedSeconds is from activation until masking succeeded, or until
	// now while it has not.
	UnmaskedSeconds *int `json:"unmaskedSeconds,omitempty"`
}

// Figures works out the exposure figures at now.
func (e Exposure) Figures(now time.Time) ExposureView {
	v := ExposureView{Exposure: e}
	if d, ok := e.OpenToUsers(); ok {
		n := int(d.Seconds())
		v.OpenToUsersSeconds = &n
	}
	if d, ok := e.Unmasked(now); ok {
		n := int(d.Seconds())
		v.UnmaskedSeconds = &n
	}
	return v
}

// PhaseOrder is a phase's place among workflow.Phases (-1 for none).
func PhaseOrder(phase string) int {
	for i, p := range workflow.Phases {
		if p.Name == phase {
			return i
		}
	}
	return -1
}

// View is the run as the API shows it at now.
func (r Run) View(now time.Time) View {
	v := View{
		ID: r.ID, Sandbox: r.Sandbox, RequestedAt: r.RequestedAt.UTC(), RequestedBy: r.RequestedBy, Source: r.Source,
		Status: r.Status, CurrentStep: r.CurrentStep, StartedAt: r.RequestedAt.UTC(), StoppedAt: r.StoppedAt,
		Attempts: r.Attempts, Steps: r.Ordered(PhaseOrder), Exposure: r.Exposure.Figures(now),
	}
	if len(r.Attempts) > 0 {
		v.StartedAt, v.RedriveCount = r.Attempts[0].StartedAt, r.latest().Number-1
	}
	if v.Attempts == nil {
		v.Attempts = []Attempt{}
	}
	if v.Steps == nil {
		v.Steps = []Step{}
	}
	if r.Failure != nil {
		v.FailedStep, v.Error = r.Failure.Step, &ErrorView{Code: r.Failure.Code, Message: r.Failure.Message}
	}
	return v
}
