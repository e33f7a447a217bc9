package lambdatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// motoPipeline is the sandbox-refresh pipeline's AWS side in moto, one per
// stack: the state machine (moto keeps executions and their input, and
// implements StartExecution's idempotency, ExecutionAlreadyExists and
// ExecutionDoesNotExist, but runs no state: an execution stays RUNNING until
// it is stopped), the stack's event bus, an SQS queue that a rule on the bus
// fills with every event the functions publish (so a test reads what
// EventBridge received), and the schedule group of the plans' schedules.
// Secrets Manager holds the secrets a test creates.
type motoPipeline struct {
	endpoint         string
	machineARN       string
	busName          string
	busARN           string
	queueURL         string
	scheduleGroup    string
	schedulerRoleARN string
	sfn              *sfn.Client
	events           *eventbridge.Client
	scheduler        *scheduler.Client
	secrets          *secretsmanager.Client
	// secretPath is where this stack's secrets are: dcs-access/acme/<unique>/,
	// so that stacks sharing one moto never meet.
	secretPath string
}

var motoNames atomic.Int64

// uniqueName is a name no other stack in this moto uses.
func uniqueName() string {
	return fmt.Sprintf("lambdatest-%d-%d", time.Now().UnixNano(), motoNames.Add(1))
}

// placeholderDefinition: moto stores a definition but does not run it, so
// the real one (statemachine/, checked by its own tests) is not needed here.
const placeholderDefinition = `{"Comment":"lambdatest: moto does not run executions","StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}`

func newMotoPipeline(t testing.TB) *motoPipeline {
	t.Helper()
	endpoint := testenv.MotoEndpoint(t)
	cfg := awsconfig.Local(endpoint)
	p := &motoPipeline{
		endpoint:   endpoint,
		sfn:        sfn.NewFromConfig(cfg),
		events:     eventbridge.NewFromConfig(cfg),
		scheduler:  scheduler.NewFromConfig(cfg),
		secrets:    secretsmanager.NewFromConfig(cfg),
		secretPath: "dcs-access/acme/" + uniqueName() + "/",
		// Moto does not fire schedules, so the role is only passed along.
		schedulerRoleARN: "arn:aws:iam::123456789012:role/lambdatest-sandbox-refresh-scheduler",
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	name := uniqueName()
	machine, err := p.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(placeholderDefinition),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/lambdatest-sandbox-refresh"),
		Type:    sfntypes.StateMachineTypeStandard,
	})
	if err != nil {
		t.Fatalf("create the state machine in moto: %v", err)
	}
	p.machineARN = aws.ToString(machine.StateMachineArn)

	p.busName = name
	bus, err := p.events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("create the event bus in moto: %v", err)
	}
	p.busARN = aws.ToString(bus.EventBusArn)
	p.scheduleGroup = name
	if _, err := p.scheduler.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("create the schedule group in moto: %v", err)
	}
	var queue struct{ QueueUrl string }
	motoJSON(t, endpoint, "sqs", "AmazonSQS.CreateQueue", map[string]any{"QueueName": name}, &queue)
	p.queueURL = queue.QueueUrl
	var attrs struct{ Attributes map[string]string }
	motoJSON(t, endpoint, "sqs", "AmazonSQS.GetQueueAttributes",
		map[string]any{"QueueUrl": p.queueURL, "AttributeNames": []string{"QueueArn"}}, &attrs)
	// Everything the functions publish (source dcs-access) goes to the queue.
	if _, err := p.events.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String(name), EventBusName: aws.String(name), EventPattern: aws.String(`{"source":["dcs-access"]}`),
	}); err != nil {
		t.Fatalf("create the rule in moto: %v", err)
	}
	if _, err := p.events.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(name), EventBusName: aws.String(name),
		Targets: []ebtypes.Target{{Id: aws.String("published"), Arn: aws.String(attrs.Attributes["QueueArn"])}},
	}); err != nil {
		t.Fatalf("target the queue in moto: %v", err)
	}
	return p
}

// executions lists the state machine's executions in moto, newest first.
func (p *motoPipeline) executions(t testing.TB) []sfntypes.ExecutionListItem {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := p.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: &p.machineARN})
	if err != nil {
		t.Fatalf("list executions in moto: %v", err)
	}
	return out.Executions
}

// execution describes one execution in moto.
func (p *motoPipeline) execution(t testing.TB, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := p.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &arn})
	if err != nil {
		t.Fatalf("describe execution %s in moto: %v", arn, err)
	}
	return out
}

// stop aborts an execution, as a person might in the console.
func (p *motoPipeline) stop(t testing.TB, arn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := p.sfn.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: &arn}); err != nil {
		t.Fatalf("stop execution %s in moto: %v", arn, err)
	}
}

// schedules returns the schedules of the stack's group in moto, by name.
func (p *motoPipeline) schedules(t testing.TB) map[string]*scheduler.GetScheduleOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	list, err := p.scheduler.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: &p.scheduleGroup})
	if err != nil {
		t.Fatalf("list schedules in moto: %v", err)
	}
	out := map[string]*scheduler.GetScheduleOutput{}
	for _, item := range list.Schedules {
		got, err := p.scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: item.Name, GroupName: &p.scheduleGroup})
		if err != nil {
			t.Fatalf("get schedule %s in moto: %v", aws.ToString(item.Name), err)
		}
		out[aws.ToString(item.Name)] = got
	}
	return out
}

// createSecret stores value as a new secret of this stack's tenant path and
// returns its ARN (moto adds the random suffix, as Secrets Manager does).
func (p *motoPipeline) createSecret(t testing.TB, name, value string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := p.secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(p.secretPath + name), SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatalf("create secret %s in moto: %v", name, err)
	}
	return aws.ToString(out.ARN)
}

// publishedEvent is an event the rule delivered to the queue, as EventBridge
// shapes it for targets.
type publishedEvent struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Detail     json.RawMessage `json:"detail"`
}

// published returns the events put on the bus since the last call, oldest first.
func (p *motoPipeline) published(t testing.TB) []publishedEvent {
	t.Helper()
	var all []publishedEvent
	for {
		var out struct {
			Messages []struct{ Body string }
		}
		// Received messages stay hidden for the rest of the test: each is read once.
		motoJSON(t, p.endpoint, "sqs", "AmazonSQS.ReceiveMessage", map[string]any{
			"QueueUrl": p.queueURL, "MaxNumberOfMessages": 10, "VisibilityTimeout": 3600, "WaitTimeSeconds": 0,
		}, &out)
		if len(out.Messages) == 0 {
			return all
		}
		for _, m := range out.Messages {
			var e publishedEvent
			if err := json.Unmarshal([]byte(m.Body), &e); err != nil {
				t.Fatalf("the queue holds %q, not an event: %v", m.Body, err)
			}
			all = append(all, e)
		}
	}
}

// motoJSON calls one operation of an AWS JSON-protocol service in moto that
// the module has no SDK client for (SQS), signed as the SDK signs it: moto
// tells the service from the signature's scope.
func motoJSON(t testing.TB, endpoint, service, target string, in, out any) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", target)
	local := awsconfig.Local(endpoint)
	creds, err := local.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, local.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("moto %s: %v", target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("moto %s: %v", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto %s answered %d %s", target, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("moto %s answered %s: %v", target, raw, err)
	}
}
