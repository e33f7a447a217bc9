package session_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/session"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

const (
	issuer   = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example"
	audience = "app-client-id"
)

// t0 is the verifier's clock in every test.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return t0 }

// signingKey is an issuer key and the kid it is published under.
type signingKey struct {
	kid string
	key *ecdsa.PrivateKey
}

func newSigningKey(t *testing.T, kid string) signingKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, key: key}
}

// jwk is the public half in the JWK form Cognito publishes.
func (k signingKey) jwk(t *testing.T) map[string]string {
	t.Helper()
	pub, err := k.key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	point := pub.Bytes() // 0x04 || X || Y
	enc := base64.RawURLEncoding.EncodeToString
	return map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": k.kid, "x": enc(point[1:33]), "y": enc(point[33:])}
}

// jwksServer is an issuer's JWKS endpoint on loopback whose key set a test
// can rotate, and that counts how often it is fetched.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	status  int
	fetches int
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	s := &jwksServer{status: http.StatusOK, body: []byte(`{"keys":[]}`)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fetches++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		_, _ = w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(t *testing.T, keys ...signingKey) {
	t.Helper()
	set := struct {
		Keys []map[string]string `json:"keys"`
	}{Keys: []map[string]string{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk(t))
	}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status = body, http.StatusOK
}

func (s *jwksServer) fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, []byte("unavailable")
}

func (s *jwksServer) fetchCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// settled waits until go-oidc has no JWKS fetch in flight. Its RemoteKeySet
// answers the callers of a fetch before it stores the keys and forgets the
// fetch (jwks.go, keysFromRemote), so a verification that starts at once can
// read the cache from before or join the finished fetch, and see the old key
// set: tests that count fetches step by step wait for it between steps.
func settled(t *testing.T) {
	t.Helper()
	fetching := []byte("(*RemoteKeySet).keysFromRemote.func")
	stacks := make([]byte, 1<<20)
	if !testenv.Eventually(5*time.Second, func() bool {
		return !bytes.Contains(stacks[:runtime.Stack(stacks, true)], fetching)
	}) {
		t.Fatal("go-oidc's JWKS fetch did not finish within 5 s")
	}
}

// remoteVerifier verifies against the server's JWKS the way the authorizer
// does in AWS.
func remoteVerifier(s *jwksServer, cfg session.Config) *session.Verifier {
	return session.NewVerifier(cfg, session.RemoteKeys(s.URL), clock)
}

func defaultConfig() session.Config { return session.Config{Issuer: issuer, Audience: audience} }

func claims(overrides map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": issuer, "aud": audience, "sub": "7c9e6679", "email": "grace@example.com",
		"custom:tenant": "globex", "iat": t0.Add(-time.Minute).Unix(), "exp": t0.Add(time.Hour).Unix(),
		"token_use": "id",
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func sign(t *testing.T, k signingKey, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"] = k.kid
	raw, err := tok.SignedString(k.key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

var grace = access.Principal{User: "grace@example.com", Tenant: "globex", AuthType: access.AuthSession}

func TestSessionsVerifyAcrossKeyRotation(t *testing.T) {
	a, b, c := newSigningKey(t, "key-a"), newSigningKey(t, "key-b"), newSigningKey(t, "key-c")
	srv := newJWKSServer(t)
	v := remoteVerifier(srv, defaultConfig())

	// The steps share one verifier and run in order: each starts from the
	// cache the previous one left.
	steps := []struct {
		name        string
		serve       []signingKey
		signer      signingKey
		ok          bool
		wantFetches int
	}{
		{name: "a session signed by key A verifies after the first fetch", serve: []signingKey{a}, signer: a, ok: true, wantFetches: 1},
		{name: "a second session signed by key A is verified from the cache", serve: []signingKey{a}, signer: a, ok: true, wantFetches: 1},
		{name: "a session signed by key B makes the verifier refetch and find B", serve: []signingKey{a, b}, signer: b, ok: true, wantFetches: 2},
		{name: "a session signed by key A still verifies while both are served", serve: []signingKey{a, b}, signer: a, ok: true, wantFetches: 2},
		{name: "a session signed by key B verifies from the cache once only B is served", serve: []signingKey{b}, signer: b, ok: true, wantFetches: 2},
		{name: "a session signed by an unpublished key C is refused after a refetch", serve: []signingKey{b}, signer: c, ok: false, wantFetches: 3},
		{name: "a session signed by the retired key A is refused once the set was refetched", serve: []signingKey{b}, signer: a, ok: false, wantFetches: 4},
		{name: "a session signed by key C verifies once C is published", serve: []signingKey{b, c}, signer: c, ok: true, wantFetches: 5},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			settled(t)
			srv.serve(t, s.serve...)
			p, err := v.Verify(context.Background(), sign(t, s.signer, claims(nil)))
			if got := err == nil; got != s.ok {
				t.Errorf("got accepted %v (error %v), want %v", got, err, s.ok)
			}
			if s.ok && !reflect.DeepEqual(p, grace) {
				t.Errorf("got principal %+v, want %+v", p, grace)
			}
			if got := srv.fetchCount(); got != s.wantFetches {
				t.Errorf("got %d JWKS fetches, want %d", got, s.wantFetches)
			}
		})
	}
}

func TestRotatingStraightToANewKeyNeedsNoRestart(t *testing.T) {
	a, b := newSigningKey(t, "key-a"), newSigningKey(t, "key-b")
	srv := newJWKSServer(t)
	srv.serve(t, a)
	v := remoteVerifier(srv, defaultConfig())
	if _, err := v.Verify(context.Background(), sign(t, a, claims(nil))); err != nil {
		t.Fatalf("key A: got error %v, want none", err)
	}
	settled(t)
	srv.serve(t, b)
	p, err := v.Verify(context.Background(), sign(t, b, claims(nil)))
	if err != nil || !reflect.DeepEqual(p, grace) {
		t.Fatalf("key B: got (%+v, %v), want (%+v, nil)", p, err, grace)
	}
}

func publicPEM(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestSessionVerifierRejects(t *testing.T) {
	a := newSigningKey(t, "key-a")
	impostor := newSigningKey(t, "key-a") // another key under the published kid
	srv := newJWKSServer(t)
	srv.serve(t, a)
	v := remoteVerifier(srv, defaultConfig())
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forge := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = a.kid
		raw, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	valid := sign(t, a, claims(nil))

	tests := []struct {
		name string
		raw  string
	}{
		{name: "a session for another audience", raw: sign(t, a, claims(map[string]any{"aud": "another-app"}))},
		{name: "a session with no audience", raw: sign(t, a, claims(map[string]any{"aud": nil}))},
		{name: "a session from another issuer", raw: sign(t, a, claims(map[string]any{"iss": "https://evil.example.com"}))},
		{name: "a session with no issuer", raw: sign(t, a, claims(map[string]any{"iss": nil}))},
		{name: "a session that expired a second ago", raw: sign(t, a, claims(map[string]any{"exp": t0.Add(-time.Second).Unix()}))},
		{name: "a session with no exp", raw: sign(t, a, claims(map[string]any{"exp": nil}))},
		{name: "a session not valid until tomorrow", raw: sign(t, a, claims(map[string]any{"nbf": t0.Add(24 * time.Hour).Unix()}))},
		{name: "a session with no email claim", raw: sign(t, a, claims(map[string]any{"email": nil}))},
		{name: "a session with an empty email claim", raw: sign(t, a, claims(map[string]any{"email": ""}))},
		{name: "a session whose email is not a string", raw: sign(t, a, claims(map[string]any{"email": []string{"grace@example.com"}}))},
		{name: "a session with no tenant claim", raw: sign(t, a, claims(map[string]any{"custom:tenant": nil}))},
		{name: "a session whose tenant is a number", raw: sign(t, a, claims(map[string]any{"custom:tenant": 42}))},
		{name: "a session that carries the API token type claim", raw: sign(t, a, claims(map[string]any{apitoken.TypeClaim: apitoken.TypeValue}))},
		{name: "a session that carries the API token type claim with another value", raw: sign(t, a, claims(map[string]any{apitoken.TypeClaim: "session"}))},
		{name: "a session with alg none", raw: forge(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil))},
		{name: "a session signed HS256 with the published public key", raw: forge(jwt.SigningMethodHS256, publicPEM(t, a.key), claims(nil))},
		{name: "a session signed ES384", raw: forge(jwt.SigningMethodES384, mustP384(t), claims(nil))},
		{name: "a session signed RS256 by a key that is not published", raw: forge(jwt.SigningMethodRS256, rsaKey, claims(nil))},
		{name: "a session signed by another key under the published kid", raw: sign(t, impostor, claims(nil))},
		{name: "a session with a flipped signature byte", raw: valid[:len(valid)-10] + flip(valid[len(valid)-10]) + valid[len(valid)-9:]},
		{name: "a session signed by the local issuer's key", raw: issueLocal(t, newSigningKey(t, "").key, issuer)},
		{name: "an API token", raw: mintAPIToken(t)},
		{name: "an empty string", raw: ""},
		{name: "a string that is not a JWS", raw: "not.a.jws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.raw)
			if !errors.Is(err, session.ErrInvalid) || !reflect.DeepEqual(p, access.Principal{}) {
				t.Errorf("got (%+v, %v), want (zero principal, an error wrapping ErrInvalid)", p, err)
			}
		})
	}
}

func mustP384(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// flip changes one base64url character to another valid one.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func issueLocal(t *testing.T, key *ecdsa.PrivateKey, iss string) string {
	t.Helper()
	l := &session.LocalIssuer{Issuer: iss, Audience: audience, Key: key, Now: clock}
	raw, err := l.Issue("grace@example.com", "globex", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mintAPIToken(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := apitoken.NewKeySigner(key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := apitoken.Minter{Issuer: issuer, Signer: signer}.Mint(context.Background(), apitoken.Grant{
		ID: "tok-1", User: "grace@example.com", Tenant: "globex", IssuedAt: t0.Add(-time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestAnAPITokenIsNeverASessionEvenWhenItsKeyIsTrusted(t *testing.T) {
	// The worst case: the API token key somehow published in the JWKS and the
	// token carrying the session issuer and audience. The token_type claim
	// still keeps it out.
	k := newSigningKey(t, "shared")
	srv := newJWKSServer(t)
	srv.serve(t, k)
	v := remoteVerifier(srv, defaultConfig())
	raw := sign(t, k, claims(map[string]any{apitoken.TypeClaim: apitoken.TypeValue, "jti": "tok-1", "tenant": "globex"}))
	p, err := v.Verify(context.Background(), raw)
	if !errors.Is(err, session.ErrInvalid) || !reflect.DeepEqual(p, access.Principal{}) {
		t.Errorf("got (%+v, %v), want (zero principal, an error wrapping ErrInvalid)", p, err)
	}
}

func TestSessionVerifierReadsTheConfiguredClaims(t *testing.T) {
	a := newSigningKey(t, "key-a")
	srv := newJWKSServer(t)
	srv.serve(t, a)
	tests := []struct {
		name   string
		cfg    session.Config
		claims jwt.MapClaims
		want   access.Principal
		ok     bool
	}{
		{
			name:   "the default claims are email and custom:tenant",
			cfg:    defaultConfig(),
			claims: claims(nil),
			want:   grace, ok: true,
		},
		{
			name:   "configured claim names pick the user and the tenant",
			cfg:    session.Config{Issuer: issuer, Audience: audience, EmailClaim: "upn", TenantClaim: "org_id"},
			claims: claims(map[string]any{"upn": "hopper@example.com", "org_id": "initech"}),
			want:   access.Principal{User: "hopper@example.com", Tenant: "initech", AuthType: access.AuthSession}, ok: true,
		},
		{
			name:   "configured claim names ignore the default ones",
			cfg:    session.Config{Issuer: issuer, Audience: audience, EmailClaim: "upn", TenantClaim: "org_id"},
			claims: claims(nil),
		},
		{
			name:   "only the email claim configured keeps the default tenant claim",
			cfg:    session.Config{Issuer: issuer, Audience: audience, EmailClaim: "upn"},
			claims: claims(map[string]any{"upn": "hopper@example.com"}),
			want:   access.Principal{User: "hopper@example.com", Tenant: "globex", AuthType: access.AuthSession}, ok: true,
		},
		{
			name:   "an audience list that includes the client id is accepted",
			cfg:    defaultConfig(),
			claims: claims(map[string]any{"aud": []string{"another-app", audience}}),
			want:   grace, ok: true,
		},
		{
			name:   "the user comes from the email claim, not from sub",
			cfg:    defaultConfig(),
			claims: claims(map[string]any{"sub": "mallory@example.com"}),
			want:   grace, ok: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := remoteVerifier(srv, tt.cfg)
			p, err := v.Verify(context.Background(), sign(t, a, tt.claims))
			if got := err == nil; got != tt.ok {
				t.Fatalf("got accepted %v (error %v), want %v", got, err, tt.ok)
			}
			if !reflect.DeepEqual(p, tt.want) {
				t.Errorf("got principal %+v, want %+v", p, tt.want)
			}
		})
	}
}

// An issuer whose keys cannot be fetched gives no verdict on a session: the
// error is EUNAVAILABLE (the authorizer's 503), not a refusal, and a session
// verifies again once the keys can be fetched. A key set that was fetched
// and has no key for the session is a refusal.
func TestAnIssuerWhoseKeysCannotBeFetchedIsUnavailableNotARefusal(t *testing.T) {
	a := newSigningKey(t, "key-a")
	wantUnavailable := func(t *testing.T, v *session.Verifier) {
		t.Helper()
		p, err := v.Verify(context.Background(), sign(t, a, claims(nil)))
		if access.ErrorKind(err) != access.EUNAVAILABLE || !errors.Is(err, session.ErrIssuerUnavailable) ||
			errors.Is(err, session.ErrInvalid) || !reflect.DeepEqual(p, access.Principal{}) {
			t.Fatalf("got (%+v, %v), want (zero principal, an unavailable error wrapping ErrIssuerUnavailable)", p, err)
		}
	}
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusNotFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := newJWKSServer(t)
			srv.fail(status)
			v := remoteVerifier(srv, defaultConfig())
			wantUnavailable(t, v)
			srv.serve(t, a)
			settled(t)
			if _, err := v.Verify(context.Background(), sign(t, a, claims(nil))); err != nil {
				t.Fatalf("after the issuer recovered: %v", err)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := newJWKSServer(t)
		srv.Close()
		wantUnavailable(t, remoteVerifier(srv, defaultConfig()))
	})
	t.Run("redirected, then fetched", func(t *testing.T) {
		srv := newJWKSServer(t)
		srv.serve(t, a)
		moved := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusMovedPermanently))
		t.Cleanup(moved.Close)
		if _, err := session.NewVerifier(defaultConfig(), session.RemoteKeys(moved.URL), clock).Verify(context.Background(), sign(t, a, claims(nil))); err != nil {
			t.Fatalf("a JWKS URL that redirects to the keys: %v", err)
		}
	})
	t.Run("fetched, without the session's key", func(t *testing.T) {
		srv := newJWKSServer(t)
		srv.serve(t, newSigningKey(t, "key-b"))
		_, err := remoteVerifier(srv, defaultConfig()).Verify(context.Background(), sign(t, a, claims(nil)))
		if !errors.Is(err, session.ErrInvalid) || access.ErrorKind(err) == access.EUNAVAILABLE {
			t.Fatalf("got %v, want a refusal wrapping ErrInvalid", err)
		}
	})
}

func TestLocalIssuerSessionsVerifyWithItsKeySet(t *testing.T) {
	key := newSigningKey(t, "").key
	local := &session.LocalIssuer{Issuer: issuer, Audience: audience, Key: key, Now: clock}
	raw, err := local.Issue("grace@example.com", "globex", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		now  time.Time
		cfg  session.Config
		want access.Principal
		ok   bool
	}{
		{name: "a fresh local session verifies", now: t0, cfg: defaultConfig(), want: grace, ok: true},
		{name: "a local session verifies until its lifetime ends", now: t0.Add(time.Hour), cfg: defaultConfig(), want: grace, ok: true},
		{name: "a local session is refused after its lifetime", now: t0.Add(time.Hour + time.Second), cfg: defaultConfig()},
		{name: "a local session is refused by a verifier for another audience", now: t0, cfg: session.Config{Issuer: issuer, Audience: "another-app"}},
		{name: "a local session is refused by a verifier for another issuer", now: t0, cfg: session.Config{Issuer: "https://other.example.com", Audience: audience}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := session.NewVerifier(tt.cfg, local.KeySet(), func() time.Time { return tt.now })
			p, err := v.Verify(context.Background(), raw)
			if got := err == nil; got != tt.ok {
				t.Fatalf("got accepted %v (error %v), want %v", got, err, tt.ok)
			}
			if !reflect.DeepEqual(p, tt.want) {
				t.Errorf("got principal %+v, want %+v", p, tt.want)
			}
		})
	}
}

func TestForgedSessionsFromAnotherIssuerDoNotFetchTheJWKS(t *testing.T) {
	srv := newJWKSServer(t)
	good := newSigningKey(t, "good")
	srv.serve(t, good)
	v := remoteVerifier(srv, defaultConfig())
	if _, err := v.Verify(context.Background(), sign(t, good, claims(nil))); err != nil {
		t.Fatal(err)
	}
	before := srv.fetchCount()
	forger := newSigningKey(t, "forged")
	for range 20 {
		raw := sign(t, forger, claims(map[string]any{"iss": "https://evil.example.com"}))
		if _, err := v.Verify(context.Background(), raw); err == nil {
			t.Fatal("got a forged session accepted")
		}
	}
	if got := srv.fetchCount(); got != before {
		t.Fatalf("got %d JWKS fetches for 20 forged sessions, want 0", got-before)
	}
}

// A tenant administrator is a session whose groups claim names the
// administrators' group: Cognito's cognito:groups is a list of group names,
// another issuer may send one name as a string. Anything else is a valid
// session of someone who is not an administrator.
func TestTheGroupsClaimSaysWhoAdministersTheTenant(t *testing.T) {
	a := newSigningKey(t, "key-a")
	srv := newJWKSServer(t)
	srv.serve(t, a)
	custom := defaultConfig()
	custom.AdminGroupClaim, custom.AdminGroup = "groups", "acme-admins"
	tests := []struct {
		name   string
		cfg    session.Config
		claims map[string]any
		admin  bool
	}{
		{"Cognito's list with the default group", defaultConfig(), map[string]any{"cognito:groups": []string{"readers", "dcs-admins"}}, true},
		{"Cognito's list without it", defaultConfig(), map[string]any{"cognito:groups": []string{"readers"}}, false},
		{"no groups claim", defaultConfig(), nil, false},
		{"the group in another case", defaultConfig(), map[string]any{"cognito:groups": []string{"DCS-Admins"}}, false},
		{"one group as a string", defaultConfig(), map[string]any{"cognito:groups": "dcs-admins"}, true},
		{"a groups claim that is neither", defaultConfig(), map[string]any{"cognito:groups": map[string]any{"dcs-admins": true}}, false},
		{"a list holding a non-string", defaultConfig(), map[string]any{"cognito:groups": []any{1, true}}, false},
		{"the group under another claim than the configured one", defaultConfig(), map[string]any{"groups": []string{"dcs-admins"}}, false},
		{"a configured claim and group", custom, map[string]any{"groups": []string{"acme-admins"}}, true},
		{"the default group when another is configured", custom, map[string]any{"groups": []string{"dcs-admins"}, "cognito:groups": []string{"dcs-admins"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := remoteVerifier(srv, tc.cfg).Verify(context.Background(), sign(t, a, claims(tc.claims)))
			if err != nil {
				t.Fatalf("got %v, want a valid session", err)
			}
			if p.Admin != tc.admin || !reflect.DeepEqual(p.User, grace.User) {
				t.Fatalf("got %+v, want admin=%v", p, tc.admin)
			}
		})
	}
}

func TestTheLocalIssuersAdministratorIsOne(t *testing.T) {
	key := newSigningKey(t, "local").key
	l := &session.LocalIssuer{Issuer: issuer, Audience: audience, Key: key, Now: clock}
	v := session.NewVerifier(defaultConfig(), l.KeySet(), clock)
	for _, tc := range []struct {
		issue func(string, string, time.Duration) (string, error)
		admin bool
	}{{l.IssueAdmin, true}, {l.Issue, false}} {
		raw, err := tc.issue("grace@example.com", "globex", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := v.Verify(context.Background(), raw); err != nil || p.Admin != tc.admin {
			t.Fatalf("got %+v, %v, want admin=%v", p, err, tc.admin)
		}
	}
}
