package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/notices"
)

// A token that expires carries its expiry notices in its own item
// (internal/notices), so deleting the token deletes them, in the same
// transaction, and nothing else needs cleaning up:
//
//	nextNotice        the first notice not sent yet (notices.Done when all were)
//	gsi1pk, gsi1sk    "EXPIRES#<expiry day, UTC>" and "<next notice's due time>#<id>",
//	                  while a notice is left: the item is in the index gsi1 only
//	                  then (a sparse index), so finding due notices is a Query
//	                  per expiry day, never a Scan
//	noticeClaim,      the run sending a notice, and until when it holds it
//	noticeClaimUntil
//	sentNotices       what was sent and when, for the record
//
// The runs' entries in gsi1 are under "RUNS#<tenant>", which no expiry day
// can spell. The finder queries the expiry days from PurgeAfter ago (TTL
// may delete a token after that, so no notice is promised beyond it) to
// notices.MaxLead ahead, for due times up to now.

var _ notices.Store = (*Store)(nil)

func expiresKey(expires time.Time) string { return "EXPIRES#" + expires.UTC().Format(time.DateOnly) }

func noticeSortKey(due time.Time, id string) string {
	return due.UTC().Format(time.RFC3339) + "#" + id
}

// addNoticeKeys puts a new token that expires into the index, under its
// first notice.
func addNoticeKeys(item map[string]types.AttributeValue, t access.Token) {
	if t.ExpiresAt == nil {
		return // never expires: no notices
	}
	first := notices.First(t.CreatedAt, *t.ExpiresAt)
	item["nextNotice"] = number(int(first))
	if first == notices.Done {
		return
	}
	item[index1PK] = &types.AttributeValueMemberS{Value: expiresKey(*t.ExpiresAt)}
	item[index1SK] = &types.AttributeValueMemberS{Value: noticeSortKey(first.DueAt(*t.ExpiresAt), t.ID)}
}

// dayOf is the start of t's day, in UTC.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func number(n int) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.Itoa(n)}
}

// dayQueries is how many expiry days PendingNotices queries at once: 38
// queries one after the other would take a run some 40 times a round trip.
const dayQueries = 8

// PendingNotices returns the tokens whose next notice is due at now: one
// query of the index per expiry day that can have one, from PurgeAfter ago
// to notices.MaxLead ahead.
func (s *Store) PendingNotices(ctx context.Context, now time.Time) ([]notices.Pending, error) {
	var days []time.Time
	for day := dayOf(now.Add(-PurgeAfter)); !day.After(dayOf(now.Add(notices.MaxLead))); day = day.AddDate(0, 0, 1) {
		days = append(days, day)
	}
	found := make([][]notices.Pending, len(days))
	errs := make([]error, len(days))
	slots := make(chan struct{}, dayQueries)
	var wg sync.WaitGroup
	for i, day := range days {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			found[i], errs[i] = s.pendingOn(ctx, day, now)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return slices.Concat(found...), nil
}

// pendingOn returns the tokens that expire on day whose next notice is due
// at now.
func (s *Store) pendingOn(ctx context.Context, day, now time.Time) ([]notices.Pending, error) {
	var out []notices.Pending
	p := ddb.NewQueryPaginator(s.client, &ddb.QueryInput{
		TableName:              &s.table,
		IndexName:              aws.String(Index1),
		KeyConditionExpression: aws.String(index1PK + " = :day AND " + index1SK + " < :after"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":day": &types.AttributeValueMemberS{Value: expiresKey(day)},
			// Every due time up to now's second, whatever the id after it.
			":after": &types.AttributeValueMemberS{Value: now.Add(time.Second).UTC().Format(time.RFC3339)},
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, storeError(err)
		}
		for _, item := range page.Items {
			pending, err := decodePending(item)
			if err != nil {
				return nil, access.Internal(err)
			}
			out = append(out, pending)
		}
	}
	return out, nil
}

func decodePending(item map[string]types.AttributeValue) (notices.Pending, error) {
	var it tokenItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return notices.Pending{}, err
	}
	tenant, ok := strings.CutPrefix(it.PK, "TENANT#")
	if !ok {
		return notices.Pending{}, fmt.Errorf("item %s/%s in the expiry index is not a token", it.PK, it.SK)
	}
	t, err := it.token(tenant)
	if err != nil {
		return notices.Pending{}, err
	}
	var next int
	if err := attributevalue.Unmarshal(item["nextNotice"], &next); err != nil || t.ExpiresAt == nil {
		return notices.Pending{}, fmt.Errorf("token item %s in the expiry index has no nextNotice or expiresAt", it.ID)
	}
	return notices.Pending{Token: t, Next: notices.Notice(next)}, nil
}

// ClaimNotice takes c.Notice for c's run: one conditional write on the
// token's item, which only one run can win. A deleted token has no
// nextNotice, so its claim fails too (and the write creates nothing).
func (s *Store) ClaimNotice(ctx context.Context, p notices.Pending, c notices.Claim, now time.Time) (access.Token, bool, error) {
	out, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: &s.table, Key: key(tenantKey(p.Token.Tenant), tokenKey(p.Token.ID)),
		ConditionExpression: aws.String("nextNotice = :next AND expiresAt = :expires" +
			" AND (attribute_not_exists(noticeClaimUntil) OR noticeClaimUntil < :now)"),
		UpdateExpression: aws.String("SET noticeClaim = :claim, noticeClaimUntil = :until"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":next":    number(int(p.Next)),
			":expires": &types.AttributeValueMemberS{Value: p.Token.ExpiresAt.UTC().Format(time.RFC3339)},
			":now":     &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
			":claim":   &types.AttributeValueMemberS{Value: c.ID},
			":until":   &types.AttributeValueMemberN{Value: strconv.FormatInt(c.Until.Unix(), 10)},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return access.Token{}, false, nil // gone, sent, or another run's
	}
	if err != nil {
		return access.Token{}, false, storeError(err)
	}
	var it tokenItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return access.Token{}, false, access.Internal(err)
	}
	t, err := it.token(p.Token.Tenant)
	if err != nil {
		return access.Token{}, false, access.Internal(err)
	}
	return t, true, nil
}

// RecordNotice records c.Notice as sent, moves the item to its next
// notice's due time in the index (or out of the index after the last), and
// releases the claim, on the condition that the claim is still c's.
func (s *Store) RecordNotice(ctx context.Context, p notices.Pending, c notices.Claim, now time.Time) error {
	next := c.Notice + 1
	values := map[string]types.AttributeValue{
		":claim": &types.AttributeValueMemberS{Value: c.ID},
		":next":  number(int(next)),
		":sent":  &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: c.Notice.String() + " " + now.UTC().Format(time.RFC3339)}}},
		":none":  &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
	}
	update := "SET nextNotice = :next, sentNotices = list_append(if_not_exists(sentNotices, :none), :sent)"
	remove := " REMOVE noticeClaim, noticeClaimUntil"
	if next < notices.Done {
		update += ", " + index1SK + " = :due"
		values[":due"] = &types.AttributeValueMemberS{Value: noticeSortKey(next.DueAt(*p.Token.ExpiresAt), p.Token.ID)}
	} else {
		remove += ", " + index1PK + ", " + index1SK // out of the sparse index
	}
	return s.updateClaimed(ctx, p, update+remove, values)
}

// ReleaseNotice gives c's claim up, unsent.
func (s *Store) ReleaseNotice(ctx context.Context, p notices.Pending, c notices.Claim) error {
	return s.updateClaimed(ctx, p, "REMOVE noticeClaim, noticeClaimUntil",
		map[string]types.AttributeValue{":claim": &types.AttributeValueMemberS{Value: c.ID}})
}

func (s *Store) updateClaimed(ctx context.Context, p notices.Pending, update string, values map[string]types.AttributeValue) error {
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: &s.table, Key: key(tenantKey(p.Token.Tenant), tokenKey(p.Token.ID)),
		ConditionExpression:       aws.String("noticeClaim = :claim"),
		UpdateExpression:          aws.String(update),
		ExpressionAttributeValues: values,
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return notices.ErrClaimLost
	}
	return storeError(err)
}
