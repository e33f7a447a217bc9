package eventbus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// sqs is SQS on AWS JSON 1.0, which the test reads what the bus delivered
// from (the module has no SQS client, and needs none).
var sqs = awsjson.Service{ID: "SQS", EndpointPrefix: "sqs", SigningName: "sqs", TargetPrefix: "AmazonSQS", Protocol: awsjson.JSON10}

var names atomic.Int64

// busWithQueue creates a bus in moto whose every event of dcs-access goes
// to a queue, and returns the bus's name and a function that reads the
// queue.
func busWithQueue(t *testing.T) (string, func() []map[string]any) {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("eventbus-test-%d-%d", time.Now().UnixNano(), names.Add(1))
	sdk := eventbridge.NewFromConfig(awsconfig.Local(testenv.MotoEndpoint(t)))
	queues := testenv.Moto(t, sqs)
	if _, err := sdk.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: &name}); err != nil {
		t.Fatalf("create the bus in moto: %v", err)
	}
	var queue struct{ QueueUrl string }
	if err := queues.Call(ctx, "CreateQueue", map[string]any{"QueueName": name}, &queue); err != nil {
		t.Fatal(err)
	}
	var attrs struct{ Attributes map[string]string }
	if err := queues.Call(ctx, "GetQueueAttributes", map[string]any{"QueueUrl": queue.QueueUrl, "AttributeNames": []string{"QueueArn"}}, &attrs); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.PutRule(ctx, &eventbridge.PutRuleInput{Name: &name, EventBusName: &name, EventPattern: aws.String(`{"source":["dcs-access"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: &name, EventBusName: &name,
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	return name, func() []map[string]any {
		var out struct{ Messages []struct{ Body string } }
		if err := queues.Call(ctx, "ReceiveMessage", map[string]any{"QueueUrl": queue.QueueUrl, "MaxNumberOfMessages": 10}, &out); err != nil {
			t.Fatal(err)
		}
		var events []map[string]any
		for _, m := range out.Messages {
			var e map[string]any
			if err := json.Unmarshal([]byte(m.Body), &e); err != nil {
				t.Fatalf("the queue holds %q: %v", m.Body, err)
			}
			events = append(events, e)
		}
		return events
	}
}

func TestPublishPutsTheEventOnTheBus(t *testing.T) {
	name, delivered := busWithQueue(t)
	bus := eventbus.Bus{API: testenv.Moto(t, eventbus.Service), Name: name}
	if err := bus.Publish(context.Background(), "Sandbox Refresh Succeeded", map[string]any{"tenant": "acme", "runId": "r-1"}); err != nil {
		t.Fatal(err)
	}
	events := delivered()
	if len(events) != 1 {
		t.Fatalf("got %d events delivered, want 1: %v", len(events), events)
	}
	e := events[0]
	detail, _ := json.Marshal(e["detail"])
	if e["source"] != eventbus.Source || e["detail-type"] != "Sandbox Refresh Succeeded" || string(detail) != `{"runId":"r-1","tenant":"acme"}` {
		t.Errorf("got %v, want source %s, the detail type and the detail", e, eventbus.Source)
	}
}

// answering is an EventBridge that answers PutEvents with one document.
type answering string

func (a answering) Call(_ context.Context, _ string, _, out any) error {
	return json.Unmarshal([]byte(a), out)
}

func TestARejectedEntryIsAnErrorToRetry(t *testing.T) {
	bus := eventbus.Bus{API: answering(`{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}`), Name: "b"}
	err := bus.Publish(context.Background(), "Sandbox Refresh Failed", map[string]any{})
	if access.ErrorKind(err) != access.EUNAVAILABLE || !strings.Contains(err.Error(), "InternalFailure: try again") {
		t.Fatalf("got %v, want an unavailable error with the entry's code and message", err)
	}
	bus.API = answering(`{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`)
	if err := bus.Publish(context.Background(), "Sandbox Refresh Failed", map[string]any{}); err != nil {
		t.Fatalf("got %v, want an accepted entry to be no error", err)
	}
}
