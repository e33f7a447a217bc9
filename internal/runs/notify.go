package runs

import (
	"context"
	"encoding/json"

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
	Error      string `json:"error,omitempty"`
	Cause      string `json:"cause,omitempty"`
}

// Notify publishes the outcome of a finished execution, so that teams can
// notify themselves. It covers every way a run ends, including a timeout or
// an abort that no Catch sees. Executions still running are ignored.
func (s *Service) Notify(ctx context.Context, change StatusChange) error {
	var in Input
	if err := json.Unmarshal([]byte(change.Input), &in); err != nil || in.RunID == "" {
		return access.Errorf(access.EINVALID, "NOT_A_RUN", "status change of %s: the input is not a run's", change.ExecutionARN)
	}
	who := Succeeded{RunID: in.RunID, Tenant: in.Tenant, Sandbox: in.Sandbox}
	switch change.Status {
	case StatusSucceeded:
		return s.Publisher.Publish(ctx, DetailSucceeded, who)
	case StatusFailed, StatusTimedOut, StatusAborted:
		failed := Failed{Succeeded: who, Status: change.Status, Error: change.Error, Cause: change.Cause}
		if steps, err := s.Machine.Steps(ctx, change.ExecutionARN); err == nil {
			ex := Execution{Status: change.Status, Error: change.Error, Cause: change.Cause}
			for _, step := range statusOf(Run{}, ex, steps).Steps {
				if step.Outcome == OutcomeFailed {
					failed.FailedStep = step.Name
				}
			}
		}
		return s.Publisher.Publish(ctx, DetailFailed, failed)
	}
	return nil
}
