package localserver_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/localserver"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// introspectionStack is the local stack on DynamoDB Local whose signing key
// and store the test holds, so it can make tokens no API call makes: one
// signed by the stack's key whose record expired, one signed by another key.
type introspectionStack struct {
	srv     *httptest.Server
	store   *dynamo.Store
	signing *ecdsa.PrivateKey
}

func newIntrospectionStack(t *testing.T) *introspectionStack {
	t.Helper()
	client, table := testenv.Table(t)
	s := &introspectionStack{store: dynamo.New(client, table, time.Now), signing: key(t)}
	h, err := localserver.NewWith(s.store, s.signing, key(t), localserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(h)
	t.Cleanup(s.srv.Close)
	return s
}

// mint signs a token for tenant with key and stores its record as the
// create function would, expiring at expires.
func (s *introspectionStack) mint(t *testing.T, key *ecdsa.PrivateKey, id, tenant string, expires time.Time) string {
	t.Helper()
	signer, err := apitoken.NewKeySigner(key)
	if err != nil {
		t.Fatal(err)
	}
	issued := expires.Add(-48 * time.Hour)
	raw, err := apitoken.Minter{Issuer: localserver.TokenIssuer, Signer: signer}.Mint(context.Background(), apitoken.Grant{
		ID: id, User: "ada@example.com", Tenant: tenant, IssuedAt: issued, ExpiresAt: &expires,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.Create(context.Background(), access.Token{
		ID: id, Tenant: tenant, Description: "made by the test " + id, AssociatedUser: "ada@example.com", CreatedAt: issued, ExpiresAt: &expires,
	}, access.DefaultPolicy(),

		audittest.TokenCreated(tenant, id)); err != nil {
		t.Fatal(err)
	}
	return raw
}

// introspect posts the form to /oauth/introspect with bearer and returns
// the status and the body as sent.
func introspect(t *testing.T, srv *httptest.Server, bearer, contentType, form string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "POST", srv.URL+"/oauth/introspect", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

const form = "application/x-www-form-urlencoded"

func tokenForm(token string) string { return url.Values{"token": {token}}.Encode() }

// inactive is the whole answer for every token that is not active: RFC 7662
// section 2.2 says no more, and no more is said.
const inactive = `{"active":false}`

func TestIntrospectionOfEachKindOfToken(t *testing.T) {
	s := newIntrospectionStack(t)
	session := signIn(t, s.srv, "ada@example.com", "acme")
	otherSession := signIn(t, s.srv, "grace@globex.example", "globex")

	_, created := call(t, s.srv, "POST", "/api-tokens", session, `{"description":"introspected","lifespanDays":30,"scopes":["compliance-jobs:run","sandbox-refreshes:run"]}`)
	valid, validID := created["token"].(string), created["id"].(string)
	_, forever := call(t, s.srv, "POST", "/api-tokens", session, `{"description":"never expires"}`)
	_, deleted := call(t, s.srv, "POST", "/api-tokens", session, `{"description":"deleted"}`)
	if status, _ := call(t, s.srv, "DELETE", "/api-tokens/"+deleted["id"].(string), session, ""); status != 204 {
		t.Fatalf("delete: got %d", status)
	}
	_, globex := call(t, s.srv, "POST", "/api-tokens", otherSession, `{"description":"globex's"}`)
	now := time.Now()
	// Past its exp by an hour: the verifier refuses it.
	expired := s.mint(t, s.signing, "0193f6b2-0000-7000-8000-00000000e001", "acme", now.Add(-time.Hour))
	// Past its expiry by seconds, within the verifier's leeway for clock
	// skew: the stored expiry refuses it.
	justExpired := s.mint(t, s.signing, "0193f6b2-0000-7000-8000-00000000e002", "acme", now.Add(-5*time.Second))
	// Every claim of a good token, and a record, but another key's signature.
	forged := s.mint(t, key(t), "0193f6b2-0000-7000-8000-00000000f001", "acme", now.Add(time.Hour))
	dot := strings.LastIndexByte(valid, '.')
	flipped := valid[:dot+1] + map[bool]string{true: "B", false: "A"}[valid[dot+1] == 'A'] + valid[dot+2:]

	t.Run("a valid token of the caller's tenant is active, with its claims", func(t *testing.T) {
		status, h, body := introspect(t, s.srv, session, form, tokenForm(valid))
		var got map[string]any
		if err := json.Unmarshal([]byte(body), &got); status != 200 || err != nil {
			t.Fatalf("got %d %s, want 200 and JSON", status, body)
		}
		exp, _ := got["exp"].(float64)
		iat, _ := got["iat"].(float64)
		want := map[string]any{"active": true, "sub": "ada@example.com", "tenant": "acme", "jti": validID, "token_type": "Bearer", "exp": exp, "iat": iat,
			"scope": "sandbox-refreshes:run compliance-jobs:run"}
		if len(got) != len(want) {
			t.Errorf("got members %v, want exactly %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %v, want %v", k, got[k], v)
			}
		}
		if lifespan := time.Duration(exp-iat) * time.Second; lifespan != 30*24*time.Hour {
			t.Errorf("exp - iat is %s, want the 30 days it was created with", lifespan)
		}
		if d := time.Since(time.Unix(int64(iat), 0)); d < 0 || d > time.Minute {
			t.Errorf("iat is %s ago, want now", d)
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control is %q, want no-store: the answer describes a live token", h.Get("Cache-Control"))
		}
	})
	t.Run("a token without expiry is active without exp", func(t *testing.T) {
		_, _, body := introspect(t, s.srv, session, form, tokenForm(forever["token"].(string)))
		if !strings.HasPrefix(body, `{"active":true,`) || strings.Contains(body, `"exp"`) {
			t.Errorf("got %s, want active without exp", body)
		}
	})
	t.Run("an API token with tokens:introspect may introspect too", func(t *testing.T) {
		if _, _, body := introspect(t, s.srv, forever["token"].(string), form, tokenForm(valid)); !strings.HasPrefix(body, `{"active":true,`) {
			t.Errorf("got %s, want active", body)
		}
	})
	t.Run("an API token without tokens:introspect may not", func(t *testing.T) {
		status, h, body := introspect(t, s.srv, valid, form, tokenForm(forever["token"].(string)))
		if status != 403 || !strings.Contains(body, `"INSUFFICIENT_SCOPE"`) || !strings.Contains(body, "tokens:introspect") || h.Get("WWW-Authenticate") != `Bearer error="insufficient_scope", scope="tokens:introspect"` {
			t.Errorf("got %d %s (WWW-Authenticate %q), want 403 INSUFFICIENT_SCOPE naming tokens:introspect", status, body, h.Get("WWW-Authenticate"))
		}
	})
	t.Run("the other tenant sees its own token active (the control for the case below)", func(t *testing.T) {
		if _, _, body := introspect(t, s.srv, otherSession, form, tokenForm(globex["token"].(string))); !strings.HasPrefix(body, `{"active":true,`) {
			t.Errorf("got %s, want active", body)
		}
	})
	for _, tc := range []struct{ name, token string }{
		{"a deleted token", deleted["token"].(string)},
		{"a token past its exp", expired},
		{"a token whose record expired seconds ago, within the verifier's leeway", justExpired},
		{"a token signed by another key", forged},
		{"a valid token with one signature character changed", flipped},
		{"another tenant's valid token", globex["token"].(string)},
		{"a session", session},
		{"a malformed token", "not-a-token"},
		{"three segments that are not a token", "a.b.c"},
		{"a token cut short", valid[:dot]},
		{"a token with white space around it", " " + valid + " "},
		{"a token larger than any bearer", strings.Repeat("a", 9000) + "." + strings.Repeat("b", 10) + ".c"},
	} {
		t.Run(tc.name+" is inactive, and nothing else is said", func(t *testing.T) {
			status, _, body := introspect(t, s.srv, session, form, tokenForm(tc.token))
			if status != 200 || body != inactive {
				t.Errorf("got %d %s, want 200 %s", status, body, inactive)
			}
		})
	}
	t.Run("a token_type_hint changes nothing", func(t *testing.T) {
		for _, hint := range []string{"access_token", "refresh_token", "something_else"} {
			v := url.Values{"token": {valid}, "token_type_hint": {hint}}
			if _, _, body := introspect(t, s.srv, session, form, v.Encode()); !strings.HasPrefix(body, `{"active":true,`) {
				t.Errorf("hint %s: got %s, want active", hint, body)
			}
		}
	})
}

func TestIntrospectionRefusesBadRequests(t *testing.T) {
	s := newIntrospectionStack(t)
	session := signIn(t, s.srv, "ada@example.com", "acme")
	_, created := call(t, s.srv, "POST", "/api-tokens", session, `{}`)
	valid := created["token"].(string)
	for _, tc := range []struct {
		name, bearer, contentType, body string
		status                          int
		code                            string
	}{
		{"no bearer", "", form, tokenForm(valid), 401, "UNAUTHORIZED"},
		{"a deleted bearer", "x" + valid, form, tokenForm(valid), 401, "UNAUTHORIZED"},
		{"no token", session, form, "", 400, "INVALID_BODY"},
		{"an empty token", session, form, "token=", 400, "INVALID_BODY"},
		{"the token twice", session, form, "token=" + valid + "&token=" + valid, 400, "INVALID_BODY"},
		{"two hints", session, form, tokenForm(valid) + "&token_type_hint=a&token_type_hint=b", 400, "INVALID_BODY"},
		{"a JSON body", session, "application/json", `{"token":"` + valid + `"}`, 400, "INVALID_BODY"},
		{"a bad escape", session, form, "token=%zz", 400, "INVALID_BODY"},
	} {
		t.Run(tc.name+" is a "+tc.code, func(t *testing.T) {
			status, h, body := introspect(t, s.srv, tc.bearer, tc.contentType, tc.body)
			var out struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil || status != tc.status || out.Error.Code != tc.code || out.Error.Message == "" {
				t.Errorf("got %d %s, want %d %s with a message", status, body, tc.status, tc.code)
			}
			if status == 401 && h.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("a 401 without WWW-Authenticate: Bearer (RFC 6750 section 3)")
			}
		})
	}
	t.Run("a form with a charset and unknown parameters is read (the control)", func(t *testing.T) {
		if _, _, body := introspect(t, s.srv, session, form+"; charset=UTF-8", tokenForm(valid)+"&client_ip=192.0.2.7"); !strings.HasPrefix(body, `{"active":true,`) {
			t.Errorf("got %s, want active", body)
		}
	})
}

// A store that cannot be read is no answer: introspection says try again
// (503), never "inactive" (the token may be fine) nor "active".
func TestIntrospectionWithTheStoreDownIsA503(t *testing.T) {
	s := newIntrospectionStack(t)
	session := signIn(t, s.srv, "ada@example.com", "acme")
	_, created := call(t, s.srv, "POST", "/api-tokens", session, `{}`)
	valid := created["token"].(string)
	if _, _, body := introspect(t, s.srv, session, form, tokenForm(valid)); !strings.HasPrefix(body, `{"active":true,`) {
		t.Fatalf("the control, with the store up: got %s, want active", body)
	}
	// The same keys on a store where nothing listens; the session caller
	// needs no store read, so only the introspected token's read fails.
	down, err := localserver.NewWith(unreachableStore(t, "gone"), s.signing, key(t), localserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	downSrv := httptest.NewServer(down)
	t.Cleanup(downSrv.Close)
	downSession := signIn(t, downSrv, "ada@example.com", "acme")
	status, _, body := introspect(t, downSrv, downSession, form, tokenForm(valid))
	if status != 503 || !strings.Contains(body, `"UNAVAILABLE"`) {
		t.Errorf("got %d %s, want 503 UNAVAILABLE", status, body)
	}
}
