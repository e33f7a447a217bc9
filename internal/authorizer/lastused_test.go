package authorizer_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// countingClient is DynamoDB Local's client, counting the writes of a use
// (UpdateItem, and the transactions of a new source IP) and those that
// wrote; failUpdates makes every one fail instead.
type countingClient struct {
	*ddb.Client
	attempts, writes atomic.Int64
	failUpdates      bool
}

var errInternal = errors.New("operation error DynamoDB: UpdateItem, https response error StatusCode: 500, InternalServerError")

func (c *countingClient) UpdateItem(ctx context.Context, in *ddb.UpdateItemInput) (*ddb.UpdateItemOutput, error) {
	c.attempts.Add(1)
	if c.failUpdates {
		return nil, errInternal
	}
	out, err := c.Client.UpdateItem(ctx, in)
	if err == nil {
		c.writes.Add(1)
	}
	return out, err
}

func (c *countingClient) TransactWriteItems(ctx context.Context, in *ddb.TransactWriteItemsInput) (*ddb.TransactWriteItemsOutput, error) {
	c.attempts.Add(1)
	if c.failUpdates {
		return nil, errInternal
	}
	out, err := c.Client.TransactWriteItems(ctx, in)
	if err == nil {
		c.writes.Add(1)
	}
	return out, err
}

// deferred collects the work the authorizer hands to AfterResponse, as the
// Lambda extension does, so a test runs it when it chooses.
type deferred struct {
	mu    sync.Mutex
	works []func(context.Context)
}

func (d *deferred) after(work func(context.Context)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.works = append(d.works, work)
}

// runAll runs every collected work at once, each in its own goroutine (the
// environments of a busy function write concurrently), and waits for them.
func (d *deferred) runAll() int {
	d.mu.Lock()
	works := d.works
	d.works = nil
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range works {
		wg.Go(func() { w(context.Background()) })
	}
	wg.Wait()
	return len(works)
}

// useStack is an authorizer on DynamoDB Local, with a controllable clock,
// one stored API token and the bearer of it.
type useStack struct {
	auth   *authorizer.Authorizer
	store  *dynamo.Store
	client *countingClient
	clock  *testenv.Clock
	after  *deferred
	log    *bytes.Buffer
	token  access.Token
	header string
}

func newUseStack(t *testing.T) *useStack {
	t.Helper()
	storeClient, table := testenv.Table(t)
	client := &countingClient{Client: storeClient}
	clock := testenv.NewClock(t0)
	store := dynamo.New(client, table, clock.Now)
	k := newKeys(t)
	tk := access.Token{ID: uuid.Must(uuid.NewV7()).String(), Tenant: "acme", Description: "ci", AssociatedUser: "ada@example.com", CreatedAt: t0.Add(-time.Hour)}
	if err := store.Create(context.Background(), tk, access.DefaultPolicy(), audittest.TokenCreated(tk.Tenant, tk.ID)); err != nil {
		t.Fatal(err)
	}
	raw, err := apitoken.Minter{Issuer: tokenIssuer, Signer: k.api}.Mint(context.Background(), apitoken.Grant{ID: tk.ID, User: tk.AssociatedUser, Tenant: tk.Tenant, IssuedAt: tk.CreatedAt})
	if err != nil {
		t.Fatal(err)
	}
	client.attempts.Store(0) // the count is of the writes of use, not of the token's creation
	client.writes.Store(0)
	s := &useStack{store: store, client: client, clock: clock, after: &deferred{}, log: &bytes.Buffer{}, token: tk, header: "Bearer " + raw}
	s.auth = &authorizer.Authorizer{
		TokenIssuer: tokenIssuer,
		APITokens:   apitoken.NewVerifier(tokenIssuer, map[string]*ecdsa.PublicKey{k.api.KeyID(): k.api.Public()}, clock.Now),
		Store:       store, Uses: store, AfterResponse: s.after.after,
		Now: clock.Now, Log: slog.New(slog.NewTextHandler(s.log, nil)),
	}
	return s
}

// decide is one REQUEST authorizer call for the token from sourceIP.
func (s *useStack) decide(sourceIP string) (events.APIGatewayCustomAuthorizerResponse, error) {
	req := request(s.header)
	req.RequestContext.Identity.SourceIP = sourceIP
	req.RequestContext.RequestID = "req-" + sourceIP
	req.Headers["User-Agent"] = "ci-runner/1.0"
	return s.auth.Handle(context.Background(), req)
}

// newIPEvents are the tenant's audit events of a first use from a new IP,
// newest first.
func (s *useStack) newIPEvents(t *testing.T) []audit.Event {
	t.Helper()
	page, err := s.store.ListAuditEvents(context.Background(), s.token.Tenant, audit.Query{Action: audit.TokenUsedFromNewIP, Limit: audit.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func (s *useStack) stored(t *testing.T) access.Token {
	t.Helper()
	got, err := s.store.Get(context.Background(), s.token.Tenant, s.token.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func wantAllowed(t *testing.T, resp events.APIGatewayCustomAuthorizerResponse, err error, tokenID string) {
	t.Helper()
	if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" || resp.Context["tokenId"] != tokenID {
		t.Fatalf("got (%+v, %v), want an allow for token %s", resp, err, tokenID)
	}
}

func TestLastUseIsWrittenAtMostOncePerIntervalUnderConcurrentDecisions(t *testing.T) {
	s := newUseStack(t)
	const decisions = 40
	// decideAll makes all the decisions at once, and then runs the writes
	// they handed over at once: every decision read the same record.
	decideAll := func(t *testing.T, ip string) (attempts int) {
		t.Helper()
		var wg sync.WaitGroup
		for range decisions {
			wg.Go(func() {
				resp, err := s.decide(ip)
				wantAllowed(t, resp, err, s.token.ID)
			})
		}
		wg.Wait()
		return s.after.runAll()
	}

	if got := s.stored(t); got.LastUsedAt != nil || got.LastUsedIP != "" {
		t.Fatalf("a new token: got last use %v from %q, want none", got.LastUsedAt, got.LastUsedIP)
	}
	// The token's first use: from a new IP, each decision tries, one writes.
	if attempts := decideAll(t, "203.0.113.7"); attempts != decisions || s.client.attempts.Load() != decisions {
		t.Fatalf("first window: %d writes handed over, %d tried; want %d of each (each decision read no record)", attempts, s.client.attempts.Load(), decisions)
	}
	if w := s.client.writes.Load(); w != 1 {
		t.Fatalf("first window: got %d writes, want exactly 1", w)
	}
	got := s.stored(t)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0) || got.LastUsedIP != "203.0.113.7" || !got.UsedFrom("203.0.113.7") {
		t.Fatalf("got last use %v from %q (recent %v), want %v from 203.0.113.7", got.LastUsedAt, got.LastUsedIP, got.RecentIPs, t0)
	}
	if evs := s.newIPEvents(t); len(evs) != 1 {
		t.Fatalf("got %d first-use events, want 1 for the 40 concurrent first uses", len(evs))
	}

	// Within the interval, from the same address, the decisions' reads see
	// the record: nothing is even tried.
	s.clock.Add(authorizer.UseRecordInterval - time.Millisecond)
	if attempts := decideAll(t, "203.0.113.7"); attempts != 0 {
		t.Fatalf("a millisecond before the interval ends: %d writes handed over, want none", attempts)
	}
	if a, w := s.client.attempts.Load(), s.client.writes.Load(); a != decisions || w != 1 {
		t.Fatalf("a millisecond before the interval ends: %d tried and %d written in all, want %d and 1", a, w, decisions)
	}

	// Once it has passed, exactly one of the concurrent writes goes through,
	// and a known address is no new event.
	s.clock.Add(time.Millisecond)
	if attempts := decideAll(t, "203.0.113.7"); attempts != decisions {
		t.Fatalf("second window: %d writes handed over, want %d", attempts, decisions)
	}
	if w := s.client.writes.Load(); w != 2 {
		t.Fatalf("second window: got %d writes in all, want 2", w)
	}
	want := t0.Add(authorizer.UseRecordInterval)
	if got := s.stored(t); got.LastUsedAt == nil || !got.LastUsedAt.Equal(want) || got.LastUsedIP != "203.0.113.7" || !got.RecentIPs["203.0.113.7"].Equal(want) {
		t.Fatalf("got last use %v from %q (recent %v), want %v from 203.0.113.7, seen then", got.LastUsedAt, got.LastUsedIP, got.RecentIPs, want)
	}
	if evs := s.newIPEvents(t); len(evs) != 1 {
		t.Fatalf("got %d first-use events, want still 1", len(evs))
	}
}

func TestAFirstUseFromANewIPIsRecordedWithinTheIntervalOnce(t *testing.T) {
	s := newUseStack(t)
	resp, err := s.decide("203.0.113.7")
	wantAllowed(t, resp, err, s.token.ID)
	s.after.runAll()
	s.clock.Add(time.Minute) // well within the interval
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			resp, err := s.decide("2001:0db8::0001")
			wantAllowed(t, resp, err, s.token.ID)
		})
	}
	wg.Wait()
	if n := s.after.runAll(); n != 20 {
		t.Fatalf("got %d writes handed over, want 20: a new address is due whatever the interval", n)
	}
	got := s.stored(t)
	if got.LastUsedIP != "2001:db8::1" || !got.LastUsedAt.Equal(t0.Add(time.Minute)) || !got.UsedFrom("203.0.113.7") || !got.UsedFrom("2001:db8::1") {
		t.Fatalf("got last use %v from %q, recent %v; want the new address (canonical) at once, the old one kept", got.LastUsedAt, got.LastUsedIP, got.RecentIPs)
	}
	evs := s.newIPEvents(t)
	if len(evs) != 2 {
		t.Fatalf("got %d first-use events, want 2 (one per address, not one per request): %+v", len(evs), evs)
	}
	ev := evs[0]
	want := audit.Event{ID: ev.ID, Time: t0.Add(time.Minute), Tenant: "acme", Action: audit.TokenUsedFromNewIP,
		Actor:  audit.Actor{Type: audit.ActorAPIToken, User: s.token.AssociatedUser, TokenID: s.token.ID},
		Target: audit.Target{Type: audit.TargetToken, ID: s.token.ID}, SourceIP: "2001:db8::1", UserAgent: "ci-runner/1.0", RequestID: "req-2001:0db8::0001"}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("got event %+v, want %+v", ev, want)
	}
	// The address is known now: within the interval, nothing more is due.
	if _, err := s.decide("2001:db8::1"); err != nil {
		t.Fatal(err)
	}
	if n := s.after.runAll(); n != 0 {
		t.Fatalf("a known address within the interval: %d writes handed over, want none", n)
	}
}

func TestAFailedLastUseWriteLeavesTheAllow(t *testing.T) {
	s := newUseStack(t)
	s.client.failUpdates = true
	want, err := s.decide("203.0.113.7")
	wantAllowed(t, want, err, s.token.ID)
	if n := s.after.runAll(); n != 1 || s.client.attempts.Load() != 1 {
		t.Fatalf("got %d writes handed over and %d tried, want 1 and 1", n, s.client.attempts.Load())
	}
	if got := s.stored(t); got.LastUsedAt != nil {
		t.Fatalf("got last use %v, want none recorded", got.LastUsedAt)
	}
	assertNoTokenInLog(t, s.log.String(), s.header, `msg="recording the token's use failed; the decision stands"`)
	if !strings.Contains(s.log.String(), "tokenId="+s.token.ID) {
		t.Errorf("got log %q, want the token's id in it", s.log.String())
	}
	// The next decision is the same allow, and tries again.
	again, err := s.decide("203.0.113.7")
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Fatalf("got (%+v, %v), want the same allow %+v", again, err, want)
	}
	if n := s.after.runAll(); n != 1 {
		t.Fatalf("got %d writes handed over after a failed one, want 1", n)
	}
}

func TestTheLastUseWriteNeverRecreatesADeletedToken(t *testing.T) {
	s := newUseStack(t)
	resp, err := s.decide("203.0.113.7")
	wantAllowed(t, resp, err, s.token.ID)
	// The token is deleted after the decision read it, before the write runs.
	if err := s.store.Delete(context.Background(), s.token.Tenant, s.token.ID, tokens.Deleter{}, audittest.TokenDeleted(s.token.Tenant, s.token.ID)); err != nil {
		t.Fatal(err)
	}
	s.client.attempts.Store(0)
	if n := s.after.runAll(); n != 1 || s.client.attempts.Load() != 1 {
		t.Fatalf("got %d writes handed over and %d tried, want 1 and 1", n, s.client.attempts.Load())
	}
	if _, err := s.store.Get(context.Background(), s.token.Tenant, s.token.ID); access.ErrorKind(err) != access.ENOTFOUND {
		t.Fatalf("after the write: got %v, want the token still gone (ENOTFOUND)", err)
	}
	if evs := s.newIPEvents(t); len(evs) != 0 {
		t.Fatalf("got %+v, want no first-use event for a token deleted before its write", evs)
	}
	if resp, err := s.decide("203.0.113.7"); err == nil || err.Error() != "Unauthorized" {
		t.Fatalf("got (%+v, %v), want Unauthorized", resp, err)
	}
	if !strings.Contains(s.log.String(), `msg="request denied"`) || strings.Contains(s.log.String(), "use failed") {
		t.Errorf("got log %q, want the denial and no failed write (a kept condition is no failure)", s.log.String())
	}
}

func TestADenialRecordsNoUse(t *testing.T) {
	s := newUseStack(t)
	if _, err := s.auth.Handle(context.Background(), request(s.header+"x")); err == nil {
		t.Fatal("a tampered bearer was allowed")
	}
	if n := s.after.runAll(); n != 0 {
		t.Fatalf("a denial handed over %d writes, want none", n)
	}
	// The positive control: the same bearer untampered hands one over.
	if _, err := s.decide("203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	if n := s.after.runAll(); n != 1 {
		t.Fatalf("an allow handed over %d writes, want 1", n)
	}
}
