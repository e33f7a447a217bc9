// Package stepfunctions runs the sandbox-refresh state machine on AWS Step
// Functions (or the local stand-in that speaks the same API).
package stepfunctions

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// API is the part of the Step Functions API the machine uses.
type API interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	RedriveExecution(ctx context.Context, in *sfn.RedriveExecutionInput, opts ...func(*sfn.Options)) (*sfn.RedriveExecutionOutput, error)
}

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
	_, err := m.api.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: &m.stateMachineARN, Name: &name, Input: &input,
	})
	return translate(err)
}

// Describe reports the execution's status.
func (m *Machine) Describe(ctx context.Context, executionARN string) (runs.Execution, error) {
	out, err := m.api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &executionARN})
	if err != nil {
		return runs.Execution{}, translate(err)
	}
	return runs.Execution{
		Status: string(out.Status), StartedAt: aws.ToTime(out.StartDate), StoppedAt: out.StopDate,
		Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause), RedriveCount: int(aws.ToInt32(out.RedriveCount)),
	}, nil
}

// Redrive resumes a failed execution from its failed state.
func (m *Machine) Redrive(ctx context.Context, executionARN string) error {
	_, err := m.api.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: &executionARN})
	return translate(err)
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
