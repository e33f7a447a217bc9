package templatecheck

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dcs-access/dcs-access/internal/auditstream"
	"github.com/dcs-access/dcs-access/internal/dynamo"
)

// streamEventType is the SAM event that runs a function on a DynamoDB
// stream (an event source mapping).
const streamEventType = "DynamoDB"

// streamConsumer is the one function that reads the table's stream: the
// audit events' way to the bus (internal/auditstream).
const streamConsumer = "PublishAuditEventsFunction"

// checkStreamConsumers checks the table's stream and its one consumer: the
// table streams new images (dynamo.StreamViewType: the audit item as
// written, which holds the event); only streamConsumer has a DynamoDB event,
// on that stream, filtered to audit items (auditstream.FilterPattern), from
// the stream's start, reporting the batch's first failure
// (ReportBatchItemFailures) and retrying it for as long as the stream keeps
// it (no record discarded); and an alarm says when its events wait
// (IteratorAge).
func checkStreamConsumers(tpl *cfnTemplate) []string {
	var problems []string
	table, ok := tpl.resource("TokenTable")
	if !ok {
		return []string{"no TokenTable"}
	}
	if got := render(table.prop("StreamSpecification.StreamViewType")); got != string(dynamo.StreamViewType) {
		problems = append(problems, fmt.Sprintf("TokenTable's stream is %s, want %s: the consumer reads the audit event from the item as written", got, dynamo.StreamViewType))
	}
	consumed := 0
	for _, fn := range tpl.functions() {
		for _, e := range entries(fn.prop("Events")) {
			if typ, _ := plainScalar(at(e.Value, "Type")); typ != streamEventType {
				continue
			}
			where := fn.ID + " event " + e.Key
			if fn.ID != streamConsumer {
				problems = append(problems, fmt.Sprintf("%s reads a DynamoDB stream: only %s may (the table's stream carries every item as written)", where, streamConsumer))
				continue
			}
			consumed++
			problems = append(problems, checkStreamMapping(where, at(e.Value, "Properties"))...)
		}
	}
	if consumed != 1 {
		problems = append(problems, fmt.Sprintf("%s has %d DynamoDB stream events, want 1: the audit events reach the bus through it", streamConsumer, consumed))
	}
	if !alarmedMetrics(tpl)[alarmedMetric("AWS/Lambda", "IteratorAge", "FunctionName", "!Ref "+streamConsumer)] {
		problems = append(problems, fmt.Sprintf("no alarm on %s's IteratorAge: audit events could wait for the bus, and leave the stream after 24 hours, unseen", streamConsumer))
	}
	return append(problems, checkTamperAlarm(tpl)...)
}

// checkTamperAlarm checks that one write over an audit event pages, and
// that the stream's consumer knows the stack its metric is under.
func checkTamperAlarm(tpl *cfnTemplate) []string {
	problems := checkCountAlarm(tpl, "AuditTamperingAlarm", auditstream.TamperingMetric,
		"one write over an audit event pages", "a write over an audit event would be counted and never seen")
	if fn, ok := tpl.resource(streamConsumer); ok {
		if got := render(fn.prop("Environment.Variables.STACK_NAME")); got != "!Ref AWS::StackName" {
			problems = append(problems, fmt.Sprintf("%s: STACK_NAME is %s, want !Ref AWS::StackName: the alarm's Stack dimension", streamConsumer, got))
		}
	}
	return problems
}

func checkStreamMapping(where string, props *yaml.Node) []string {
	var problems []string
	if got := render(at(props, "Stream")); got != "!GetAtt TokenTable.StreamArn" {
		problems = append(problems, fmt.Sprintf("%s: Stream is %s, want !GetAtt TokenTable.StreamArn", where, got))
	}
	if got := render(at(props, "StartingPosition")); got != "TRIM_HORIZON" {
		problems = append(problems, fmt.Sprintf("%s: StartingPosition is %s, want TRIM_HORIZON: events written before the mapping was ready would never reach the bus", where, got))
	}
	if got := render(at(props, "FunctionResponseTypes")); got != "[ReportBatchItemFailures]" {
		problems = append(problems, fmt.Sprintf("%s: FunctionResponseTypes is %s, want [ReportBatchItemFailures]: a failed publish must be retried from the record that failed", where, got))
	}
	for _, name := range []string{"MaximumRetryAttempts", "MaximumRecordAgeInSeconds"} {
		if n := at(props, name); n != nil && render(n) != "-1" {
			problems = append(problems, fmt.Sprintf("%s: %s is %s, want -1 (or left out): a record given up on before the stream drops it is an event lost to the bus", where, name, render(n)))
		}
	}
	if n := at(props, "DestinationConfig"); n != nil {
		problems = append(problems, fmt.Sprintf("%s: DestinationConfig is set: records are retried until the stream drops them, none is discarded to a destination", where))
	}
	filters := items(at(props, "FilterCriteria.Filters"))
	if len(filters) != 1 {
		return append(problems, fmt.Sprintf("%s: %d filters, want the one of auditstream.FilterPattern: without it the function runs for every write of the table", where, len(filters)))
	}
	pattern, _ := plainScalar(at(filters[0], "Pattern"))
	var got, want any
	if err := json.Unmarshal([]byte(pattern), &got); err != nil {
		return append(problems, fmt.Sprintf("%s: the filter's Pattern is not JSON: %v", where, err))
	}
	if err := json.Unmarshal([]byte(auditstream.FilterPattern()), &want); err != nil {
		return append(problems, err.Error())
	}
	if !reflect.DeepEqual(got, want) {
		problems = append(problems, fmt.Sprintf("%s: the filter's Pattern is %s, want auditstream.FilterPattern's %s", where, pattern, auditstream.FilterPattern()))
	}
	return problems
}

func TestTheAuditStream(t *testing.T) {
	tpl := loadTemplate(t)
	t.Run("the table's stream has one consumer, filtered to audit items, that loses no record", func(t *testing.T) {
		report(t, checkStreamConsumers(tpl))
	})
}

func TestTheAuditStreamCheckCatchesMutations(t *testing.T) {
	const events = "Resources.PublishAuditEventsFunction.Properties.Events.AuditItems.Properties"
	runMutations(t, []mutation{
		{"a stream of keys only is caught",
			setTo("Resources.TokenTable.Properties.StreamSpecification.StreamViewType", "KEYS_ONLY"), checkStreamConsumers, "TokenTable's stream is KEYS_ONLY"},
		{"a consumer without the filter is caught",
			removeAt(events + ".FilterCriteria"), checkStreamConsumers, "0 filters"},
		{"the filter on new images (which lets no removal by) is caught",
			setTo(events+".FilterCriteria.Filters.0.Pattern", `'{"dynamodb":{"NewImage":{"pk":{"S":[{"prefix":"AUDIT#"}]}}}}'`), checkStreamConsumers, "want auditstream.FilterPattern's"},
		{"a filter to inserts only is caught",
			setTo(events+".FilterCriteria.Filters.0.Pattern", `'{"eventName":["INSERT"],"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"AUDIT#"}]}}}}'`), checkStreamConsumers, "want auditstream.FilterPattern's"},
		{"a consumer without the tamper alarm is caught",
			removeAt("Resources.AuditTamperingAlarm"), checkStreamConsumers, "no alarm AuditTamperingAlarm"},
		{"a tamper alarm that waits for two writes is caught",
			setTo("Resources.AuditTamperingAlarm.Properties.Threshold", "2"), checkStreamConsumers, "AuditTamperingAlarm: Threshold is 2, want 1"},
		{"a tamper alarm on another metric is caught",
			setTo("Resources.AuditTamperingAlarm.Properties.MetricName", "AuditTamper"), checkStreamConsumers, "MetricName is AuditTamper, want AuditTampering"},
		{"a tamper alarm under no stack is caught",
			removeAt("Resources.AuditTamperingAlarm.Properties.Dimensions"), checkStreamConsumers, "Dimensions is [], want [Stack=!Ref AWS::StackName]"},
		{"a tamper alarm that tells no one is caught",
			removeAt("Resources.AuditTamperingAlarm.Properties.AlarmActions"), checkStreamConsumers, "AlarmActions is <unset>, want [!Ref AlarmTopic]"},
		{"a tamper alarm that treats missing data as breaching is caught",
			setTo("Resources.AuditTamperingAlarm.Properties.TreatMissingData", "breaching"), checkStreamConsumers, "TreatMissingData is breaching"},
		{"a tamper alarm of several periods is caught",
			setTo("Resources.AuditTamperingAlarm.Properties.DatapointsToAlarm", "2"), checkStreamConsumers, "sets DatapointsToAlarm"},
		{"a consumer without its stack name is caught",
			removeAt("Resources.PublishAuditEventsFunction.Properties.Environment.Variables.STACK_NAME"), checkStreamConsumers, "STACK_NAME is <unset>"},
		{"a filter wider than the audit items is caught",
			setTo(events+".FilterCriteria.Filters.0.Pattern", `'{"dynamodb":{"NewImage":{"pk":{"S":[{"prefix":"A"}]}}}}'`), checkStreamConsumers, "want auditstream.FilterPattern's"},
		{"a consumer that gives up on a record is caught",
			setTo(events+".MaximumRetryAttempts", "3"), checkStreamConsumers, "MaximumRetryAttempts is 3"},
		{"a consumer that drops old records is caught",
			setTo(events+".MaximumRecordAgeInSeconds", "3600"), checkStreamConsumers, "MaximumRecordAgeInSeconds is 3600"},
		{"a consumer that fails whole batches is caught",
			removeAt(events + ".FunctionResponseTypes"), checkStreamConsumers, "FunctionResponseTypes is"},
		{"a consumer that starts at the latest record is caught",
			setTo(events+".StartingPosition", "LATEST"), checkStreamConsumers, "StartingPosition is LATEST"},
		{"a second function on the stream is caught",
			setTo("Resources.WhoAmIFunction.Properties.Events.Stream", "{Type: DynamoDB, Properties: {Stream: !GetAtt TokenTable.StreamArn, StartingPosition: LATEST}}"),
			checkStreamConsumers, "WhoAmIFunction event Stream reads a DynamoDB stream"},
		{"a consumer without its iterator-age alarm is caught",
			removeAt("Resources.PublishAuditEventsIteratorAgeAlarm"), checkStreamConsumers, "no alarm on PublishAuditEventsFunction's IteratorAge"},
		{"a stream grant on the table's items is caught",
			setTo("Resources.PublishAuditEventsFunctionRole.Properties.Policies.1.PolicyDocument.Statement.0.Resource", "!GetAtt TokenTable.Arn"),
			checkPolicyStatements, "allows dynamodb:GetRecords on !GetAtt TokenTable.Arn, want only on " + streamARN},
	})
}
