package stepfunctions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/stepfunctions"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

var names atomic.Int64

// motoMachine creates a state machine in moto with the SDK's client (moto
// keeps executions and their input but runs no state: an execution stays
// RUNNING until it is stopped) and returns the SDK's client and the
// machine as a function uses it, through awsjson.
func motoMachine(t *testing.T) (*sfn.Client, *stepfunctions.Machine) {
	t.Helper()
	sdk := sfn.NewFromConfig(awsconfig.Local(testenv.MotoEndpoint(t)))
	out, err := sdk.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name:       aws.String(fmt.Sprintf("stepfunctions-test-%d-%d", time.Now().UnixNano(), names.Add(1))),
		Definition: aws.String(`{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}`),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/stepfunctions-test"),
		Type:       sfntypes.StateMachineTypeStandard,
	})
	if err != nil {
		t.Fatalf("create the state machine in moto: %v", err)
	}
	return sdk, stepfunctions.New(testenv.Moto(t, stepfunctions.Service), aws.ToString(out.StateMachineArn))
}

func TestStartDescribeAndTheirErrorsOnStepFunctions(t *testing.T) {
	sdk, m := motoMachine(t)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	if err := m.Start(ctx, "run-1", `{"runId":"run-1"}`); err != nil {
		t.Fatal(err)
	}
	arn := m.ExecutionARN("run-1")
	in, err := sdk.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &arn})
	if err != nil || aws.ToString(in.Input) != `{"runId":"run-1"}` {
		t.Fatalf("got %v, %v; want the execution started with its name and input", in, err)
	}

	got, err := m.Describe(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "RUNNING" || got.StartedAt.Before(before) || got.StartedAt.After(time.Now()) || got.StoppedAt != nil {
		t.Errorf("got %+v, want RUNNING, started just now, not stopped", got)
	}

	t.Run("starting the same execution again with another input is ExecutionAlreadyExists", func(t *testing.T) {
		if err := m.Start(ctx, "run-1", `{"runId":"other"}`); !errors.Is(err, runs.ErrExecutionExists) {
			t.Fatalf("got %v, want runs.ErrExecutionExists", err)
		}
	})
	t.Run("an execution that is not there is ExecutionDoesNotExist", func(t *testing.T) {
		if _, err := m.Describe(ctx, m.ExecutionARN("never")); !errors.Is(err, runs.ErrExecutionNotFound) {
			t.Fatalf("got %v, want runs.ErrExecutionNotFound", err)
		}
	})
	t.Run("a stopped execution shows when it stopped", func(t *testing.T) {
		if _, err := sdk.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: &arn, Error: aws.String("Stopped"), Cause: aws.String("by hand")}); err != nil {
			t.Fatal(err)
		}
		got, err := m.Describe(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "ABORTED" || got.StoppedAt == nil || got.StoppedAt.Before(got.StartedAt) {
			t.Errorf("got %+v, want ABORTED with its stop time", got)
		}
	})
}

func TestDescribingAnExecutionThatIsNotThereIsExecutionDoesNotExist(t *testing.T) {
	_, m := motoMachine(t)
	if _, err := m.Describe(context.Background(), m.ExecutionARN("never")); !errors.Is(err, runs.ErrExecutionNotFound) {
		t.Fatalf("got %v, want runs.ErrExecutionNotFound", err)
	}
}

// recording is a Step Functions that keeps what it was sent.
type recording struct{ calls []map[string]any }

func (r *recording) Call(_ context.Context, operation string, in, _ any) error {
	doc, _ := json.Marshal(in)
	var m map[string]any
	_ = json.Unmarshal(doc, &m)
	m["operation"] = operation
	r.calls = append(r.calls, m)
	return nil
}

// Moto does not implement RedriveExecution (the Step Functions stand-in
// does: internal/localserver's pipeline tests redrive through it).
func TestARedriveSendsAClientTokenOfItsOwn(t *testing.T) {
	r := &recording{}
	m := stepfunctions.New(r, "arn:aws:states:us-east-1:123456789012:stateMachine:m")
	for range 2 {
		if err := m.Redrive(context.Background(), m.ExecutionARN("run")); err != nil {
			t.Fatal(err)
		}
	}
	first, second := r.calls[0], r.calls[1]
	if first["operation"] != "RedriveExecution" || first["executionArn"] != m.ExecutionARN("run") {
		t.Errorf("got %v, want RedriveExecution of the execution", first)
	}
	if token, _ := first["clientToken"].(string); token == "" || token == second["clientToken"] {
		t.Errorf("got client tokens %v and %v, want one of its own for each redrive", first["clientToken"], second["clientToken"])
	}
}

// answering is a Step Functions that answers every call with one error.
type answering struct{ err error }

func (a answering) Call(context.Context, string, any, any) error { return a.err }

func TestThrottlingAndFaultsAreUnavailable(t *testing.T) {
	for code, want := range map[string]access.Kind{
		"ThrottlingException":    access.EUNAVAILABLE,
		"ServiceUnavailable":     access.EUNAVAILABLE,
		"InternalServerError":    access.EUNAVAILABLE,
		"InvalidArn":             access.EINTERNAL,
		"ExecutionLimitExceeded": access.EINTERNAL,
	} {
		t.Run(code, func(t *testing.T) {
			m := stepfunctions.New(answering{&smithy.OperationError{ServiceID: "SFN", OperationName: "StartExecution", Err: &awsjson.Error{StatusCode: 400, Code: code}}}, "arn:aws:states:us-east-1:123456789012:stateMachine:m")
			if err := m.Start(context.Background(), "run", "{}"); access.ErrorKind(err) != want {
				t.Errorf("got kind %v for %v, want %v", access.ErrorKind(err), err, want)
			}
		})
	}
}
