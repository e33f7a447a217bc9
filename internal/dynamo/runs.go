package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// Runs are items "RUN#<run id>" in the tenant's partition (run ids start
// with the sandbox name and sort by time), and each sandbox has a lock item
// "ACTIVE#<sandbox>" naming the run that holds it. A run item is also in the
// table's index gsi1, under "RUNS#<tenant>" and its requested time, so the
// tenant's runs of every sandbox are listed newest first with one query.

var _ runs.Store = (*Store)(nil)

func runKey(id string) string { return "RUN#" + id }

// The table's one global secondary index: items that must be found by
// something other than their key carry gsi1pk and gsi1sk.
const (
	Index1        = "gsi1"
	index1PK      = "gsi1pk"
	index1SK      = "gsi1sk"
	updateRetries = 10 // optimistic updates that lose to another writer read again, after a jittered pause
)

func runsByTimeKey(tenant string) string { return "RUNS#" + tenant }

// idempotencyKey names the item that remembers an Idempotency-Key for a day.
func idempotencyKey(sandbox, key string) string {
	h := sha256.Sum256([]byte(key))
	return "IDEMPOTENCY#" + strings.ToLower(sandbox) + "#" + hex.EncodeToString(h[:])
}

// RunIDForKey returns the run an Idempotency-Key started within
// runs.IdempotencyWindow, or "".
func (s *Store) RunIDForKey(ctx context.Context, tenant, sandbox, k string) (string, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
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
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
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

// ClaimRun moves the sandbox's lock from previous to run and writes the new
// run's record, in one transaction.
func (s *Store) ClaimRun(ctx context.Context, run runs.Run, previous string) error {
	record, err := runItem(run)
	if err != nil {
		return err
	}
	in := &ddb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: s.lockPut(run, previous)},
		{Put: &types.Put{TableName: &s.table, Item: record, ConditionExpression: aws.String("attribute_not_exists(sk)")}},
	}}
	if run.IdempotencyKey != "" {
		remember := key(tenantKey(run.Tenant), idempotencyKey(run.Sandbox, run.IdempotencyKey))
		remember["runId"] = &types.AttributeValueMemberS{Value: run.ID}
		remember["ttl"] = &types.AttributeValueMemberN{Value: fmt.Sprint(s.now().Add(runs.IdempotencyWindow).Unix())}
		in.TransactItems = append(in.TransactItems, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: remember}})
	}
	err = s.transact(ctx, in)
	if failed(err) >= 0 {
		return access.Errorf(access.ECONFLICT, "RUN_IN_PROGRESS", "Another run holds this sandbox.")
	}
	return storeError(err)
}

// ClaimRedrive moves the sandbox's lock from previous to an existing run:
// its record, kept current by the pipeline, is not written again.
func (s *Store) ClaimRedrive(ctx context.Context, run runs.Run, previous string) error {
	put := s.lockPut(run, previous)
	_, err := s.client.PutItem(ctx, &ddb.PutItemInput{TableName: put.TableName, Item: put.Item,
		ConditionExpression: put.ConditionExpression, ExpressionAttributeValues: put.ExpressionAttributeValues})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return access.Errorf(access.ECONFLICT, "RUN_IN_PROGRESS", "Another run holds this sandbox.")
	}
	return storeError(err)
}

// lockPut is the put of the sandbox's lock for run, conditional on its
// holder being previous ("": on the sandbox being free).
func (s *Store) lockPut(run runs.Run, previous string) *types.Put {
	lock := key(tenantKey(run.Tenant), activeKey(run.Sandbox))
	lock["runId"] = &types.AttributeValueMemberS{Value: run.ID}
	lock["claimedAt"] = &types.AttributeValueMemberS{Value: s.now().UTC().Format(time.RFC3339Nano)}
	put := &types.Put{TableName: &s.table, Item: lock, ConditionExpression: aws.String("attribute_not_exists(sk)")}
	if previous != "" {
		put.ConditionExpression = aws.String("runId = :previous")
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":previous": &types.AttributeValueMemberS{Value: previous}}
	}
	return put
}

// runItem is the item of a run's record: the record, its keys, and its
// place in the index of the tenant's runs by time.
func runItem(run runs.Run) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMapWithOptions(run, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
	if err != nil {
		return nil, access.Internal(err)
	}
	nullEmptyStrings(item)
	item["pk"], item["sk"] = &types.AttributeValueMemberS{Value: tenantKey(run.Tenant)}, &types.AttributeValueMemberS{Value: runKey(run.ID)}
	item[index1PK] = &types.AttributeValueMemberS{Value: runsByTimeKey(run.Tenant)}
	item[index1SK] = &types.AttributeValueMemberS{Value: run.RequestedAt.UTC().Format(time.RFC3339) + "#" + run.ID}
	return item, nil
}

// GetRun reads one run of the tenant.
func (s *Store) GetRun(ctx context.Context, tenant, id string) (runs.Run, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
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

// UpdateRun reads the run, applies change, and writes the record back on
// the condition that its version is the one read; when another writer came
// first it reads again, up to updateRetries times.
func (s *Store) UpdateRun(ctx context.Context, tenant, id string, change func(*runs.Run) bool) (runs.Run, error) {
	for attempt := 1; ; attempt++ {
		run, err := s.GetRun(ctx, tenant, id)
		if err != nil {
			return runs.Run{}, err
		}
		read := run.Version
		if !change(&run) {
			return run, nil
		}
		run.Version = read + 1
		item, err := runItem(run)
		if err != nil {
			return runs.Run{}, err
		}
		_, err = s.client.PutItem(ctx, &ddb.PutItemInput{
			TableName: &s.table, Item: item,
			ConditionExpression:       aws.String("attribute_exists(sk) AND (version = :read OR (attribute_not_exists(version) AND :read = :zero))"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":read": &types.AttributeValueMemberN{Value: strconv.Itoa(read)}, ":zero": &types.AttributeValueMemberN{Value: "0"}},
		})
		var cond *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return run, nil
		case !errors.As(err, &cond):
			return runs.Run{}, storeError(err)
		case attempt == updateRetries:
			return runs.Run{}, access.Unavailable(fmt.Errorf("update run %s: %d writers in a row came first", id, attempt))
		}
		select {
		case <-ctx.Done():
			return runs.Run{}, access.Unavailable(ctx.Err())
		case <-time.After(time.Duration(rand.Int64N(int64(attempt) * int64(20*time.Millisecond)))):
		}
	}
}

// ListRuns returns the sandbox's newest runs, from the table, or the
// tenant's newest runs of every sandbox, from the index by time.
func (s *Store) ListRuns(ctx context.Context, tenant, sandbox string, limit int) ([]runs.Run, error) {
	in := &ddb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: tenantKey(tenant)},
			":prefix": &types.AttributeValueMemberS{Value: "RUN#" + strings.ToLower(sandbox) + "-"},
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(int32(limit)),
	}
	if sandbox == "" {
		in.IndexName = aws.String(Index1)
		in.KeyConditionExpression = aws.String(index1PK + " = :pk")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: runsByTimeKey(tenant)}}
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return nil, storeError(err)
	}
	return decodeRuns(nil, out.Items)
}

// decodeRuns appends the runs of items to list.
func decodeRuns(list []runs.Run, items []map[string]types.AttributeValue) ([]runs.Run, error) {
	for _, item := range items {
		r, err := decodeRun(item)
		if err != nil {
			return nil, err
		}
		list = append(list, r)
	}
	return list, nil
}

// RunningRuns returns every run of every tenant whose record says it is
// running: a Scan, for the local stack's start only (runs.Service.Reconcile).
func (s *Store) RunningRuns(ctx context.Context) ([]runs.Run, error) {
	var list []runs.Run
	p := ddb.NewScanPaginator(s.client, &ddb.ScanInput{
		TableName:                 &s.table,
		FilterExpression:          aws.String("begins_with(sk, :run) AND #status = :running"),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":run": &types.AttributeValueMemberS{Value: "RUN#"}, ":running": &types.AttributeValueMemberS{Value: runs.StatusRunning}},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, storeError(err)
		}
		if list, err = decodeRuns(list, out.Items); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// nullEmptyStrings writes the empty strings of an item (a step's detail may
// hold some) as NULL, which decodes back to "": DynamoDB Local, which the
// local stack and the tests run on, refuses an empty string anywhere, as
// DynamoDB itself did before 2020.
func nullEmptyStrings(m map[string]types.AttributeValue) {
	for k, v := range m {
		m[k] = nullEmpty(v)
	}
}

func nullEmpty(v types.AttributeValue) types.AttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		if v.Value == "" {
			return &types.AttributeValueMemberNULL{Value: true}
		}
	case *types.AttributeValueMemberM:
		nullEmptyStrings(v.Value)
	case *types.AttributeValueMemberL:
		for i := range v.Value {
			v.Value[i] = nullEmpty(v.Value[i])
		}
	}
	return v
}

func decodeRun(item map[string]types.AttributeValue) (runs.Run, error) {
	var r runs.Run
	if err := attributevalue.UnmarshalMapWithOptions(item, &r, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
		return runs.Run{}, access.Internal(errors.Join(errors.New("run item"), err))
	}
	return r, nil
}
