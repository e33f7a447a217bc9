package schedules_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/schedules"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// The Scheduler adapter against moto's EventBridge Scheduler, through the SDK.
func TestSchedulesAreCreatedUpdatedAndDeleted(t *testing.T) {
	client := scheduler.NewFromConfig(awsconfig.Local(testenv.MotoEndpoint(t)))
	ctx := context.Background()
	if _, err := client.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("dcs-access-test")}); err != nil {
		t.Fatal(err)
	}
	s := schedules.Scheduler{API: client, Group: "dcs-access-test",
		BusARN:  "arn:aws:events:us-east-1:123456789012:event-bus/dcs-access-sandbox-refresh",
		RoleARN: "arn:aws:iam::123456789012:role/dcs-access-scheduler"}
	get := func() *scheduler.GetScheduleOutput {
		t.Helper()
		out, err := client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(schedules.Name("acme", "UAT1")), GroupName: aws.String("dcs-access-test")})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := s.Put(ctx, "acme", "UAT1", "cron(0 2 ? * SUN *)"); err != nil {
		t.Fatal(err)
	}
	first := get()
	var detail map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(first.Target.Input)), &detail); err != nil || detail["tenant"] != "acme" || detail["sandbox"] != "UAT1" {
		t.Fatalf("got input %q, want the plan's tenant and sandbox", aws.ToString(first.Target.Input))
	}
	if aws.ToString(first.Target.Arn) != s.BusARN || aws.ToString(first.Target.EventBridgeParameters.DetailType) != "Sandbox Refresh Requested" {
		t.Fatalf("got target %+v, want the bus with the refresh detail-type", first.Target)
	}
	if err := s.Put(ctx, "acme", "UAT1", "cron(30 3 ? * MON *)"); err != nil {
		t.Fatalf("update: %v", err)
	}
	if got := aws.ToString(get().ScheduleExpression); got != "cron(30 3 ? * MON *)" {
		t.Fatalf("got %q after the update, want the new expression", got)
	}
	if err := s.Delete(ctx, "acme", "UAT1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "acme", "UAT1"); err != nil {
		t.Fatalf("deleting a missing schedule: got %v, want nothing to do", err)
	}
	if schedules.Name("acme", "uat1") == schedules.Name("globex", "uat1") {
		t.Fatal("two tenants' schedules share a name")
	}
}
