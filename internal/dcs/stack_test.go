package dcs_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/dcs/dcssim"
	"github.com/dcs-access/dcs-access/internal/session"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// The issuers of this test stack, wired as internal/localserver wires the
// local one.
const (
	tokenIssuer     = "dcs-access:test"
	sessionIssuer   = "https://sessions.dcs-access.test"
	sessionAudience = "dcs-access-test"
)

// t0 is the clock of the authorizer, its verifiers and the simulator.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return t0 }

var (
	_ authorizer.TokenStore = (*memStore)(nil)
	_ dcssim.Authenticator  = (*authorizer.Authorizer)(nil)
)

// memStore is an in-memory authorizer.TokenStore: the DynamoDB store's
// contract (ENOTFOUND for a deleted token) without DynamoDB.
type memStore struct {
	mu     sync.Mutex
	tokens map[[2]string]access.Token
	err    error // when set, every Get fails with it
}

func (s *memStore) Get(_ context.Context, tenant, id string) (access.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return access.Token{}, s.err
	}
	t, ok := s.tokens[[2]string{tenant, id}]
	if !ok {
		return access.Token{}, access.Errorf(access.ENOTFOUND, "NOT_FOUND", "No token with this id.")
	}
	return t, nil
}

func (s *memStore) put(t access.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[[2]string{t.Tenant, t.ID}] = t
}

func (s *memStore) remove(tenant, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, [2]string{tenant, id})
}

func (s *memStore) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// stack is the simulator behind a real authorizer on a loopback server.
type stack struct {
	sim      *dcssim.Sim
	url      string
	store    *memStore
	minter   apitoken.Minter
	sessions *session.LocalIssuer
	log      *testenv.Buffer
	secrets  []string // every bearer handed out: none may reach an error or the log
}

// newStack serves a simulator with opts (Auth is filled in) under prefix.
func newStack(t *testing.T, prefix string, opts dcssim.Options) *stack {
	t.Helper()
	signer, err := apitoken.NewKeySigner(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{
		store:    &memStore{tokens: map[[2]string]access.Token{}},
		minter:   apitoken.Minter{Issuer: tokenIssuer, Signer: signer},
		sessions: &session.LocalIssuer{Issuer: sessionIssuer, Audience: sessionAudience, Key: newKey(t), Now: clock},
		log:      &testenv.Buffer{},
	}
	opts.Auth = &authorizer.Authorizer{
		TokenIssuer: tokenIssuer,
		APITokens:   apitoken.NewVerifier(tokenIssuer, map[string]*ecdsa.PublicKey{signer.KeyID(): signer.Public()}, clock),
		Sessions:    session.NewVerifier(session.Config{Issuer: sessionIssuer, Audience: sessionAudience}, s.sessions.KeySet(), clock),
		Store:       s.store,
		Now:         clock,
		Log:         slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if opts.Now == nil {
		opts.Now = clock
	}
	s.sim = dcssim.New(opts)
	var h http.Handler = s.sim
	if prefix != "" {
		mux := http.NewServeMux()
		mux.Handle(prefix+"/", http.StripPrefix(prefix, s.sim))
		h = mux
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.url = srv.URL + prefix
	t.Cleanup(func() {
		for _, secret := range s.secrets {
			if strings.Contains(s.log.String(), secret) {
				t.Errorf("the authorizer log holds a bearer token")
			}
		}
	})
	return s
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// grant describes an API token to mint and store.
type grant struct {
	id, user, tenant string
	expiresAt        *time.Time     // of both the claim and the record
	scopes           []access.Scope // of both; none: a token from before scopes
}

// apiToken mints g's token and stores its record, as create-token does.
func (s *stack) apiToken(t *testing.T, g grant) string {
	t.Helper()
	claim := apitoken.Grant{ID: g.id, User: g.user, Tenant: g.tenant, IssuedAt: t0.Add(-time.Hour), ExpiresAt: g.expiresAt}
	for _, sc := range g.scopes {
		claim.Scopes = append(claim.Scopes, string(sc))
	}
	raw, err := s.minter.Mint(context.Background(), claim)
	if err != nil {
		t.Fatal(err)
	}
	s.store.put(access.Token{
		ID: g.id, Tenant: g.tenant, Description: "masking " + g.id, AssociatedUser: g.user,
		CreatedAt: t0.Add(-time.Hour), ExpiresAt: g.expiresAt, Scopes: g.scopes,
	})
	s.secrets = append(s.secrets, raw)
	return raw
}

// adaToken is a valid, unexpiring API token of ada in tenant acme, with the
// one scope the pipeline's token has.
func (s *stack) adaToken(t *testing.T) string {
	t.Helper()
	return s.apiToken(t, grant{id: "tok-ada", user: "ada@example.com", tenant: "acme", scopes: []access.Scope{access.ScopeComplianceJobsRun}})
}

// session signs in a person: valid for the authorizer, but not an API token.
func (s *stack) session(t *testing.T, email, tenant string) string {
	t.Helper()
	raw, err := s.sessions.Issue(email, tenant, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s.secrets = append(s.secrets, raw)
	return raw
}

// client is a DCS client of the stack with token; edit adjusts its config.
func (s *stack) client(t *testing.T, token string, edit func(*dcs.Config)) *dcs.Client {
	t.Helper()
	cfg := dcs.Config{BaseURL: s.url, Token: token}
	if edit != nil {
		edit(&cfg)
	}
	c, err := dcs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runToEnd starts jobID and polls until the execution is done, returning
// every status seen, the start's first.
func runToEnd(t *testing.T, c *dcs.Client, jobID string) []dcs.Status {
	t.Helper()
	ctx := context.Background()
	e, err := c.StartExecution(ctx, jobID)
	if err != nil {
		t.Fatalf("StartExecution(%q): %v", jobID, err)
	}
	seen := []dcs.Status{e.Status}
	for range 10 {
		if e.Status.Done() {
			return seen
		}
		id := e.ID
		if e, err = c.Execution(ctx, id); err != nil {
			t.Fatalf("Execution(%q): %v", id, err)
		}
		seen = append(seen, e.Status)
	}
	t.Fatalf("execution still not done after 10 polls: %v", seen)
	return nil
}

// apiError returns err's *dcs.APIError, failing the test when there is none.
func apiError(t *testing.T, err error) *dcs.APIError {
	t.Helper()
	var e *dcs.APIError
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want a *dcs.APIError", err, err)
	}
	return e
}

// assertNoSecret fails when err's text holds any bearer of s.
func (s *stack) assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, secret := range s.secrets {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q holds a bearer token", err)
		}
	}
}
