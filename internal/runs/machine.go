package runs

import (
	"context"
	"errors"
	"time"
)

// Execution statuses, as Step Functions reports them.
const (
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// Errors a Machine reports in terms the service understands.
var (
	ErrExecutionExists   = errors.New("an execution with this name exists")
	ErrExecutionNotFound = errors.New("no such execution")
	ErrNotRedrivable     = errors.New("execution cannot be redriven")
)

// Execution is what DescribeExecution says.
type Execution struct {
	Status       string
	StartedAt    time.Time
	StoppedAt    *time.Time
	Error, Cause string
	RedriveCount int
}

// Machine is the sandbox-refresh state machine (Step Functions).
type Machine interface {
	ExecutionARN(name string) string
	Start(ctx context.Context, name, input string) error // ErrExecutionExists when the name is taken by another input or a closed execution
	Describe(ctx context.Context, executionARN string) (Execution, error)
	Redrive(ctx context.Context, executionARN string) error
}
