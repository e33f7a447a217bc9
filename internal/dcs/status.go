package dcs

import (
	"fmt"
	"time"
)

// Status is the state of a masking-job execution as DCS reports it.
type Status string

// Statuses of an execution. QUEUED, RUNNING and WAITING are in progress;
// the other three are final. DCS does not publish its list: these are the
// statuses of Delphix's Continuous Compliance Engine executions, assumed to
// be DCS's too (docs/pipeline.md, "DCS API"); any other is refused.
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
	// StartedAt is when DCS started it (its startTime), zero when the answer
	// gave none or one that is not RFC 3339.
	StartedAt time.Time
}
