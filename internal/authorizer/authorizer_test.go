package authorizer_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/session"
)

const (
	tokenIssuer   = "https://dcs-access.example.com"
	sessionIssuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example"
	audience      = "app-client-id"
	methodARN     = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/whoami"
)

// t0 is the clock of the authorizer and of both verifiers.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return t0 }

// fakeStore is a TokenStore whose answer each test chooses.
type fakeStore struct {
	GetFunc func(ctx context.Context, tenant, id string) (access.Token, error)
}

func (f *fakeStore) Get(ctx context.Context, tenant, id string) (access.Token, error) {
	return f.GetFunc(ctx, tenant, id)
}

// keys holds the two signing keys of a test: the service's API token key
// and the OIDC issuer's session key.
type keys struct {
	api     *apitoken.KeySigner
	apiKey  *ecdsa.PrivateKey
	session *ecdsa.PrivateKey
}

func newKeys(t *testing.T) keys {
	t.Helper()
	apiKey := newKey(t)
	signer, err := apitoken.NewKeySigner(apiKey)
	if err != nil {
		t.Fatal(err)
	}
	return keys{api: signer, apiKey: apiKey, session: newKey(t)}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func (k keys) sessionIssuer() *session.LocalIssuer {
	return &session.LocalIssuer{Issuer: sessionIssuer, Audience: audience, Key: k.session, Now: clock}
}

// newAuthorizer wires an Authorizer the way production does, with a store
// and a logger that the test reads.
func newAuthorizer(k keys, store authorizer.TokenStore, log *bytes.Buffer) *authorizer.Authorizer {
	return &authorizer.Authorizer{
		TokenIssuer: tokenIssuer,
		APITokens:   apitoken.NewVerifier(tokenIssuer, map[string]*ecdsa.PublicKey{k.api.KeyID(): k.api.Public()}, clock),
		Sessions:    session.NewVerifier(session.Config{Issuer: sessionIssuer, Audience: audience}, k.sessionIssuer().KeySet(), clock),
		Store:       store,
		Now:         clock,
		Log:         slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// mint is a token as tokens were minted before they had scopes: no scope claim.
func mint(t *testing.T, k keys, expiresAt *time.Time) string {
	t.Helper()
	return mintScoped(t, k, expiresAt)
}

// mintScoped is a token whose scope claim lists scopes.
func mintScoped(t *testing.T, k keys, expiresAt *time.Time, scopes ...access.Scope) string {
	t.Helper()
	g := apitoken.Grant{ID: "tok-1", User: "ada@example.com", Tenant: "acme", IssuedAt: t0.Add(-time.Hour), ExpiresAt: expiresAt}
	for _, s := range scopes {
		g.Scopes = append(g.Scopes, string(s))
	}
	raw, err := apitoken.Minter{Issuer: tokenIssuer, Signer: k.api}.Mint(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func issue(t *testing.T, l *session.LocalIssuer, ttl time.Duration) string {
	t.Helper()
	raw, err := l.Issue("grace@example.com", "globex", ttl)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func apiClaims(overrides map[string]any) jwt.MapClaims {
	return with(jwt.MapClaims{
		"iss": tokenIssuer, "sub": "ada@example.com", "jti": "tok-1", "tenant": "acme",
		"token_type": apitoken.TypeValue, "iat": t0.Add(-time.Hour).Unix(),
	}, overrides)
}

func sessionClaims(overrides map[string]any) jwt.MapClaims {
	return with(jwt.MapClaims{
		"iss": sessionIssuer, "aud": audience, "sub": "grace@example.com", "email": "grace@example.com",
		"custom:tenant": "globex", "iat": t0.Add(-time.Minute).Unix(), "exp": t0.Add(time.Hour).Unix(),
	}, overrides)
}

// with copies c with overrides applied; a nil override removes the claim.
func with(c jwt.MapClaims, overrides map[string]any) jwt.MapClaims {
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func forge(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	if method == jwt.SigningMethodES256 {
		raw = lowS(t, raw)
	}
	return raw
}

// lowS gives an ES256 token its low-S signature, the only form the API token
// verifier accepts, so that each forgery is refused for what the test changed.
func lowS(t *testing.T, raw string) string {
	t.Helper()
	cut := strings.LastIndexByte(raw, '.')
	sig, err := base64.RawURLEncoding.DecodeString(raw[cut+1:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("not an ES256 signature: %q", raw[cut+1:])
	}
	n := elliptic.P256().Params().N
	if s := new(big.Int).SetBytes(sig[32:]); s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
		s.Sub(n, s).FillBytes(sig[32:])
	}
	return raw[:cut+1] + base64.RawURLEncoding.EncodeToString(sig)
}

func publicPEM(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func flipSignatureByte(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[5] ^= 0x80
	parts[2] = base64.RawURLEncoding.EncodeToString(sig)
	return strings.Join(parts, ".")
}

func replaceSegment(raw string, i int, seg string) string {
	parts := strings.Split(raw, ".")
	parts[i] = seg
	return strings.Join(parts, ".")
}

// record is the item of a token created before tokens had scopes.
func record(expiresAt *time.Time) access.Token {
	return access.Token{
		ID: "tok-1", Tenant: "acme", Description: "nightly", AssociatedUser: "ada@example.com",
		CreatedAt: t0.Add(-time.Hour), ExpiresAt: expiresAt,
	}
}

// recordScoped is the item of a token with scopes.
func recordScoped(scopes ...access.Scope) access.Token {
	r := record(nil)
	r.Scopes = scopes
	return r
}

func returns(tok access.Token, err error) func(context.Context, string, string) (access.Token, error) {
	return func(context.Context, string, string) (access.Token, error) { return tok, err }
}

func at(t time.Time) *time.Time { return &t }

// assertNoTokenInLog fails when the log holds the bearer or its signature,
// or when it does not hold logged, the control that the decision was logged
// there at all (else the check would pass with logging off).
func assertNoTokenInLog(t *testing.T, log, header, logged string) {
	t.Helper()
	if !strings.Contains(log, logged) {
		t.Errorf("got log %q, want it to hold %q", log, logged)
	}
	_, raw, _ := strings.Cut(header, " ")
	secrets := []string{strings.TrimSpace(raw)}
	if parts := strings.Split(secrets[0], "."); len(parts) == 3 {
		secrets = append(secrets, parts[2])
	}
	for _, s := range secrets {
		if len(s) >= 16 && strings.Contains(log, s) {
			t.Errorf("got a log that contains the token %.20q…:\n%s", s, log)
		}
	}
}

func TestBadBearersAreUnauthorized(t *testing.T) {
	k := newKeys(t)
	valid := mint(t, k, nil)
	validSession := issue(t, k.sessionIssuer(), time.Hour)
	apiKid := map[string]any{"kid": k.api.KeyID()}
	otherKey := newKey(t)
	parts := strings.Split(valid, ".")
	enc := base64.RawURLEncoding.EncodeToString
	pad := strings.Repeat("x", authorizer.MaxHeaderBytes)

	tests := []struct {
		name   string
		header string
		// get answers the store; nil means the store must not be read.
		get func(ctx context.Context, tenant, id string) (access.Token, error)
	}{
		{name: "an API token with a flipped signature byte", header: "Bearer " + flipSignatureByte(t, valid)},
		{name: "a session with a flipped signature byte", header: "Bearer " + flipSignatureByte(t, validSession)},
		{name: "an API token with alg none", header: "Bearer " + forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, apiKid, apiClaims(nil))},
		{name: "a session with alg none", header: "Bearer " + forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, sessionClaims(nil))},
		{name: "an API token signed HS256 with the API public key", header: "Bearer " + forge(t, jwt.SigningMethodHS256, publicPEM(t, k.apiKey), apiKid, apiClaims(nil))},
		{name: "a session signed HS256 with the session public key", header: "Bearer " + forge(t, jwt.SigningMethodHS256, publicPEM(t, k.session), nil, sessionClaims(nil))},
		{name: "an API token under an unknown kid", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, map[string]any{"kid": "retired-key"}, apiClaims(nil))},
		{name: "an API token signed by another P-256 key under the trusted kid", header: "Bearer " + forge(t, jwt.SigningMethodES256, otherKey, apiKid, apiClaims(nil))},
		{name: "an API token with a wrong iss", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"iss": "https://evil.example.com"}))},
		{name: "an API token without iss", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"iss": nil}))},
		{name: "an API token with token_type session", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"token_type": "session"}))},
		{
			name:   "a session token carrying the API token issuer",
			header: "Bearer " + issue(t, &session.LocalIssuer{Issuer: tokenIssuer, Audience: audience, Key: k.session, Now: clock}, time.Hour),
		},
		{
			name:   "a session-shaped token signed by the API key under its kid, without token_type",
			header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, sessionClaims(map[string]any{"iss": tokenIssuer, "jti": "tok-1", "tenant": "acme"})),
		},
		{
			name:   "an API token signed by the API key carrying the session issuer and claims",
			header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, sessionClaims(map[string]any{"token_type": apitoken.TypeValue, "jti": "tok-1", "tenant": "acme"})),
		},
		{
			name:   "a session signed by the session key that carries the token_type claim",
			header: "Bearer " + forge(t, jwt.SigningMethodES256, k.session, nil, sessionClaims(map[string]any{"token_type": apitoken.TypeValue})),
		},
		{name: "a session for another audience", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.session, nil, sessionClaims(map[string]any{"aud": "another-app"}))},
		{name: "a session signed by an unknown key", header: "Bearer " + forge(t, jwt.SigningMethodES256, otherKey, nil, sessionClaims(nil))},
		{name: "a session without a tenant claim", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.session, nil, sessionClaims(map[string]any{"custom:tenant": nil}))},
		{name: "an API token whose exp passed", header: "Bearer " + mint(t, k, at(t0.Add(-time.Hour)))},
		{name: "a session whose exp passed", header: "Bearer " + issue(t, &session.LocalIssuer{Issuer: sessionIssuer, Audience: audience, Key: k.session, Now: func() time.Time { return t0.Add(-2 * time.Hour) }}, time.Hour)},
		{name: "an expired item not yet purged, for a token without exp", header: "Bearer " + valid, get: returns(record(at(t0.Add(-time.Minute))), nil)},
		{name: "an expired item not yet purged, for a token whose exp is ahead", header: "Bearer " + mint(t, k, at(t0.Add(time.Hour))), get: returns(record(at(t0.Add(-time.Second))), nil)},
		{name: "an item that expires at this very instant", header: "Bearer " + valid, get: returns(record(at(t0)), nil)},
		{name: "a deleted item", header: "Bearer " + valid, get: returns(access.Token{}, access.Errorf(access.ENOTFOUND, "TOKEN_NOT_FOUND", "No such token."))},
		{name: "a deleted item reported as a wrapped not-found error", header: "Bearer " + valid, get: returns(access.Token{}, fmt.Errorf("get token: %w", access.Errorf(access.ENOTFOUND, "TOKEN_NOT_FOUND", "No such token.")))},
		{name: "an item that names another user than the token's sub", header: "Bearer " + valid, get: returns(access.Token{ID: "tok-1", Tenant: "acme", AssociatedUser: "mallory@example.com"}, nil)},
		{name: "a scope claim narrower than its item's scopes", header: "Bearer " + mintScoped(t, k, nil, access.ScopeTokensRead),
			get: returns(recordScoped(access.ScopeTokensRead, access.ScopeTokensWrite), nil)},
		{name: "a scope claim wider than its item's scopes", header: "Bearer " + mintScoped(t, k, nil, access.ScopeTokensRead, access.ScopeTokensWrite),
			get: returns(recordScoped(access.ScopeTokensRead), nil)},
		{name: "a token without a scope claim whose item has scopes", header: "Bearer " + valid, get: returns(recordScoped(access.ScopeTokensRead), nil)},
		{name: "a token with a scope claim whose item has none", header: "Bearer " + mintScoped(t, k, nil, access.ScopeTokensRead), get: returns(record(nil), nil)},
		{name: "a scope claim naming a scope outside the set", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"scope": "tokens:read admin"})),
			get: returns(recordScoped(access.ScopeTokensRead, "admin"), nil)},
		{name: "a scope claim in another case", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"scope": "TOKENS:READ"})),
			get: returns(recordScoped(access.ScopeTokensRead), nil)},
		{name: "an empty scope claim", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"scope": ""}))},
		{name: "a scope claim with two spaces between scopes", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"scope": "tokens:read  tokens:write"}))},
		{name: "a scope claim with a leading space", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"scope": " tokens:read"}))},
		{name: "a scope claim separated by a tab", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"scope": "tokens:read\ttokens:write"}))},
		{name: "a scope claim that is null (absent would be every legacy scope)", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"scope": json.RawMessage("null")}))},
		{name: "a scope claim that is a list", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"scope": []string{"tokens:read"}}))},
		{name: "a scope claim spelled SCOPE", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"SCOPE": 1}))},
		{name: "malformed base64 in the header", header: "Bearer " + replaceSegment(valid, 0, "*"+parts[0][1:])},
		{name: "malformed base64 in the payload", header: "Bearer " + replaceSegment(valid, 1, parts[1]+"!")},
		{name: "malformed base64 in the signature", header: "Bearer " + replaceSegment(valid, 2, parts[2][:40]+"%"+parts[2][41:])},
		{name: "a payload that is not JSON", header: "Bearer " + replaceSegment(valid, 1, enc([]byte("{")))},
		{name: "a header that is not JSON", header: "Bearer " + replaceSegment(valid, 0, enc([]byte("eyJ")))},
		{name: "10,000 dots", header: "Bearer " + strings.Repeat(".", 10000)},
		{name: "four segments", header: "Bearer " + valid + "." + parts[2]},
		{name: "a valid API token in a header past 8 KiB", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.apiKey, apiKid, apiClaims(map[string]any{"pad": pad}))},
		{name: "a valid session in a header past 8 KiB", header: "Bearer " + forge(t, jwt.SigningMethodES256, k.session, nil, sessionClaims(map[string]any{"pad": pad}))},
		{name: "a valid token padded with spaces past 8 KiB", header: "Bearer " + valid + strings.Repeat(" ", authorizer.MaxHeaderBytes)},
		{name: "the bare token without the Bearer scheme", header: valid},
		{name: "the Basic scheme", header: "Basic " + valid},
		{name: "the Bearer scheme glued to the token", header: "Bearer" + valid},
		{name: "the Bearer scheme and a tab", header: "Bearer\t" + valid},
		{name: "the Bearer scheme alone", header: "Bearer"},
		{name: "the Bearer scheme and a space", header: "Bearer "},
		{name: "an empty header", header: ""},
		{name: "two tokens", header: "Bearer " + valid + " " + validSession},
		{name: "two spaces after the scheme", header: "Bearer  " + valid},
		{name: "a trailing space", header: "Bearer " + valid + " "},
		{name: "a leading space", header: " Bearer " + valid},
		{name: "two tokens joined by a comma, as a proxy joins repeated headers", header: "Bearer " + valid + ", Bearer " + validSession},
		{name: "a non-UTF-8 token", header: "Bearer \xff\xfe.\xff.\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			get := tt.get
			if get == nil {
				get = func(context.Context, string, string) (access.Token, error) {
					t.Errorf("got a store read, want the bearer refused before the store")
					return record(nil), nil
				}
			}
			var log bytes.Buffer
			a := newAuthorizer(k, &fakeStore{GetFunc: get}, &log)

			p, err := a.Authenticate(context.Background(), tt.header)
			if access.ErrorKind(err) != access.EUNAUTHORIZED || err == nil || !reflect.DeepEqual(p, access.Principal{}) {
				t.Errorf("Authenticate: got (%+v, %v), want (zero principal, EUNAUTHORIZED)", p, err)
			}

			resp, err := a.Handle(context.Background(), request(tt.header))
			if err == nil || err.Error() != "Unauthorized" {
				t.Errorf("Handle: got error %v, want exactly Unauthorized", err)
			}
			if !reflect.DeepEqual(resp, events.APIGatewayCustomAuthorizerResponse{}) {
				t.Errorf("Handle: got response %+v, want an empty one", resp)
			}
			assertNoTokenInLog(t, log.String(), tt.header, `msg="request denied"`)
		})
	}
}

func TestValidBearersAreAllowedForExactlyTheirMethod(t *testing.T) {
	k := newKeys(t)
	apiToken := mint(t, k, nil)
	expiring := mint(t, k, at(t0.Add(24*time.Hour)))
	ci := mintScoped(t, k, nil, access.ScopeSandboxRefreshesRun, access.ScopeSandboxRefreshesRead)
	sess := issue(t, k.sessionIssuer(), time.Hour)
	adminSession, err := k.sessionIssuer().IssueAdmin("grace@example.com", "globex", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A token from before scopes has every scope there was when scopes came, spelled out.
	legacy := "tokens:read tokens:write tokens:introspect sandbox-plans:read sandbox-plans:write sandbox-refreshes:read sandbox-refreshes:run compliance-jobs:run"
	apiContext := map[string]any{"user": "ada@example.com", "tenant": "acme", "authType": "api_token", "tokenId": "tok-1", "scopes": legacy, "admin": false}
	ciContext := map[string]any{"user": "ada@example.com", "tenant": "acme", "authType": "api_token", "tokenId": "tok-1", "scopes": "sandbox-refreshes:read sandbox-refreshes:run", "admin": false}
	sessionContext := map[string]any{"user": "grace@example.com", "tenant": "globex", "authType": "session", "tokenId": "",
		"scopes": "tokens:read tokens:write tokens:introspect sandbox-plans:read sandbox-plans:write sandbox-refreshes:read sandbox-refreshes:run compliance-jobs:run audit:read", "admin": false}
	// The administrators' group in the session's cognito:groups.
	adminContext := map[string]any{"user": "grace@example.com", "tenant": "globex", "authType": "session", "tokenId": "",
		"scopes": "tokens:read tokens:write tokens:introspect sandbox-plans:read sandbox-plans:write sandbox-refreshes:read sandbox-refreshes:run compliance-jobs:run audit:read", "admin": true}

	tests := []struct {
		name        string
		header      string
		stored      access.Token
		wantUser    string
		wantContext map[string]any
		wantRead    bool
	}{
		{name: "an API token that never expires", header: "Bearer " + apiToken, stored: record(nil), wantUser: "ada@example.com", wantContext: apiContext, wantRead: true},
		{name: "an API token whose expiry is ahead", header: "Bearer " + expiring, stored: record(at(t0.Add(24 * time.Hour))), wantUser: "ada@example.com", wantContext: apiContext, wantRead: true},
		{name: "an API token with a lower-case bearer scheme", header: "bearer " + apiToken, stored: record(nil), wantUser: "ada@example.com", wantContext: apiContext, wantRead: true},
		{name: "an API token with an upper-case bearer scheme", header: "BEARER " + apiToken, stored: record(nil), wantUser: "ada@example.com", wantContext: apiContext, wantRead: true},
		{name: "an API token with scopes, in its item's order", header: "Bearer " + ci, stored: recordScoped(access.ScopeSandboxRefreshesRead, access.ScopeSandboxRefreshesRun),
			wantUser: "ada@example.com", wantContext: ciContext, wantRead: true},
		{name: "a session", header: "Bearer " + sess, wantUser: "grace@example.com", wantContext: sessionContext},
		{name: "a session with a lower-case bearer scheme", header: "bearer " + sess, wantUser: "grace@example.com", wantContext: sessionContext},
		{name: "a tenant administrator's session", header: "Bearer " + adminSession, wantUser: "grace@example.com", wantContext: adminContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reads []string
			store := &fakeStore{GetFunc: func(_ context.Context, tenant, id string) (access.Token, error) {
				reads = append(reads, tenant+"/"+id)
				return tt.stored, nil
			}}
			var log bytes.Buffer
			a := newAuthorizer(k, store, &log)

			resp, err := a.Handle(context.Background(), request(tt.header))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			want := events.APIGatewayCustomAuthorizerResponse{
				PrincipalID: tt.wantUser,
				PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
					Version: "2012-10-17",
					Statement: []events.IAMPolicyStatement{{
						Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{methodARN},
					}},
				},
				Context: tt.wantContext,
			}
			if !reflect.DeepEqual(resp, want) {
				t.Errorf("got response %+v, want %+v", resp, want)
			}
			wantReads := []string(nil)
			if tt.wantRead {
				wantReads = []string{"acme/tok-1"}
			}
			if !reflect.DeepEqual(reads, wantReads) {
				t.Errorf("got store reads %q, want %q", reads, wantReads)
			}
			// An allow logs nothing; the control is a denial of the same
			// bearer, tampered with, through the same logger.
			if _, err := a.Authenticate(context.Background(), tt.header+"x"); access.ErrorKind(err) != access.EUNAUTHORIZED {
				t.Errorf("a tampered bearer: got %v, want EUNAUTHORIZED", err)
			}
			assertNoTokenInLog(t, log.String(), tt.header, `msg="request denied"`)
		})
	}
}

func TestStoreFailuresAreNeverAnAllowNorA401(t *testing.T) {
	k := newKeys(t)
	header := "Bearer " + mint(t, k, nil)
	tests := []struct {
		name string
		err  error
	}{
		{name: "the store is throttled or unreachable", err: access.Unavailable(errors.New("dial tcp 127.0.0.1:8000: connect: connection refused"))},
		{name: "the store fails internally", err: access.Internal(errors.New("unexpected response"))},
		{name: "the store returns a plain error", err: errors.New("operation error DynamoDB: GetItem")},
		{name: "the store times out", err: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			a := newAuthorizer(k, &fakeStore{GetFunc: returns(record(nil), tt.err)}, &log)

			p, err := a.Authenticate(context.Background(), header)
			if err == nil || access.ErrorKind(err) == access.EUNAUTHORIZED || !reflect.DeepEqual(p, access.Principal{}) {
				t.Errorf("Authenticate: got (%+v, %v), want (zero principal, an error that is not EUNAUTHORIZED)", p, err)
			}

			resp, err := a.Handle(context.Background(), request(header))
			if err == nil || err.Error() == "Unauthorized" {
				t.Errorf("Handle: got error %v, want an error other than Unauthorized", err)
			}
			if !reflect.DeepEqual(resp, events.APIGatewayCustomAuthorizerResponse{}) {
				t.Errorf("Handle: got response %+v, want an empty one (no Allow policy)", resp)
			}
			if err != nil && (strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "GetItem")) {
				t.Errorf("Handle: got error %q, want no internal detail", err)
			}
			assertNoTokenInLog(t, log.String(), header, `msg="token lookup failed: denying"`)
		})
	}
}

// request is the REQUEST authorizer event API Gateway sends for a request
// with one Authorization header, or none for "".
func request(header string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	if header == "" {
		return requestWith(nil, nil)
	}
	return requestWith(map[string]string{"Authorization": header}, map[string][]string{"Authorization": {header}})
}

func requestWith(headers map[string]string, multi map[string][]string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	h := map[string]string{"Host": "abcdef1234.execute-api.eu-west-1.amazonaws.com"}
	m := map[string][]string{"Host": {h["Host"]}}
	for k, v := range headers {
		h[k] = v
	}
	for k, v := range multi {
		m[k] = v
	}
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodARN, Resource: "/whoami", Path: "/whoami", HTTPMethod: "GET",
		Headers: h, MultiValueHeaders: m,
	}
}

// Two Authorization headers are two answers to "who is calling": neither
// wins, the request is refused, before any token is looked at. API Gateway
// puts the last value in headers and every value in multiValueHeaders, and
// passes header names as the client spelled them.
func TestTwoAuthorizationHeadersAreUnauthorized(t *testing.T) {
	k := newKeys(t)
	token := "Bearer " + mint(t, k, nil)
	session := "Bearer " + issue(t, k.sessionIssuer(), time.Hour)
	tests := []struct {
		name    string
		headers map[string]string
		multi   map[string][]string
	}{
		{"two valid bearers", map[string]string{"Authorization": session}, map[string][]string{"Authorization": {token, session}}},
		{"the same bearer twice", map[string]string{"Authorization": token}, map[string][]string{"Authorization": {token, token}}},
		{"a garbage header then a valid one", map[string]string{"Authorization": token}, map[string][]string{"Authorization": {"Basic x", token}}},
		{"two spellings of the header name", map[string]string{"Authorization": token, "authorization": session},
			map[string][]string{"Authorization": {token}, "authorization": {session}}},
		{"headers and multiValueHeaders that disagree", map[string]string{"Authorization": token}, map[string][]string{"Authorization": {session}}},
		{"no value at all", map[string]string{}, map[string][]string{"Authorization": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			a := newAuthorizer(k, &fakeStore{GetFunc: func(context.Context, string, string) (access.Token, error) {
				t.Error("got a store read, want the request refused before any token is looked at")
				return record(nil), nil
			}}, &log)
			resp, err := a.Handle(context.Background(), requestWith(tt.headers, tt.multi))
			if err == nil || err.Error() != "Unauthorized" || !reflect.DeepEqual(resp, events.APIGatewayCustomAuthorizerResponse{}) {
				t.Errorf("got (%+v, %v), want exactly Unauthorized", resp, err)
			}
			assertNoTokenInLog(t, log.String(), token, `msg="request denied"`)
			assertNoTokenInLog(t, log.String(), session, `msg="request denied"`)
		})
	}
	// The positive control: each of those bearers alone is allowed, under any
	// spelling of the header name.
	for _, name := range []string{"Authorization", "authorization", "AUTHORIZATION"} {
		a := newAuthorizer(k, &fakeStore{GetFunc: returns(record(nil), nil)}, &bytes.Buffer{})
		for _, h := range []string{token, session} {
			if _, err := a.Handle(context.Background(), requestWith(map[string]string{name: h}, map[string][]string{name: {h}})); err != nil {
				t.Errorf("one %s header: got %v, want an allow", name, err)
			}
		}
	}
}

// Another REST API that attaches this authorizer (README, "Another API")
// sends its own method ARN, resource and host: the policy allows exactly that
// method of that API, so the decision works there as it does here, and
// names nothing of this stack's API.
func TestAnotherAPIsMethodIsAllowedAsItsOwn(t *testing.T) {
	k := newKeys(t)
	const otherARN = "arn:aws:execute-api:eu-west-1:210987654321:zyx9876543/live/POST/connectors/c-42/test"
	token := mint(t, k, nil)
	req := request("Bearer " + token)
	req.MethodArn, req.Resource, req.Path, req.HTTPMethod = otherARN, "/connectors/{id}/test", "/connectors/c-42/test", "POST"
	req.Headers["Host"] = "zyx9876543.execute-api.eu-west-1.amazonaws.com"
	var log bytes.Buffer
	a := newAuthorizer(k, &fakeStore{GetFunc: returns(record(nil), nil)}, &log)

	resp, err := a.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("got error %v, want an allow", err)
	}
	want := []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{otherARN}}}
	if !reflect.DeepEqual(resp.PolicyDocument.Statement, want) {
		t.Errorf("got statements %+v, want %+v", resp.PolicyDocument.Statement, want)
	}
	if resp.Context["tenant"] != "acme" || resp.Context["user"] != "ada@example.com" {
		t.Errorf("got context %v, want the token's user and tenant for the other API's functions", resp.Context)
	}

	// Revocation is the same there: the deleted token is refused.
	a = newAuthorizer(k, &fakeStore{GetFunc: returns(access.Token{}, access.Errorf(access.ENOTFOUND, "NOT_FOUND", "gone"))}, &log)
	if _, err := a.Handle(context.Background(), req); err == nil || err.Error() != "Unauthorized" {
		t.Errorf("a deleted token on the other API: got %v, want Unauthorized", err)
	}
}
