package localserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/dcs-access/dcs-access/internal/auditstream"
	"github.com/dcs-access/dcs-access/internal/ddb"
)

// AuditStream is what the publish-audit-events function's event source
// mapping is in AWS: it follows the table's stream on DynamoDB Local and
// hands each batch of records to the same handler, which puts the audit
// events on the local bus and logs any other write to an audit item as
// tampering (the mapping's filter, on audit items' keys, is the handler's
// own check: it skips the records of other items). A batch the handler reports a failure in is read
// again from that record, as Lambda retries it.
type AuditStream struct {
	streams   *dynamodbstreams.Client
	streamARN string
	handler   *auditstream.Handler
	log       *slog.Logger
	seen      map[string]bool    // every shard id discovered
	shards    map[string]*string // shard id → the iterator to read next, while it has one
}

// NewAuditStream follows the stream of table, on the DynamoDB (Local) cfg
// reaches, from now on: the records of writes made before it are not
// handed on, as a mapping that starts at LATEST does not (make run keeps
// its table across restarts, and the events of earlier runs were published
// then). It reads the stream with the SDK's client: the local stack is no
// Lambda function, and internal/ddb has no stream operations.
func NewAuditStream(ctx context.Context, cfg aws.Config, table string, bus auditstream.Publisher, log *slog.Logger) (*AuditStream, error) {
	client, err := ddb.New(cfg)
	if err != nil {
		return nil, err
	}
	out, err := client.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: &table})
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", table, err)
	}
	if out.Table.LatestStreamArn == nil {
		return nil, fmt.Errorf("table %s has no stream", table)
	}
	a := &AuditStream{
		streams:   dynamodbstreams.NewFromConfig(cfg),
		streamARN: *out.Table.LatestStreamArn,
		handler:   &auditstream.Handler{Bus: bus, Log: log},
		log:       log,
		seen:      map[string]bool{},
		shards:    map[string]*string{},
	}
	return a, a.discover(ctx, stypes.ShardIteratorTypeLatest)
}

// Run hands on new records every interval until ctx ends.
func (a *AuditStream) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := a.Poll(ctx); err != nil && ctx.Err() == nil {
			a.log.ErrorContext(ctx, "audit events not published yet; the next poll retries", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Poll hands on the records written since the last poll, shard by shard.
// A shard that appears after the stream was followed is read from its
// start (its records are new).
func (a *AuditStream) Poll(ctx context.Context) error {
	if err := a.discover(ctx, stypes.ShardIteratorTypeTrimHorizon); err != nil {
		return err
	}
	var errs []error
	for id, it := range a.shards {
		if it == nil {
			delete(a.shards, id) // closed, and read to its end
			continue
		}
		errs = append(errs, a.read(ctx, id, it))
	}
	return errors.Join(errs...)
}

// discover starts the iterators of the shards not seen yet, at position;
// at LATEST (the first time), a shard closed already has nothing new.
func (a *AuditStream) discover(ctx context.Context, position stypes.ShardIteratorType) error {
	out, err := a.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &a.streamARN})
	if err != nil {
		return fmt.Errorf("describe the stream: %w", err)
	}
	for _, shard := range out.StreamDescription.Shards {
		id := aws.ToString(shard.ShardId)
		if a.seen[id] {
			continue
		}
		if closed := shard.SequenceNumberRange != nil && shard.SequenceNumberRange.EndingSequenceNumber != nil; closed && position == stypes.ShardIteratorTypeLatest {
			a.seen[id] = true
			continue
		}
		it, err := a.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: &a.streamARN, ShardId: shard.ShardId, ShardIteratorType: position})
		if err != nil {
			return fmt.Errorf("shard %s: %w", id, err)
		}
		a.seen[id], a.shards[id] = true, it.ShardIterator
	}
	return nil
}

// read hands on shard id's records from it, and keeps where to read next:
// after the batch, or at the record the handler could not publish.
func (a *AuditStream) read(ctx context.Context, id string, it *string) error {
	out, err := a.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it})
	if err != nil {
		return fmt.Errorf("shard %s: %w", id, err)
	}
	batch := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, 0, len(out.Records))}
	for _, r := range out.Records {
		batch.Records = append(batch.Records, lambdaRecord(r))
	}
	resp, err := a.handler.Handle(ctx, batch)
	if err != nil {
		return err
	}
	if len(resp.BatchItemFailures) == 0 {
		a.shards[id] = out.NextShardIterator
		return nil
	}
	again, err := a.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: &a.streamARN, ShardId: &id,
		ShardIteratorType: stypes.ShardIteratorTypeAtSequenceNumber, SequenceNumber: &resp.BatchItemFailures[0].ItemIdentifier})
	if err != nil {
		return fmt.Errorf("shard %s: %w", id, err)
	}
	a.shards[id] = again.ShardIterator
	return fmt.Errorf("shard %s: record %s is retried", id, resp.BatchItemFailures[0].ItemIdentifier)
}

// lambdaRecord is a stream record as Lambda hands it to a function.
func lambdaRecord(r stypes.Record) events.DynamoDBEventRecord {
	out := events.DynamoDBEventRecord{EventID: aws.ToString(r.EventID), EventName: string(r.EventName), EventSource: aws.ToString(r.EventSource)}
	if d := r.Dynamodb; d != nil {
		out.Change = events.DynamoDBStreamRecord{
			Keys: lambdaImage(d.Keys), NewImage: lambdaImage(d.NewImage),
			SequenceNumber: aws.ToString(d.SequenceNumber), StreamViewType: string(d.StreamViewType),
		}
	}
	if u := r.UserIdentity; u != nil { // TTL's removals: the handler ignores them
		out.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(u.Type), PrincipalID: aws.ToString(u.PrincipalId)}
	}
	return out
}

func lambdaImage(m map[string]stypes.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = lambdaValue(v)
	}
	return out
}

func lambdaValue(v stypes.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *stypes.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *stypes.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *stypes.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *stypes.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *stypes.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *stypes.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *stypes.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *stypes.AttributeValueMemberM:
		return events.NewMapAttribute(lambdaImage(v.Value))
	case *stypes.AttributeValueMemberL:
		list := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			list[i] = lambdaValue(e)
		}
		return events.NewListAttribute(list)
	}
	return events.NewNullAttribute()
}
