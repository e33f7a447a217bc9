// Package stepfunctions runs the sandbox-refresh state machine on AWS Step
// Functions (or the local stand-in that speaks the same API).
package stepfunctions

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	smithyrand "github.com/aws/smithy-go/rand"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// Service is Step Functions, which this package calls through awsjson
// (StartExecution, DescribeExecution and RedriveExecution) rather than the SDK's client: that client cost each
// function that runs executions 0.39 MB (docs/performance.md).
// internal/templatecheck reads it to know what a function calls.
var Service = awsjson.Service{ID: "SFN", EndpointPrefix: "states", SigningName: "states", TargetPrefix: "AWSStepFunctions", Protocol: awsjson.JSON10}

// API is how the machine calls Step Functions: an *awsjson.Client of
// Service, or a test's fake.
type API interface {
	Call(ctx context.Context, operation string, in, out any) error
}

// The members of the Step Functions shapes that are sent and read, by their
// wire names.
type (
	startExecutionInput struct {
		StateMachineARN string `json:"stateMachineArn"`
		Name            string `json:"name"`
		Input           string `json:"input"`
	}
	executionInput struct {
		ExecutionARN string `json:"executionArn"`
	}
	describeExecutionOutput struct {
		Status       string        `json:"status"`
		StartDate    awsjson.Time  `json:"startDate"`
		StopDate     *awsjson.Time `json:"stopDate"`
		Error        string        `json:"error"`
		Cause        string        `json:"cause"`
		RedriveCount int           `json:"redriveCount"`
	}
	redriveExecutionInput struct {
		ExecutionARN string `json:"executionArn"`
		// ClientToken makes the redrive idempotent across the attempts of
		// one call, as the SDK's client fills it.
		ClientToken string `json:"clientToken"`
	}
)

// Machine is one state machine.
type Machine struct {
	api             API
	stateMachineARN string
}

var _ runs.Machine = (*Machine)(nil)

// New returns the machine stateMachineARN.
func New(api API, stateMachineARN string) *Machine {
	return &Machine{api: api, stateMachineARN: stateMachineARN}
}

// ExecutionARN derives an execution's ARN from its name, as Step Functions does:
// arn:aws:states:<region>:<account>:execution:<state machine name>:<name>.
func (m *Machine) ExecutionARN(name string) string {
	return strings.Replace(m.stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// Start starts the execution name. Starting it again with the same input
// while it runs succeeds (Step Functions is idempotent there).
func (m *Machine) Start(ctx context.Context, name, input string) error {
	in := startExecutionInput{StateMachineARN: m.stateMachineARN, Name: name, Input: input}
	return translate(m.api.Call(ctx, "StartExecution", in, nil))
}

// Describe reports the execution's status.
func (m *Machine) Describe(ctx context.Context, executionARN string) (runs.Execution, error) {
	var out describeExecutionOutput
	if err := m.api.Call(ctx, "DescribeExecution", executionInput{ExecutionARN: executionARN}, &out); err != nil {
		return runs.Execution{}, translate(err)
	}
	var stoppedAt *time.Time
	if out.StopDate != nil {
		stoppedAt = &out.StopDate.Time
	}
	return runs.Execution{
		Status: out.Status, StartedAt: out.StartDate.Time, StoppedAt: stoppedAt,
		Error: out.Error, Cause: out.Cause, RedriveCount: out.RedriveCount,
	}, nil
}

// Redrive resumes a failed execution from its failed state.
func (m *Machine) Redrive(ctx context.Context, executionARN string) error {
	token, err := smithyrand.NewUUIDIdempotencyToken(rand.Reader).GetIdempotencyToken()
	if err != nil {
		return access.Internal(err)
	}
	return translate(m.api.Call(ctx, "RedriveExecution", redriveExecutionInput{ExecutionARN: executionARN, ClientToken: token}, nil))
}

// translate maps Step Functions errors to the runs package's, and throttling
// to a retryable 503.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ExecutionAlreadyExists":
			return runs.ErrExecutionExists
		case "ExecutionDoesNotExist":
			return runs.ErrExecutionNotFound
		case "ExecutionNotRedrivable":
			return runs.ErrNotRedrivable
		case "ThrottlingException", "ServiceUnavailable", "InternalServerError":
			return access.Unavailable(err)
		}
	}
	return access.Internal(err)
}
