package dcs

import "fmt"

// Status is the state of a masking-job execution as DCS reports it.
type Status string

// Statuses of an execution. QUEUED, RUNNING and WAITING are in progress;
// the other three are final.
const (
	StatusQueued    Status = "QUEUED"
	StatusRunning   Status = "RUNNING"
	StatusWaiting   Status = "WAITING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusCancelled Status = "CANCELLED"
)

// ParseStatus returns s as a Status, or an error when DCS sent a status this
// client does not know: guessing whether an unknown status is final could
// let users be recreated over unmasked data.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusQueued, StatusRunning, StatusWaiting, StatusSucceeded, StatusFailed, StatusCancelled:
		return st, nil
	}
	return "", fmt.Errorf("unknown execution status %q", s)
}

// Done reports whether the execution has finished, successfully or not.
func (s Status) Done() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCancelled
}

// Succeeded reports whether the execution finished and masked the data.
// FAILED and CANCELLED are both failures.
func (s Status) Succeeded() bool { return s == StatusSucceeded }

// Execution is one run of a compliance (masking) job.
type Execution struct {
	ID     string
	Status Status
}
