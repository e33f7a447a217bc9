package tokens_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// leakStore holds tokens by id; Revoke takes one out, as DynamoDB's store
// does, and keeps its audit event.
type leakStore struct {
	mu      sync.Mutex
	tokens  map[string]access.Token
	revokes []string // every call, by id
	events  []audit.Event
	fail    error
}

func (s *leakStore) Revoke(_ context.Context, tenant, id string, ev audit.Event) (access.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokes = append(s.revokes, tenant+"/"+id)
	s.events = append(s.events, ev)
	if s.fail != nil {
		return access.Token{}, s.fail
	}
	t, ok := s.tokens[id]
	if !ok || t.Tenant != tenant {
		return access.Token{}, access.Errorf(access.ENOTFOUND, "NOT_FOUND", "no such token")
	}
	delete(s.tokens, id)
	return t, nil
}

type published struct {
	detailType string
	detail     any
}

type leakBus struct {
	mu     sync.Mutex
	events []published
	fail   error
}

func (b *leakBus) Publish(_ context.Context, detailType string, detail any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.events = append(b.events, published{detailType, detail})
	return nil
}

// leakFixture is a Leaks on fakes with a controllable clock, the waits it
// asked for, and a valid token of each of two tenants.
type leakFixture struct {
	leaks  *tokens.Leaks
	store  *leakStore
	bus    *leakBus
	clock  *testenv.Clock
	waits  []time.Duration
	log    *bytes.Buffer
	valid  map[string]string // token by id
	minter apitoken.Minter
}

func newLeakFixture(t *testing.T) *leakFixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := apitoken.NewKeySigner(key)
	if err != nil {
		t.Fatal(err)
	}
	const issuer = "dcs-access:test"
	f := &leakFixture{
		store: &leakStore{tokens: map[string]access.Token{}}, bus: &leakBus{}, clock: testenv.NewClock(now),
		log: &bytes.Buffer{}, valid: map[string]string{}, minter: apitoken.Minter{Issuer: issuer, Signer: signer},
	}
	f.leaks = &tokens.Leaks{
		Verifier: apitoken.NewVerifier(issuer, map[string]*ecdsa.PublicKey{signer.KeyID(): signer.Public()}, f.clock.Now),
		Store:    f.store, Bus: f.bus, Now: f.clock.Now, Floor: tokens.LeakAnswerFloor, PerToken: tokens.LeakAnswerPerToken,
		Wait: func(_ context.Context, d time.Duration) { f.waits = append(f.waits, d) },
		Log:  slog.New(slog.NewTextHandler(f.log, nil)),
	}
	for _, tk := range []access.Token{
		{ID: "tok-a", Tenant: "acme", Description: "laptop", AssociatedUser: "ada@example.com"},
		{ID: "tok-b", Tenant: "globex", Description: "ci", AssociatedUser: "grace@example.com"},
	} {
		f.store.tokens[tk.ID] = tk
		f.valid[tk.ID] = f.mint(t, tk)
	}
	return f
}

func (f *leakFixture) mint(t *testing.T, tk access.Token) string {
	t.Helper()
	raw, err := f.minter.Mint(context.Background(), apitoken.Grant{ID: tk.ID, User: tk.AssociatedUser, Tenant: tk.Tenant, IssuedAt: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestLeaksRevokesEachValidTokenOnceAndAnnouncesIt(t *testing.T) {
	f := newLeakFixture(t)
	a, b := f.valid["tok-a"], f.valid["tok-b"]
	err := f.leaks.Revoke(context.Background(), []string{"junk", a, b + "x", a, b, "", strings.ToUpper(a)})
	if err != nil {
		t.Fatalf("got %v, want none", err)
	}
	slices.Sort(f.store.revokes)
	if want := []string{"acme/tok-a", "globex/tok-b"}; !slices.Equal(f.store.revokes, want) {
		t.Fatalf("got revokes %q, want %q: each valid token once, nothing for the others", f.store.revokes, want)
	}
	got := map[string]tokens.RevokedAsLeaked{}
	for _, e := range f.bus.events {
		if e.detailType != "API Token Revoked As Leaked" {
			t.Errorf("got detail-type %q", e.detailType)
		}
		d := e.detail.(tokens.RevokedAsLeaked)
		got[d.TokenID] = d
	}
	want := map[string]tokens.RevokedAsLeaked{
		"tok-a": {TokenID: "tok-a", Tenant: "acme", Description: "laptop", User: "ada@example.com"},
		"tok-b": {TokenID: "tok-b", Tenant: "globex", Description: "ci", User: "grace@example.com"},
	}
	if len(f.bus.events) != 2 || got["tok-a"] != want["tok-a"] || got["tok-b"] != want["tok-b"] {
		t.Fatalf("got events %+v, want one each: %+v", f.bus.events, want)
	}
}

func TestLeaksAnswersNoSoonerThanTheFloorWhateverTheTokens(t *testing.T) {
	one := tokens.LeakAnswerFloor + tokens.LeakAnswerPerToken
	hundred := tokens.LeakAnswerFloor + 100*tokens.LeakAnswerPerToken
	for name, tc := range map[string]struct {
		report func(f *leakFixture) []string
		floor  time.Duration
	}{
		"a valid token":          {func(f *leakFixture) []string { return []string{f.valid["tok-a"]} }, one},
		"an invalid token":       {func(*leakFixture) []string { return []string{"junk"} }, one},
		"an already revoked one": {func(f *leakFixture) []string { delete(f.store.tokens, "tok-a"); return []string{f.valid["tok-a"]} }, one},
		"a hundred valid tokens": {func(f *leakFixture) []string { return slices.Repeat([]string{f.valid["tok-a"], f.valid["tok-b"]}, 50) }, hundred},
		"a hundred invalid ones": {func(*leakFixture) []string { return slices.Repeat([]string{"junk"}, 100) }, hundred},
		"a store that is failing": {func(f *leakFixture) []string {
			f.store.fail = access.Unavailable(errors.New("down"))
			return []string{f.valid["tok-a"]}
		}, one},
	} {
		t.Run(name, func(t *testing.T) {
			f := newLeakFixture(t)
			_ = f.leaks.Revoke(context.Background(), tc.report(f))
			if !slices.Equal(f.waits, []time.Duration{tc.floor}) {
				t.Fatalf("got waits %v, want one of the whole floor for this many tokens, %v", f.waits, tc.floor)
			}
		})
	}
	t.Run("time already spent counts towards the floor", func(t *testing.T) {
		f := newLeakFixture(t)
		f.leaks.Verifier = slowVerifier{f.leaks.Verifier, f.clock, 300 * time.Millisecond}
		_ = f.leaks.Revoke(context.Background(), []string{"junk"})
		if !slices.Equal(f.waits, []time.Duration{one - 300*time.Millisecond}) {
			t.Fatalf("got waits %v, want the rest of the floor", f.waits)
		}
	})
}

// slowVerifier moves the clock on by each verification's cost.
type slowVerifier struct {
	tokens.TokenVerifier
	clock *testenv.Clock
	cost  time.Duration
}

func (v slowVerifier) Verify(raw string) (*apitoken.Claims, error) {
	v.clock.Add(v.cost)
	return v.TokenVerifier.Verify(raw)
}

func TestALeakReportOfNoTokenOrTooManyIsInvalidAndTouchesNothing(t *testing.T) {
	f := newLeakFixture(t)
	for _, report := range [][]string{nil, {}, slices.Repeat([]string{f.valid["tok-a"]}, tokens.MaxLeakReport+1)} {
		err := f.leaks.Revoke(context.Background(), report)
		if e := access.AsError(err); e.Kind != access.EINVALID || e.Code != "INVALID_TOKENS" {
			t.Errorf("%d tokens: got %v, want EINVALID INVALID_TOKENS", len(report), err)
		}
	}
	if len(f.store.revokes) != 0 || len(f.bus.events) != 0 {
		t.Fatalf("got revokes %v and events %v, want none", f.store.revokes, f.bus.events)
	}
	if err := f.leaks.Revoke(context.Background(), slices.Repeat([]string{f.valid["tok-a"]}, tokens.MaxLeakReport)); err != nil {
		t.Fatalf("exactly %d tokens: got %v, want them taken", tokens.MaxLeakReport, err)
	}
}

func TestAFailingStoreIsAnErrorToRetryAndAFailedEventIsLogged(t *testing.T) {
	f := newLeakFixture(t)
	f.store.fail = access.Unavailable(errors.New("dial tcp: connection refused"))
	if err := f.leaks.Revoke(context.Background(), []string{f.valid["tok-a"]}); access.ErrorKind(err) != access.EUNAVAILABLE {
		t.Fatalf("got %v, want EUNAVAILABLE: a revocation that did not happen must not be answered as taken", err)
	}
	if len(f.bus.events) != 0 {
		t.Fatalf("got events %v for a token not revoked", f.bus.events)
	}

	f = newLeakFixture(t)
	f.bus.fail = errors.New("PutEvents: throttled")
	if err := f.leaks.Revoke(context.Background(), []string{f.valid["tok-a"]}); err != nil {
		t.Fatalf("got %v, want none: the token is revoked", err)
	}
	if _, still := f.store.tokens["tok-a"]; still {
		t.Fatal("the token was not revoked")
	}
	log := f.log.String()
	if !strings.Contains(log, "its event was not published") || !strings.Contains(log, "tokenId=tok-a") {
		t.Fatalf("got log %q, want the lost event logged with the token's id", log)
	}
	if strings.Contains(log, f.valid["tok-a"][strings.LastIndexByte(f.valid["tok-a"], '.')+1:]) {
		t.Fatal("the log holds the token")
	}
}
