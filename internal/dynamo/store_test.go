package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// newStore returns a store on a fresh table, and the SDK's own client of
// DynamoDB Local: the test's view of the items, independent of the codec
// the store writes and reads them with (internal/ddb).
func newStore(t *testing.T) (*dynamo.Store, *dynamodb.Client, string) {
	t.Helper()
	client, table := testenv.Table(t)
	return dynamo.New(client, table, func() time.Time { return t0 }), testenv.DynamoDB(t), table
}

func token(tenant, desc string, created time.Time) access.Token {
	return access.Token{
		ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, Description: desc,
		AssociatedUser: "ada@example.com", CreatedAt: created,
	}
}

func kindOf(err error) access.Kind {
	if err == nil {
		return -1
	}
	return access.ErrorKind(err)
}

func TestConcurrentCreatesWithOneDescriptionGiveExactlyOneSuccess(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.Create(ctx, token("acme", "Nightly Masking", t0), access.DefaultPolicy(), audittest.TokenCreated("acme", "test"))
		}()
	}
	wg.Wait()
	ok, taken := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case access.AsError(err).Code == "DESCRIPTION_TAKEN":
			taken++
		default:
			t.Errorf("create failed with %v, want success or DESCRIPTION_TAKEN", err)
		}
	}
	if ok != 1 || taken != 49 {
		t.Fatalf("got %d successes and %d DESCRIPTION_TAKEN, want 1 and 49", ok, taken)
	}
	page, _, err := st.List(ctx, "acme", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 {
		t.Fatalf("got %d stored tokens, want 1: losers must write nothing", len(page))
	}
}

func TestDescriptionsAreUniquePerTenantIgnoringCase(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	first := token("acme", "CI Token", t0)
	if err := st.Create(ctx, first, access.DefaultPolicy(), audittest.TokenCreated(first.Tenant, first.ID)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tenant string
		desc   string
		taken  bool
	}{
		{"the same description is taken", "acme", "CI Token", true},
		{"a description differing only in case is taken", "acme", "ci token", true},
		{"another tenant may use the same description", "globex", "CI Token", false},
		{"another description is free", "acme", "CI Token 2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := st.Create(ctx, token(tc.tenant, tc.desc, t0), access.DefaultPolicy(), audittest.TokenCreated(tc.tenant, "test"))
			if got := err != nil && access.AsError(err).Code == "DESCRIPTION_TAKEN"; got != tc.taken {
				t.Fatalf("got err %v, want taken=%v", err, tc.taken)
			}
		})
	}
}

func TestPagingOver250TokensReturnsEachExactlyOnceNewestFirst(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	want := map[string]bool{}
	for i := range 250 {
		tk := token("acme", fmt.Sprintf("token %03d", i), t0.Add(time.Duration(i)*time.Second))
		if err := st.Create(ctx, tk, access.DefaultPolicy(), audittest.TokenCreated(tk.Tenant, tk.ID)); err != nil {
			t.Fatal(err)
		}
		want[tk.ID] = true
	}
	if err := st.Create(ctx, token("globex", "not acme's", t0), access.DefaultPolicy(), audittest.TokenCreated("globex", "test")); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var prev string
	cursor, pages := "", 0
	for {
		items, next, err := st.List(ctx, "acme", 40, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range items {
			if seen[it.ID] {
				t.Fatalf("token %s listed twice", it.ID)
			}
			if !want[it.ID] {
				t.Fatalf("token %s (%s) is not one of acme's", it.ID, it.Description)
			}
			if prev != "" && it.ID >= prev {
				t.Fatalf("got %s after %s, want newest first", it.ID, prev)
			}
			seen[it.ID], prev = true, it.ID
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 250 {
		t.Fatalf("got %d tokens over %d pages, want 250", len(seen), pages)
	}
}

func TestTamperedOrForeignCursorIsRejected(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	for i := range 3 {
		if err := st.Create(ctx, token("acme", fmt.Sprint("t", i), t0), access.DefaultPolicy(), audittest.TokenCreated("acme", "test")); err != nil {
			t.Fatal(err)
		}
	}
	_, next, err := st.List(ctx, "acme", 1, "")
	if err != nil || next == "" {
		t.Fatalf("got next %q, err %v; want a cursor", next, err)
	}
	tampered := []byte(next)
	tampered[len(tampered)/2] ^= 0x01
	for name, tc := range map[string]struct{ tenant, cursor string }{
		"a flipped character":     {"acme", string(tampered)},
		"garbage":                 {"acme", "not-a-cursor!"},
		"another tenant's cursor": {"globex", next},
		"a very long cursor":      {"acme", string(make([]byte, 500))},
		"a cursor of just a uuid": {"acme", uuid.NewString()},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := st.List(ctx, tc.tenant, 10, tc.cursor)
			if e := access.AsError(err); err == nil || e.Code != "INVALID_NEXT_TOKEN" || e.Kind != access.EINVALID {
				t.Fatalf("got %v, want INVALID_NEXT_TOKEN", err)
			}
		})
	}
}

func TestDeleteRevokesAndFreesTheDescription(t *testing.T) {
	st, client, table := newStore(t)
	ctx := context.Background()
	tk := token("acme", "Deploy bot", t0)
	if err := st.Create(ctx, tk, access.DefaultPolicy(), audittest.TokenCreated(tk.Tenant, tk.ID)); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "globex", tk.ID, tokens.Deleter{}, audittest.TokenDeleted("globex", tk.ID)); kindOf(err) != access.ENOTFOUND {
		t.Fatalf("delete from another tenant: got %v, want ENOTFOUND", err)
	}
	if _, err := st.Get(ctx, "acme", tk.ID); err != nil {
		t.Fatalf("token gone after a foreign delete: %v", err)
	}
	if err := st.Delete(ctx, "acme", tk.ID, tokens.Deleter{}, audittest.TokenDeleted("acme", tk.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "acme", tk.ID); kindOf(err) != access.ENOTFOUND {
		t.Fatalf("get after delete: got %v, want ENOTFOUND", err)
	}
	if err := st.Delete(ctx, "acme", tk.ID, tokens.Deleter{}, audittest.TokenDeleted("acme", tk.ID)); kindOf(err) != access.ENOTFOUND {
		t.Fatalf("second delete: got %v, want ENOTFOUND", err)
	}
	if err := st.Create(ctx, token("acme", "deploy BOT", t0), access.DefaultPolicy(), audittest.TokenCreated("acme", "test")); err != nil {
		t.Fatalf("description not freed by delete: %v", err)
	}
	out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: &table, FilterExpression: aws.String("pk = :tenant"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":tenant": &types.AttributeValueMemberS{Value: "TENANT#acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 2 {
		t.Fatalf("got %d items of the tenant after delete and re-create, want 2 (token and its name)", out.Count)
	}
}

func TestExpiringTokensCarryATTLThirtyDaysAfterExpiry(t *testing.T) {
	st, client, table := newStore(t)
	ctx := context.Background()
	exp := t0.Add(24 * time.Hour)
	tk := token("acme", "short", t0)
	tk.ExpiresAt = &exp
	forever := token("acme", "forever", t0)
	for _, x := range []access.Token{tk, forever} {
		if err := st.Create(ctx, x, access.DefaultPolicy(), audittest.TokenCreated(x.Tenant, x.ID)); err != nil {
			t.Fatal(err)
		}
	}
	ttl := func(id string) *types.AttributeValueMemberN {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "TENANT#acme"}, "sk": &types.AttributeValueMemberS{Value: "TOKEN#" + id},
		}})
		if err != nil {
			t.Fatal(err)
		}
		n, _ := out.Item["ttl"].(*types.AttributeValueMemberN)
		return n
	}
	if got, want := ttl(tk.ID), fmt.Sprint(exp.Add(30*24*time.Hour).Unix()); got == nil || got.Value != want {
		t.Fatalf("got ttl %v, want %s", got, want)
	}
	if got := ttl(forever.ID); got != nil {
		t.Fatalf("got ttl %s on a token that never expires, want none", got.Value)
	}
}

func TestExpiredButUnpurgedTokenIsStillStoredAndListed(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	exp := t0.Add(-time.Hour) // expired an hour ago; TTL has not run
	tk := token("acme", "old", t0.Add(-48*time.Hour))
	tk.ExpiresAt = &exp
	if err := st.Create(ctx, tk, access.DefaultPolicy(), audittest.TokenCreated(tk.Tenant, tk.ID)); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, "acme", tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Expired(t0) {
		t.Fatalf("got expiresAt %v, want it seen as expired at %v", got.ExpiresAt, t0)
	}
	items, _, err := st.List(ctx, "acme", 10, "")
	if err != nil || len(items) != 1 || items[0].ID != tk.ID {
		t.Fatalf("got %v, %v; want the expired token listed", items, err)
	}
}

func TestAPurgeableReservationDoesNotBlockItsDescription(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	exp := t0.Add(-31 * 24 * time.Hour) // past expiry + 30 days: TTL may delete it any time
	old := token("acme", "recycled", t0.Add(-40*24*time.Hour))
	old.ExpiresAt = &exp
	if err := st.Create(ctx, old, access.DefaultPolicy(), audittest.TokenCreated(old.Tenant, old.ID)); err != nil {
		t.Fatal(err)
	}
	if err := st.Create(ctx, token("acme", "recycled", t0), access.DefaultPolicy(), audittest.TokenCreated("acme", "test")); err != nil {
		t.Fatalf("got %v, want the description free once its token is past purge time", err)
	}
	// Deleting the old token must not free the name that now belongs to the new one.
	// (DynamoDB Local's TTL may have purged the old token already: its expiry is
	// past by the real clock, which TTL reads. Either way the name stays taken.)
	if err := st.Delete(ctx, "acme", old.ID, tokens.Deleter{}, audittest.TokenDeleted("acme", old.ID)); err != nil && kindOf(err) != access.ENOTFOUND {
		t.Fatal(err)
	}
	if err := st.Create(ctx, token("acme", "recycled", t0), access.DefaultPolicy(), audittest.TokenCreated("acme", "test")); access.AsError(err).Code != "DESCRIPTION_TAKEN" {
		t.Fatalf("got %v, want DESCRIPTION_TAKEN: the name belongs to the newer token", err)
	}
}

func TestStoreDownIsAnErrorNotAnAnswer(t *testing.T) {
	cfg := awsconfig.Local("http://127.0.0.1:1")
	cfg.RetryMaxAttempts = 1
	client, err := ddb.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := dynamo.New(client, "t", time.Now)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := st.Get(ctx, "acme", uuid.NewString()); err == nil || kindOf(err) == access.ENOTFOUND {
		t.Fatalf("got %v, want a store error distinct from not found", err)
	}
	if err := st.Create(ctx, token("acme", "x", t0), access.DefaultPolicy(), audittest.TokenCreated("acme", "test")); err == nil || kindOf(err) == access.ECONFLICT {
		t.Fatalf("got %v, want a store error", err)
	}
}

func TestScopesAreStoredWithTheTokenAndAnItemFromBeforeScopesHasNone(t *testing.T) {
	st, client, table := newStore(t)
	ctx := context.Background()
	ci := token("acme", "ci", t0)
	ci.Scopes = []access.Scope{access.ScopeSandboxRefreshesRead, access.ScopeSandboxRefreshesRun}
	if err := st.Create(ctx, ci, access.DefaultPolicy(), audittest.TokenCreated(ci.Tenant, ci.ID)); err != nil {
		t.Fatal(err)
	}
	// A token item exactly as the store wrote it before tokens had scopes.
	old := token("acme", "old", t0.Add(-time.Hour))
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "TENANT#acme"}, "sk": &types.AttributeValueMemberS{Value: "TOKEN#" + old.ID},
		"id": &types.AttributeValueMemberS{Value: old.ID}, "description": &types.AttributeValueMemberS{Value: "old"},
		"user": &types.AttributeValueMemberS{Value: "ada@example.com"}, "createdAt": &types.AttributeValueMemberS{Value: old.CreatedAt.Format(time.RFC3339)},
	}}); err != nil {
		t.Fatal(err)
	}

	got, err := st.Get(ctx, "acme", ci.ID)
	if err != nil || access.FormatScopes(got.Scopes) != "sandbox-refreshes:read sandbox-refreshes:run" {
		t.Fatalf("get: got %q (%v), want the two scopes in order", got.Scopes, err)
	}
	legacy, err := st.Get(ctx, "acme", old.ID)
	if err != nil || legacy.Scopes != nil {
		t.Fatalf("get the old item: got scopes %#v (%v), want nil: a token from before scopes", legacy.Scopes, err)
	}
	page, _, err := st.List(ctx, "acme", 10, "")
	if err != nil || len(page) != 2 || page[0].ID != old.ID || page[0].Scopes != nil || access.FormatScopes(page[1].Scopes) != access.FormatScopes(ci.Scopes) {
		t.Fatalf("list: got %+v (%v), want none for the (newer) old-style token and ci's scopes", page, err)
	}
	// On disk: a list of strings, in the documented order.
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "TENANT#acme"}, "sk": &types.AttributeValueMemberS{Value: "TOKEN#" + ci.ID},
	}})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := out.Item["scopes"].(*types.AttributeValueMemberL)
	if list == nil || len(list.Value) != 2 || list.Value[0].(*types.AttributeValueMemberS).Value != "sandbox-refreshes:read" {
		t.Fatalf("got scopes attribute %#v, want a list of the two names", out.Item["scopes"])
	}
}
