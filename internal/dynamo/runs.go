package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// Runs are items "RUN#<run id>" in the tenant's partition (run ids start
// with the sandbox name and sort by time), and each sandbox has a lock item
// "ACTIVE#<sandbox>" naming the run that holds it.

var _ runs.Store = (*Store)(nil)

func runKey(id string) string { return "RUN#" + id }

// idempotencyKey names the item that remembers an Idempotency-Key for a day.
func idempotencyKey(sandbox, key string) string {
	h := sha256.Sum256([]byte(key))
	return "IDEMPOTENCY#" + strings.ToLower(sandbox) + "#" + hex.EncodeToString(h[:])
}

// RunIDForKey returns the run an Idempotency-Key started within
// runs.IdempotencyWindow, or "".
func (s *Store) RunIDForKey(ctx context.Context, tenant, sandbox, k string) (string, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(tenantKey(tenant), idempotencyKey(sandbox, k)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", storeError(err)
	}
	id, _ := out.Item["runId"].(*types.AttributeValueMemberS)
	if id == nil {
		return "", nil
	}
	// TTL deletes late: a key past its day no longer names its run.
	if ttl, ok := out.Item["ttl"].(*types.AttributeValueMemberN); ok {
		if until, err := strconv.ParseInt(ttl.Value, 10, 64); err == nil && until < s.now().Unix() {
			return "", nil
		}
	}
	return id.Value, nil
}
func activeKey(sandbox string) string { return "ACTIVE#" + strings.ToLower(sandbox) }

// ActiveRun returns the sandbox's lock; a zero Lock when it is free.
func (s *Store) ActiveRun(ctx context.Context, tenant, sandbox string) (runs.Lock, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(tenantKey(tenant), activeKey(sandbox)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return runs.Lock{}, storeError(err)
	}
	id, _ := out.Item["runId"].(*types.AttributeValueMemberS)
	if id == nil {
		return runs.Lock{}, nil
	}
	lock := runs.Lock{RunID: id.Value}
	if at, ok := out.Item["claimedAt"].(*types.AttributeValueMemberS); ok {
		lock.ClaimedAt, _ = time.Parse(time.RFC3339Nano, at.Value)
	}
	return lock, nil
}

// ClaimRun moves the sandbox's lock from previous to run and writes run, in
// one transaction.
func (s *Store) ClaimRun(ctx context.Context, run runs.Run, previous string) error {
	record, err := attributevalue.MarshalMapWithOptions(run, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
	if err != nil {
		return access.Internal(err)
	}
	record["pk"], record["sk"] = &types.AttributeValueMemberS{Value: tenantKey(run.Tenant)}, &types.AttributeValueMemberS{Value: runKey(run.ID)}
	lock := key(tenantKey(run.Tenant), activeKey(run.Sandbox))
	lock["runId"] = &types.AttributeValueMemberS{Value: run.ID}
	lock["claimedAt"] = &types.AttributeValueMemberS{Value: s.now().UTC().Format(time.RFC3339Nano)}
	lockPut := &types.Put{TableName: &s.table, Item: lock, ConditionExpression: aws.String("attribute_not_exists(sk)")}
	if previous != "" {
		lockPut.ConditionExpression = aws.String("runId = :previous")
		lockPut.ExpressionAttributeValues = map[string]types.AttributeValue{":previous": &types.AttributeValueMemberS{Value: previous}}
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: lockPut},
		// A redrive re-claims with its own record: writing it again is harmless.
		{Put: &types.Put{TableName: &s.table, Item: record}},
	}}
	if run.IdempotencyKey != "" {
		remember := key(tenantKey(run.Tenant), idempotencyKey(run.Sandbox, run.IdempotencyKey))
		remember["runId"] = &types.AttributeValueMemberS{Value: run.ID}
		remember["ttl"] = &types.AttributeValueMemberN{Value: fmt.Sprint(s.now().Add(runs.IdempotencyWindow).Unix())}
		in.TransactItems = append(in.TransactItems, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: remember}})
	}
	err = s.transact(ctx, in)
	if failed(err) == 0 {
		return access.Errorf(access.ECONFLICT, "RUN_IN_PROGRESS", "Another run holds this sandbox.")
	}
	return storeError(err)
}

// GetRun reads one run of the tenant.
func (s *Store) GetRun(ctx context.Context, tenant, id string) (runs.Run, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(tenantKey(tenant), runKey(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return runs.Run{}, storeError(err)
	}
	if out.Item == nil {
		return runs.Run{}, runs.ErrRunNotFound()
	}
	return decodeRun(out.Item)
}

// ListRuns returns the sandbox's newest runs (all sandboxes when sandbox is "").
func (s *Store) ListRuns(ctx context.Context, tenant, sandbox string, limit int) ([]runs.Run, error) {
	prefix := "RUN#"
	if sandbox != "" {
		prefix += strings.ToLower(sandbox) + "-"
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: tenantKey(tenant)},
			":prefix": &types.AttributeValueMemberS{Value: prefix},
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, storeError(err)
	}
	list := make([]runs.Run, 0, len(out.Items))
	for _, item := range out.Items {
		r, err := decodeRun(item)
		if err != nil {
			return nil, err
		}
		list = append(list, r)
	}
	return list, nil
}

func decodeRun(item map[string]types.AttributeValue) (runs.Run, error) {
	var r runs.Run
	if err := attributevalue.UnmarshalMapWithOptions(item, &r, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
		return runs.Run{}, access.Internal(errors.Join(errors.New("run item"), err))
	}
	return r, nil
}
