package dynamo_test

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"

	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// updateRecorder is DynamoDB Local's client, keeping each update it is
// asked for (alone, or in a transaction) and each put of a transaction.
type updateRecorder struct {
	*ddb.Client
	updates []*ddb.UpdateItemInput
	puts    []*types.Put
}

func (c *updateRecorder) UpdateItem(ctx context.Context, in *ddb.UpdateItemInput) (*ddb.UpdateItemOutput, error) {
	c.updates = append(c.updates, in)
	return c.Client.UpdateItem(ctx, in)
}

func (c *updateRecorder) TransactWriteItems(ctx context.Context, in *ddb.TransactWriteItemsInput) (*ddb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		if u := it.Update; u != nil {
			c.updates = append(c.updates, &ddb.UpdateItemInput{Key: u.Key, UpdateExpression: u.UpdateExpression,
				ConditionExpression: u.ConditionExpression, ExpressionAttributeNames: u.ExpressionAttributeNames})
		}
		if it.Put != nil {
			c.puts = append(c.puts, it.Put)
		}
	}
	return c.Client.TransactWriteItems(ctx, in)
}

// namedAttributes are the top-level attributes a request names: its key's,
// and those of its expressions (by placeholder or by name).
func namedAttributes(in *ddb.UpdateItemInput) []string {
	names := map[string]bool{}
	for k := range in.Key {
		names[k] = true
	}
	word := regexp.MustCompile(`[:#]?[A-Za-z_][A-Za-z0-9_]*`)
	functions := map[string]bool{"SET": true, "REMOVE": true, "AND": true, "OR": true, "NOT": true, "attribute_exists": true, "attribute_not_exists": true}
	for _, expr := range []string{aws.ToString(in.UpdateExpression), aws.ToString(in.ConditionExpression)} {
		for _, w := range word.FindAllString(expr, -1) {
			switch {
			case w[0] == ':': // a value
			case w[0] == '#':
				names[in.ExpressionAttributeNames[w]] = true
			case !functions[w]:
				names[w] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(names))
}

// The IAM grant lets the authorizer's UpdateItem name only
// dynamo.RecordUseAttributes (a request naming any other would be denied),
// and its PutItem write only audit items: the attributes
// dynamo.AuditItemAttributes, in the audit partitions.
func TestTheRecordsOfUseNameOnlyTheAttributesTheirGrantAllows(t *testing.T) {
	client, table := testenv.Table(t)
	rec := &updateRecorder{Client: client}
	st := dynamo.New(rec, table, func() time.Time { return t0 })
	ctx := context.Background()
	tk := token("acme", "ci", t0)
	if err := st.Create(ctx, tk, access.DefaultPolicy(), audittest.TokenCreated(tk.Tenant, tk.ID)); err != nil {
		t.Fatal(err)
	}
	rec.updates, rec.puts = nil, nil
	if ok, err := st.RecordNewIP(ctx, tk, t0, "203.0.113.7", audittest.Event("acme", audit.TokenUsedFromNewIP, audit.TargetToken, tk.ID)); !ok || err != nil {
		t.Fatalf("got (%v, %v), want the first use recorded", ok, err)
	}
	tk, _ = st.Get(ctx, "acme", tk.ID)
	later := t0.Add(10 * time.Minute)
	for _, ip := range []string{"203.0.113.7", ""} { // a known address, then none
		if ok, err := st.RecordUse(ctx, tk, later, ip, later.Add(-5*time.Minute)); !ok || err != nil {
			t.Fatalf("%q: got (%v, %v), want a write", ip, ok, err)
		}
		tk, _ = st.Get(ctx, "acme", tk.ID)
		later = later.Add(10 * time.Minute)
	}
	allowed := slices.Sorted(slices.Values(dynamo.RecordUseAttributes))
	named := map[string]bool{}
	for _, in := range rec.updates {
		got := namedAttributes(in)
		for _, name := range got {
			named[name] = true
			if !slices.Contains(allowed, name) {
				t.Errorf("an update named %v (update %q, condition %q), want only of %v", got, aws.ToString(in.UpdateExpression), aws.ToString(in.ConditionExpression), allowed)
			}
		}
		if in.ReturnValues != "" {
			t.Errorf("an update asked for ReturnValues %s, which its grant refuses", in.ReturnValues)
		}
	}
	if got := slices.Sorted(maps.Keys(named)); len(rec.updates) != 3 || !slices.Equal(got, allowed) {
		t.Fatalf("got %d updates naming %v, want 3 naming every one of %v (none is granted in vain)", len(rec.updates), got, allowed)
	}
	if len(rec.puts) != 1 {
		t.Fatalf("got %d puts, want the first use's audit event alone", len(rec.puts))
	}
	put := rec.puts[0]
	pk := put.Item["pk"].(*types.AttributeValueMemberS).Value
	if got, want := slices.Sorted(maps.Keys(put.Item)), slices.Sorted(slices.Values(dynamo.AuditItemAttributes)); !slices.Equal(got, want) || !strings.HasPrefix(pk, "AUDIT#") {
		t.Fatalf("the audit put wrote %v in %s, want exactly %v in an AUDIT# partition", got, pk, want)
	}
}

func TestARecordedUseIsReadAndListedWithTheToken(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	tk := token("acme", "ci", t0)
	if err := st.Create(ctx, tk, access.DefaultPolicy(), audittest.TokenCreated(tk.Tenant, tk.ID)); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(90*time.Minute + 123*time.Millisecond)
	if ok, err := st.RecordUse(ctx, tk, at, "203.0.113.7", at.Add(-5*time.Minute)); !ok || err != nil {
		t.Fatalf("got (%v, %v), want a write", ok, err)
	}
	got, err := st.Get(ctx, "acme", tk.ID)
	if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) || got.LastUsedIP != "203.0.113.7" {
		t.Fatalf("got %+v (%v), want last use %v from 203.0.113.7, to the millisecond", got, err, at)
	}
	listed, _, err := st.List(ctx, "acme", 10, "")
	if err != nil || len(listed) != 1 || listed[0].LastUsedAt == nil || !listed[0].LastUsedAt.Equal(at) || listed[0].LastUsedIP != "203.0.113.7" {
		t.Fatalf("got %+v (%v), want the last use listed", listed, err)
	}

	// A record newer than replacesUpTo is kept: no error, nothing written.
	if ok, err := st.RecordUse(ctx, tk, at.Add(time.Minute), "198.51.100.1", at.Add(-time.Second)); ok || err != nil {
		t.Fatalf("got (%v, %v), want the newer record kept, and no error", ok, err)
	}
	// One at replacesUpTo exactly is replaced; a use without an address
	// removes the old one.
	later := at.Add(5 * time.Minute)
	if ok, err := st.RecordUse(ctx, tk, later, "", at); !ok || err != nil {
		t.Fatalf("got (%v, %v), want a write", ok, err)
	}
	if got, _ := st.Get(ctx, "acme", tk.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(later) || got.LastUsedIP != "" {
		t.Fatalf("got last use %v from %q, want %v and no address", got.LastUsedAt, got.LastUsedIP, later)
	}
	// The record of use changes nothing else of the token.
	got, _ = st.Get(ctx, "acme", tk.ID)
	got.LastUsedAt, got.LastUsedIP = nil, ""
	if got.Description != tk.Description || got.AssociatedUser != tk.AssociatedUser || !got.CreatedAt.Equal(tk.CreatedAt) || got.ExpiresAt != nil {
		t.Fatalf("got %+v, want %+v apart from the last use", got, tk)
	}
}

func TestRecordUseOfAMissingTokenCreatesNothing(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	tk := token("acme", "gone", t0)
	if ok, err := st.RecordUse(ctx, tk, t0, "203.0.113.7", t0.Add(-5*time.Minute)); ok || err != nil {
		t.Fatalf("got (%v, %v), want nothing written and no error", ok, err)
	}
	if _, err := st.Get(ctx, "acme", tk.ID); access.ErrorKind(err) != access.ENOTFOUND {
		t.Fatalf("got %v, want ENOTFOUND: no item may be created", err)
	}
}

func TestRevokeDeletesAsDeleteDoesAndReturnsTheRecord(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	exp := t0.Add(24 * time.Hour)
	tk := token("acme", "Nightly", t0)
	tk.ExpiresAt = &exp
	if err := st.Create(ctx, tk, access.DefaultPolicy(), audittest.TokenCreated(tk.Tenant, tk.ID)); err != nil {
		t.Fatal(err)
	}
	got, err := st.Revoke(ctx, "acme", tk.ID, audittest.TokenDeleted("acme", tk.ID))
	if err != nil || got.ID != tk.ID || got.Tenant != "acme" || got.Description != "Nightly" || got.AssociatedUser != tk.AssociatedUser {
		t.Fatalf("got (%+v, %v), want the deleted token's record", got, err)
	}
	if _, err := st.Get(ctx, "acme", tk.ID); access.ErrorKind(err) != access.ENOTFOUND {
		t.Fatalf("after Revoke: got %v, want ENOTFOUND", err)
	}
	// Its description is free again, as after Delete.
	if err := st.Create(ctx, token("acme", "nightly", t0), access.DefaultPolicy(), audittest.TokenCreated("acme", "test")); err != nil {
		t.Fatalf("the description after Revoke: got %v, want it free", err)
	}
	if _, err := st.Revoke(ctx, "acme", tk.ID, audittest.TokenDeleted("acme", tk.ID)); access.ErrorKind(err) != access.ENOTFOUND {
		t.Fatalf("a second Revoke: got %v, want ENOTFOUND", err)
	}
}
