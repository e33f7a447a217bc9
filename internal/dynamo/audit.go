package dynamo

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/auditstream"
	"github.com/dcs-access/dcs-access/internal/ddb"
)

// Audit events (internal/audit) are items of a partition of their own per
// tenant, apart from the tenant's tokens (docs/capacity.md says why):
//
//	pk "AUDIT#<tenant>"   sk "<time, UTC, to the millisecond>#<event id>":
//	                      a reverse Query lists them newest first, and a
//	                      time range is a range of sk
//	gsi1pk "AUDIT#<tenant>#<action>", gsi1sk = sk: the list of one action,
//	                      a Query of the index (eventually consistent)
//	event                 the event's JSON document: what the list answers
//	                      and the detail of its event on the bus
//	ttl                   its time + the retention (AUDIT_RETENTION_DAYS)
//
// An event is put, on the condition that its key is new, in the transaction
// of the change it records (writeAudited): if the change fails, so does the
// put, and the other way round. No code updates or deletes an audit item;
// TTL removes it after the retention. Every item of the partition prefix
// auditstream.PartitionPrefix is one, and the stream's consumer publishes
// each when it is inserted.

var _ audit.Store = (*Store)(nil)

// auditTimeLayout writes an event's time in sk: fixed width, so that sk
// sorts by time.
const auditTimeLayout = "2006-01-02T15:04:05.000Z"

func auditKey(tenant string) string { return auditstream.PartitionPrefix + tenant }

func auditActionKey(tenant string, a audit.Action) string {
	return auditstream.PartitionPrefix + tenant + "#" + string(a)
}

func auditSortKey(at time.Time, id string) string {
	return at.UTC().Format(auditTimeLayout) + "#" + id
}

// AuditItemAttributes are every attribute of an audit item: all that the
// functions' IAM grants let them put in the audit partitions
// (dynamodb:Attributes in template.yaml, which templatecheck compares).
var AuditItemAttributes = []string{"pk", "sk", index1PK, index1SK, "ttl", auditstream.DocumentAttribute}

// auditPut is the put of ev's item, on the condition that no event has its
// key: an event is written once and never replaced.
func (s *Store) auditPut(ev audit.Event) (types.TransactWriteItem, error) {
	switch {
	case !access.TenantPattern.MatchString(ev.Tenant), !ev.Action.Known(), ev.Target.ID == "", ev.Target.Type == "",
		ev.Actor.Type == "", ev.Time.IsZero(), !canonicalUUID(ev.ID):
		// A change must not be made without a record that says what it was.
		return types.TransactWriteItem{}, access.Internal(fmt.Errorf("audit event %+v is incomplete: the change is not made", ev))
	}
	doc, err := json.Marshal(ev)
	if err != nil {
		return types.TransactWriteItem{}, access.Internal(err)
	}
	sk := auditSortKey(ev.Time, ev.ID)
	item := key(auditKey(ev.Tenant), sk)
	item[index1PK] = &types.AttributeValueMemberS{Value: auditActionKey(ev.Tenant, ev.Action)}
	item[index1SK] = &types.AttributeValueMemberS{Value: sk}
	item["ttl"] = &types.AttributeValueMemberN{Value: fmt.Sprint(ev.Time.Add(s.auditRetention).Unix())}
	item[auditstream.DocumentAttribute] = &types.AttributeValueMemberS{Value: string(doc)}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(sk)"),
	}}, nil
}

// writeAudited makes a change and records it: writes and the put of ev's
// item, in one transaction, so both commit or neither does. The error is
// the transaction's, for failed() to read: ev's put is the item after
// writes. Every change that is a DynamoDB write goes through here; a new
// one (the tenant policy's) is one call:
//
//	err := s.writeAudited(ctx, ev, types.TransactWriteItem{Put: put})
func (s *Store) writeAudited(ctx context.Context, ev audit.Event, writes ...types.TransactWriteItem) error {
	put, err := s.auditPut(ev)
	if err != nil {
		return err
	}
	return s.transact(ctx, &ddb.TransactWriteItemsInput{TransactItems: append(writes, put)})
}

// putAudited is a change that was one PutItem, in, made with its event ev:
// the put and ev's item in one transaction. It fails as in's PutItem would,
// with a *types.ConditionalCheckFailedException when in's condition fails,
// so that a store method moves onto it by changing its one PutItem line
// (PutPolicy is such a method).
func (s *Store) putAudited(ctx context.Context, ev audit.Event, in *ddb.PutItemInput) error {
	err := s.writeAudited(ctx, ev, types.TransactWriteItem{Put: &types.Put{
		TableName: in.TableName, Item: in.Item, ConditionExpression: in.ConditionExpression,
		ExpressionAttributeNames: in.ExpressionAttributeNames, ExpressionAttributeValues: in.ExpressionAttributeValues,
	}})
	if failed(err) == 0 {
		return &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}
	return err
}

// ListAuditEvents returns one page of the tenant's events, newest first:
// a Query of the tenant's audit partition (strongly consistent: a change
// just made is listed), or of the index gsi1 when q names an action.
func (s *Store) ListAuditEvents(ctx context.Context, tenant string, q audit.Query) (audit.Page, error) {
	pkName, pk, skName := "pk", auditKey(tenant), "sk"
	in := &ddb.QueryInput{TableName: &s.table, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(int32(q.Limit))}
	if q.Action == "" {
		in.ConsistentRead = aws.Bool(true)
	} else {
		pkName, pk, skName = index1PK, auditActionKey(tenant, q.Action), index1SK
		in.IndexName = aws.String(Index1)
	}
	cond := "#pk = :pk"
	values := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}
	from, to := auditRange(q)
	switch {
	case !q.Since.IsZero() && !q.Until.IsZero():
		cond += " AND #sk BETWEEN :from AND :to"
	case !q.Since.IsZero():
		cond += " AND #sk >= :from"
	case !q.Until.IsZero():
		cond += " AND #sk <= :to"
	}
	if !q.Since.IsZero() {
		values[":from"] = &types.AttributeValueMemberS{Value: from}
	}
	if !q.Until.IsZero() {
		values[":to"] = &types.AttributeValueMemberS{Value: to}
	}
	in.KeyConditionExpression, in.ExpressionAttributeValues = aws.String(cond), values
	in.ExpressionAttributeNames = map[string]string{"#pk": pkName}
	if !q.Since.IsZero() || !q.Until.IsZero() {
		in.ExpressionAttributeNames["#sk"] = skName
	}
	if q.Cursor != "" {
		sk, err := decodeAuditCursor(tenant, q, q.Cursor)
		if err != nil {
			return audit.Page{}, err
		}
		in.ExclusiveStartKey = key(auditKey(tenant), sk)
		if q.Action != "" {
			in.ExclusiveStartKey[index1PK] = &types.AttributeValueMemberS{Value: pk}
			in.ExclusiveStartKey[index1SK] = &types.AttributeValueMemberS{Value: sk}
		}
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return audit.Page{}, storeError(err)
	}
	page := audit.Page{Items: make([]audit.Event, 0, len(out.Items))}
	var last string
	for _, item := range out.Items {
		ev, err := decodeAuditEvent(item)
		if err != nil {
			return audit.Page{}, access.Internal(err)
		}
		page.Items = append(page.Items, ev)
		last = auditSortKey(ev.Time, ev.ID)
	}
	if out.LastEvaluatedKey != nil && last != "" {
		page.Next = encodeAuditCursor(tenant, q, last)
	}
	return page, nil
}

// auditRange is the sk range of q's times, both ends included: from since's
// millisecond, to every event of until's.
func auditRange(q audit.Query) (from, to string) {
	return q.Since.UTC().Format(auditTimeLayout), q.Until.UTC().Format(auditTimeLayout) + "#~" // "~" sorts after every id
}

func decodeAuditEvent(item map[string]types.AttributeValue) (audit.Event, error) {
	doc, ok := item[auditstream.DocumentAttribute].(*types.AttributeValueMemberS)
	if !ok {
		return audit.Event{}, errors.New("audit item without its event document")
	}
	var ev audit.Event
	if err := json.Unmarshal([]byte(doc.Value), &ev); err != nil {
		return audit.Event{}, fmt.Errorf("audit item: %w", err)
	}
	return ev, nil
}

// An audit cursor (nextToken) is the last listed event's sk and a checksum
// of it with the tenant and the query's filter, "<sk>|<sha256(…)[:8]>",
// base64url encoded: the token list's design (cursor.go), for the same
// reasons. A cursor can reach nothing beyond the caller's own list: the
// Query is always of the verified caller's partition, under the query's own
// key condition, and takes only a position from the cursor. The checksum
// catches a cursor cut short, carried over from another tenant or used with
// another filter; a position outside the query's time range is refused too,
// since DynamoDB would refuse a start key outside the key condition.

func encodeAuditCursor(tenant string, q audit.Query, sk string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(sk + "|" + auditCursorSum(tenant, q, sk)))
}

func decodeAuditCursor(tenant string, q audit.Query, cursor string) (string, error) {
	bad := access.Errorf(access.EINVALID, "INVALID_NEXT_TOKEN", "nextToken is not one this API returned for this query. Start again without it.")
	if len(cursor) > 256 {
		return "", bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", bad
	}
	sk, sum, ok := strings.Cut(string(raw), "|")
	if !ok || subtle.ConstantTimeCompare([]byte(sum), []byte(auditCursorSum(tenant, q, sk))) != 1 {
		return "", bad
	}
	at, id, ok := strings.Cut(sk, "#")
	if !ok || !canonicalUUID(id) {
		return "", bad
	}
	t, err := time.Parse(auditTimeLayout, at)
	if err != nil || t.Format(auditTimeLayout) != at {
		return "", bad
	}
	from, to := auditRange(q)
	if (!q.Since.IsZero() && sk < from) || (!q.Until.IsZero() && sk > to) {
		return "", bad
	}
	return sk, nil
}

func auditCursorSum(tenant string, q audit.Query, sk string) string {
	var since, until string
	if !q.Since.IsZero() {
		since = q.Since.UTC().Format(auditTimeLayout)
	}
	if !q.Until.IsZero() {
		until = q.Until.UTC().Format(auditTimeLayout)
	}
	h := sha256.Sum256([]byte(strings.Join([]string{tenant, string(q.Action), since, until, sk}, "|")))
	return base64.RawURLEncoding.EncodeToString(h[:8])
}
