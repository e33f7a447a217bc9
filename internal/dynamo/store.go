// Package dynamo stores API-token metadata in one DynamoDB table.
//
// Items of a tenant share the partition key "TENANT#<tenant>":
//
//	sk "TOKEN#<id>"         the token's metadata and scopes (ids are
//	                        time-ordered, so a reverse Query lists newest first)
//	sk "NAME#<description>" the description reservation, lower-cased, that
//	                        makes descriptions unique in the tenant (held by
//	                        the newest token of a rotation family: rotation.go)
//	sk "POLICY"             the tenant's token policy, when its administrators
//	                        set one (policy.go)
//
// Both items are written and deleted in one transaction, and both carry the
// same ttl (expiry + 30 days) so DynamoDB TTL purges them together. A token
// that expires also carries its expiry notices, and sits in the index gsi1
// until the last is sent (notices.go). Every change is written with its
// audit event, in the same transaction (audit.go).
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// PurgeAfter is how long an expired token stays listed before TTL removes it.
const PurgeAfter = 30 * 24 * time.Hour

// conflictAttempts bounds retries of a transaction cancelled by a concurrent one.
const conflictAttempts = 4

// Client is the part of the DynamoDB API the store uses: a *ddb.Client,
// or a test's wrapper of one.
type Client interface {
	PutItem(ctx context.Context, in *ddb.PutItemInput) (*ddb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *ddb.DeleteItemInput) (*ddb.DeleteItemOutput, error)
	GetItem(ctx context.Context, in *ddb.GetItemInput) (*ddb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *ddb.UpdateItemInput) (*ddb.UpdateItemOutput, error) // expiry notices, the authorizer's record of use
	Query(ctx context.Context, in *ddb.QueryInput) (*ddb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *ddb.TransactWriteItemsInput) (*ddb.TransactWriteItemsOutput, error)
	Scan(ctx context.Context, in *ddb.ScanInput) (*ddb.ScanOutput, error) // the local stack's reconcile only
}

// Store implements tokens.Store and the authorizer's token lookup.
type Store struct {
	client Client
	table  string
	now    func() time.Time
	// auditRetention is how long an audit event is kept (its ttl).
	auditRetention time.Duration
}

var _ tokens.Store = (*Store)(nil)

// New returns a store on table that keeps audit events
// audit.DefaultRetentionDays (WithAuditRetention to change it).
func New(client Client, table string, now func() time.Time) *Store {
	return &Store{client: client, table: table, now: now, auditRetention: audit.DefaultRetentionDays * 24 * time.Hour}
}

// WithAuditRetention makes s keep the audit events it writes for days.
func (s *Store) WithAuditRetention(days int) *Store {
	s.auditRetention = time.Duration(days) * 24 * time.Hour
	return s
}

type tokenItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	ID          string `dynamodbav:"id"`
	Description string `dynamodbav:"description"`
	User        string `dynamodbav:"user"`
	CreatedAt   string `dynamodbav:"createdAt"`
	ExpiresAt   string `dynamodbav:"expiresAt,omitempty"`
	TTL         int64  `dynamodbav:"ttl,omitempty"`
	// Scopes, a list in the documented order; absent from tokens created
	// before tokens had scopes, which stay nil.
	Scopes []access.Scope `dynamodbav:"scopes,omitempty"`
	// Written by RecordUse and RecordNewIP only (lastused.go), never by Create.
	LastUsedAtMs int64            `dynamodbav:"lastUsedAtMs,omitempty"`
	LastUsedIP   string           `dynamodbav:"lastUsedIp,omitempty"`
	RecentIPs    map[string]int64 `dynamodbav:"recentIps,omitempty"` // source IP: when last seen, Unix ms
	rotationAttrs
}

type nameItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	TokenID string `dynamodbav:"tokenId"`
	TTL     int64  `dynamodbav:"ttl,omitempty"`
}

func tenantKey(tenant string) string { return "TENANT#" + tenant }
func tokenKey(id string) string      { return "TOKEN#" + id }
func nameKey(desc string) string     { return "NAME#" + tokens.DescriptionKey(desc) }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

func toItem(t access.Token) tokenItem {
	it := tokenItem{
		PK: tenantKey(t.Tenant), SK: tokenKey(t.ID), ID: t.ID, Description: t.Description,
		User: t.AssociatedUser, CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339), Scopes: t.Scopes,
		rotationAttrs: rotationAttrsOf(t.Rotation),
	}
	if t.ExpiresAt != nil {
		it.ExpiresAt = t.ExpiresAt.UTC().Format(time.RFC3339)
		it.TTL = t.ExpiresAt.Add(PurgeAfter).Unix()
	}
	return it
}

func (it tokenItem) token(tenant string) (access.Token, error) {
	t := access.Token{ID: it.ID, Tenant: tenant, Description: it.Description, AssociatedUser: it.User, Scopes: it.Scopes}
	var err error
	if t.CreatedAt, err = time.Parse(time.RFC3339, it.CreatedAt); err != nil {
		return t, fmt.Errorf("token item %s: createdAt: %w", it.ID, err)
	}
	if it.ExpiresAt != "" {
		exp, err := time.Parse(time.RFC3339, it.ExpiresAt)
		if err != nil {
			return t, fmt.Errorf("token item %s: expiresAt: %w", it.ID, err)
		}
		t.ExpiresAt = &exp
	}
	if it.LastUsedAtMs != 0 {
		used := time.UnixMilli(it.LastUsedAtMs).UTC()
		t.LastUsedAt, t.LastUsedIP = &used, it.LastUsedIP
	}
	if it.RecentIPs != nil {
		t.RecentIPs = make(map[string]time.Time, len(it.RecentIPs))
		for ip, ms := range it.RecentIPs {
			t.RecentIPs[ip] = time.UnixMilli(ms).UTC()
		}
	}
	if t.Rotation, err = it.rotation(); err != nil {
		return t, fmt.Errorf("token item %s: %w", it.ID, err)
	}
	return t, nil
}

// Create writes the token, reserves its description and records ev in one
// transaction, which also holds the tenant policy to under (policyCheck). A
// reservation whose token has passed its purge time but that TTL has not
// removed yet does not block the description.
func (s *Store) Create(ctx context.Context, t access.Token, under access.Policy, ev audit.Event) error {
	it := toItem(t)
	tokenAV, err := attributevalue.MarshalMap(it)
	if err != nil {
		return access.Internal(err)
	}
	addNoticeKeys(tokenAV, t)
	nameAV, err := attributevalue.MarshalMap(nameItem{PK: it.PK, SK: nameKey(t.Description), TokenID: t.ID, TTL: it.TTL})
	if err != nil {
		return access.Internal(err)
	}
	err = s.writeAudited(ctx, ev,
		types.TransactWriteItem{Put: &types.Put{
			TableName: &s.table, Item: tokenAV,
			ConditionExpression: aws.String("attribute_not_exists(sk)"),
		}},
		types.TransactWriteItem{Put: &types.Put{
			TableName: &s.table, Item: nameAV,
			ConditionExpression:       aws.String("attribute_not_exists(sk) OR (attribute_exists(#ttl) AND #ttl < :now)"),
			ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: fmt.Sprint(s.now().Unix())}},
		}},
		s.policyCheck(t.Tenant, under),
	)
	if failedAt(err, 2) {
		return tokens.ErrPolicyChanged()
	}
	switch failed(err) {
	case 1:
		return tokens.ErrDescriptionTaken()
	case 0:
		return access.Internal(fmt.Errorf("token id %s already exists", t.ID))
	}
	return storeError(err)
}

// Get reads one token with a strongly consistent read, so a deletion is seen
// by the very next request. A missing token is ENOTFOUND.
func (s *Store) Get(ctx context.Context, tenant, id string) (access.Token, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName: &s.table, Key: key(tenantKey(tenant), tokenKey(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return access.Token{}, storeError(err)
	}
	if out.Item == nil {
		return access.Token{}, errNotFound()
	}
	var it tokenItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return access.Token{}, access.Internal(err)
	}
	t, err := it.token(tenant)
	if err != nil {
		return access.Token{}, access.Internal(err)
	}
	return t, nil
}

// List returns up to limit tokens of tenant, newest first, and the cursor of
// the next page ("" when there is none).
func (s *Store) List(ctx context.Context, tenant string, limit int, cursor string) ([]access.Token, string, error) {
	in := &ddb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: tenantKey(tenant)},
			":prefix": &types.AttributeValueMemberS{Value: "TOKEN#"},
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(int32(limit)),
	}
	if cursor != "" {
		id, err := decodeCursor(tenant, cursor)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = key(tenantKey(tenant), tokenKey(id))
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return nil, "", storeError(err)
	}
	var items []tokenItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, "", access.Internal(err)
	}
	list := make([]access.Token, 0, len(items))
	for _, it := range items {
		t, err := it.token(tenant)
		if err != nil {
			return nil, "", access.Internal(err)
		}
		list = append(list, t)
	}
	next := ""
	if out.LastEvaluatedKey != nil && len(list) > 0 {
		next = encodeCursor(tenant, list[len(list)-1].ID)
	}
	return list, next, nil
}

// Delete removes the token, frees its description and records ev in one
// transaction, held to the tenant policy for by (tokens.Deleter).
func (s *Store) Delete(ctx context.Context, tenant, id string, by tokens.Deleter, ev audit.Event) error {
	_, err := s.revoke(ctx, tenant, id, by, ev)
	return err
}

// Revoke is Delete of anyone's token, whatever the policy, and returns the
// record it deleted: leak revocation tells the token's owner which token
// it was. ev records the token's description too.
func (s *Store) Revoke(ctx context.Context, tenant, id string, ev audit.Event) (access.Token, error) {
	return s.revoke(ctx, tenant, id, tokens.Deleter{}, ev)
}

// revoke deletes the token id for by. The one read is the token's, for its
// description (the key of the description item) and its user: a token of
// by.User's own is deleted whatever the policy, and any other is deleted
// with a ConditionCheck holding the policy to by.Under (policyCheck).
// Under ownerOnlyDelete, whose token it is the delete's condition decides,
// and a refused delete is told apart from one of a token deleted meanwhile
// by the item its failed condition returns.
func (s *Store) revoke(ctx context.Context, tenant, id string, by tokens.Deleter, ev audit.Event) (access.Token, error) {
	t, err := s.Get(ctx, tenant, id)
	if err != nil {
		return access.Token{}, err
	}
	ev = ev.With("description", t.Description)
	del := &types.Delete{
		TableName: &s.table, Key: key(tenantKey(tenant), tokenKey(id)),
		ConditionExpression: aws.String("attribute_exists(sk)"),
	}
	if by.User != "" && by.Under.OwnerOnlyDelete {
		del.ConditionExpression = aws.String("attribute_exists(sk) AND #user = :owner")
		del.ExpressionAttributeNames = map[string]string{"#user": "user"} // a reserved word
		del.ExpressionAttributeValues = map[string]types.AttributeValue{":owner": &types.AttributeValueMemberS{Value: by.User}}
		del.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	token := []types.TransactWriteItem{{Delete: del}}
	if by.User != "" && t.AssociatedUser != by.User {
		// The policy decides this delete: only while it is still by.Under.
		token = append(token, s.policyCheck(tenant, by.Under))
	}
	name := types.TransactWriteItem{Delete: &types.Delete{
		// Only the reservation that belongs to this token: after a purge
		// race the name may already belong to a newer token.
		TableName: &s.table, Key: key(tenantKey(tenant), nameKey(t.Description)),
		ConditionExpression:       aws.String("attribute_not_exists(sk) OR tokenId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: id}},
	}}
	err = s.writeAudited(ctx, ev, append(token, name)...)
	if failed(err) == len(token) {
		// The name now belongs to a newer token: delete this token alone.
		err = s.writeAudited(ctx, ev, token...)
	}
	switch {
	case len(token) == 2 && failedAt(err, 1):
		// Checked first: under the new policy the delete is decided anew.
		return access.Token{}, tokens.ErrPolicyChanged()
	case failedAt(err, 0):
		return access.Token{}, notDeleted(err)
	case err != nil:
		return access.Token{}, storeError(err)
	}
	return t, nil
}

// notDeleted is the error of a token delete whose condition failed: the
// token is another user's (its item came back with the failure), or it was
// deleted meanwhile.
func notDeleted(err error) error {
	var cancelled *types.TransactionCanceledException
	errors.As(err, &cancelled)
	var it tokenItem
	if old := cancelled.CancellationReasons[0].Item; old != nil {
		if uerr := attributevalue.UnmarshalMap(old, &it); uerr != nil {
			return access.Internal(uerr)
		}
		return tokens.ErrNotOwnerDeletes(it.User)
	}
	return errNotFound()
}

// transact runs a transaction, retrying cancellations caused by a concurrent
// transaction on the same items.
func (s *Store) transact(ctx context.Context, in *ddb.TransactWriteItemsInput) error {
	for attempt := 1; ; attempt++ {
		_, err := s.client.TransactWriteItems(ctx, in)
		var cancelled *types.TransactionCanceledException
		if err == nil || !errors.As(err, &cancelled) || !hasReason(cancelled.CancellationReasons, "TransactionConflict") || attempt == conflictAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		}
	}
}

// failed returns the index of the transaction item whose condition failed,
// or -1 when err is not such a cancellation.
func failed(err error) int {
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		for i, r := range cancelled.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return i
			}
		}
	}
	return -1
}

// failedAt reports whether err is a cancellation in which the condition of
// item i failed.
func failedAt(err error, i int) bool {
	var cancelled *types.TransactionCanceledException
	return errors.As(err, &cancelled) && i < len(cancelled.CancellationReasons) &&
		aws.ToString(cancelled.CancellationReasons[i].Code) == "ConditionalCheckFailed"
}

func hasReason(reasons []types.CancellationReason, code string) bool {
	for _, r := range reasons {
		if aws.ToString(r.Code) == code {
			return true
		}
	}
	return false
}

func errNotFound() *access.Error {
	return access.Errorf(access.ENOTFOUND, "NOT_FOUND", "No API token with this id exists in your tenant.")
}

// storeError turns a DynamoDB failure into an application error: throttling,
// conflicts, timeouts and a store that cannot be reached are worth retrying
// (503 UNAVAILABLE); anything else is internal.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
			"TransactionConflictException", "TransactionInProgressException":
			return access.Unavailable(err)
		}
	}
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && hasReason(cancelled.CancellationReasons, "TransactionConflict") {
		return access.Unavailable(err) // still contended after retries
	}
	if awsconfig.Transient(err) { // unreachable, dropped, timed out, 5xx
		return access.Unavailable(err)
	}
	return access.Internal(err)
}
