package localserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/localserver"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

func key(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// stack serves the local stack over HTTP on loopback, backed by DynamoDB Local.
func stack(t *testing.T) (*httptest.Server, *testenv.Buffer) {
	t.Helper()
	client, table := testenv.Table(t)
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(log)
	t.Cleanup(func() { slog.SetDefault(prev) })
	h, err := localserver.NewWith(dynamo.New(client, table, time.Now), key(t), key(t), localserver.Config{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, logs
}

func call(t *testing.T, srv *httptest.Server, method, path, bearer, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: got non-JSON body %q", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func signIn(t *testing.T, srv *httptest.Server, email, tenant string) string {
	t.Helper()
	status, out := call(t, srv, "POST", "/local/sessions", "", `{"email":"`+email+`","tenant":"`+tenant+`"}`)
	if status != 200 {
		t.Fatalf("sign in: got %d %v", status, out)
	}
	return out["token"].(string)
}

// signInAdmin signs in a tenant administrator (the local sign-in's admin flag).
func signInAdmin(t *testing.T, srv *httptest.Server, email, tenant string) string {
	t.Helper()
	status, out := call(t, srv, "POST", "/local/sessions", "", `{"email":"`+email+`","tenant":"`+tenant+`","admin":true}`)
	if status != 200 {
		t.Fatalf("sign in an administrator: got %d %v", status, out)
	}
	return out["token"].(string)
}

func TestCreateUseDeleteThenDenyOverHTTP(t *testing.T) {
	srv, logs := stack(t)
	session := signIn(t, srv, "ada@example.com", "acme")

	status, created := call(t, srv, "POST", "/api-tokens", session, `{"description":"nightly masking","lifespanDays":30}`)
	if status != 201 {
		t.Fatalf("create: got %d %v, want 201", status, created)
	}
	token, id := created["token"].(string), created["id"].(string)

	status, who := call(t, srv, "GET", "/whoami", token, "")
	if status != 200 || who["user"] != "ada@example.com" || who["tenant"] != "acme" || who["authType"] != "api_token" || who["tokenId"] != id {
		t.Fatalf("whoami with the token: got %d %v", status, who)
	}
	status, who = call(t, srv, "GET", "/whoami", session, "")
	if status != 200 || who["authType"] != "session" {
		t.Fatalf("whoami with the session: got %d %v", status, who)
	}
	if status, out := call(t, srv, "POST", "/api-tokens", token, `{}`); status != 403 || out["error"].(map[string]any)["code"] != "SESSION_REQUIRED" {
		t.Fatalf("create with an api token: got %d %v, want 403 SESSION_REQUIRED", status, out)
	}

	status, list := call(t, srv, "GET", "/api-tokens", token, "")
	items, _ := list["items"].([]any)
	if status != 200 || len(items) != 1 || items[0].(map[string]any)["statusText"] == "" {
		t.Fatalf("list: got %d %v", status, list)
	}

	if status, out := call(t, srv, "DELETE", "/api-tokens/"+id, session, ""); status != 204 {
		t.Fatalf("delete: got %d %v, want 204", status, out)
	}
	if status, out := call(t, srv, "GET", "/whoami", token, ""); status != 401 || out["error"].(map[string]any)["code"] != "UNAUTHORIZED" {
		t.Fatalf("whoami after delete: got %d %v, want 401", status, out)
	}
	if status, _ := call(t, srv, "GET", "/api-tokens", token, ""); status != 401 {
		t.Fatalf("list with the deleted token: got %d, want 401", status)
	}

	// The positive control: the refused requests were logged, without the token.
	if !strings.Contains(logs.String(), "request denied") {
		t.Fatalf("the logs do not hold the denials, so they prove nothing about the token: %s", logs.String())
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), token[strings.LastIndex(token, ".")+1:]) {
		t.Fatal("the logs contain the token")
	}
}

func TestATokenMayDeleteItself(t *testing.T) {
	srv, _ := stack(t)
	session := signIn(t, srv, "ada@example.com", "acme")
	_, created := call(t, srv, "POST", "/api-tokens", session, `{}`)
	token, id := created["token"].(string), created["id"].(string)
	if status, _ := call(t, srv, "DELETE", "/api-tokens/"+id, token, ""); status != 204 {
		t.Fatalf("got %d, want 204", status)
	}
	if status, _ := call(t, srv, "GET", "/whoami", token, ""); status != 401 {
		t.Fatalf("got %d after self-delete, want 401", status)
	}
}

func TestTenantsNeverSeeOrDeleteEachOthersTokens(t *testing.T) {
	srv, _ := stack(t)
	ada := signIn(t, srv, "ada@example.com", "acme")
	eve := signIn(t, srv, "eve@example.com", "globex")
	bob := signIn(t, srv, "bob@example.com", "acme")

	_, created := call(t, srv, "POST", "/api-tokens", ada, `{"description":"shared name"}`)
	id := created["id"].(string)
	if status, _ := call(t, srv, "POST", "/api-tokens", eve, `{"description":"shared name"}`); status != 201 {
		t.Fatalf("globex using acme's description: got %d, want 201", status)
	}

	_, list := call(t, srv, "GET", "/api-tokens", eve, "")
	for _, it := range list["items"].([]any) {
		if it.(map[string]any)["id"] == id {
			t.Fatal("globex sees acme's token")
		}
	}
	if status, _ := call(t, srv, "DELETE", "/api-tokens/"+id, eve, ""); status != 404 {
		t.Fatalf("globex deleting acme's token: got %d, want 404", status)
	}
	// Anyone in the tenant lists every user's tokens.
	_, list = call(t, srv, "GET", "/api-tokens", bob, "")
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["associatedUser"] != "ada@example.com" {
		t.Fatalf("bob in acme: got %v, want ada's token", list)
	}
}

func TestTheGatewayAnswersLikeAPIGateway(t *testing.T) {
	srv, _ := stack(t)
	session := signIn(t, srv, "ada@example.com", "acme")
	tests := []struct {
		name, method, path, bearer, body string
		want                             int
	}{
		{"no authorization header is 401", "GET", "/whoami", "", "", 401},
		{"a garbage bearer is 401", "GET", "/whoami", "x.y.z", "", 401},
		{"an unknown route is 404", "GET", "/nope", session, "", 404},
		{"an unknown token id is 404", "DELETE", "/api-tokens/0193f6b2-0000-7000-8000-000000000000", session, "", 404},
		{"a duplicate description is 409", "POST", "/api-tokens", session, `{"description":"dup"}`, 201},
		{"", "POST", "/api-tokens", session, `{"description":"DUP"}`, 409},
		{"a bad body is 400", "POST", "/api-tokens", session, `{"lifespanDays":1.5}`, 400},
	}
	for _, tc := range tests {
		status, out := call(t, srv, tc.method, tc.path, tc.bearer, tc.body)
		if status != tc.want {
			t.Errorf("%s: got %d %v, want %d", tc.name, status, out, tc.want)
		}
		if status >= 400 {
			if e, ok := out["error"].(map[string]any); !ok || e["code"] == "" || e["message"] == "" {
				t.Errorf("%s: got %v, want the error shape", tc.name, out)
			}
		}
	}
}

func TestLocalSignInRefusesBadInput(t *testing.T) {
	srv, _ := stack(t)
	for _, body := range []string{`{}`, `{"email":"not an address","tenant":"acme"}`, `{"email":"a@b.c","tenant":""}`, `{"email":"a@b.c","tenant":"a#b"}`,
		`{"email":"a@b.c","tenant":"x","admin":"yes"}`, `{"email":"a@b.c","tenant":"x","Admin":true}`, `{"email":"a@b.c","tenant":"x","role":"admin"}`} {
		if status, _ := call(t, srv, "POST", "/local/sessions", "", body); status != 400 {
			t.Errorf("%s: got %d, want 400", body, status)
		}
	}
}

// The scheme is case-insensitive (RFC 7235); two Authorization headers are
// refused, whichever comes first, as the deployed REQUEST authorizer does.
func TestTwoAuthorizationHeadersAre401(t *testing.T) {
	srv, _ := stack(t)
	session := signIn(t, srv, "ada@example.com", "acme")
	_, created := call(t, srv, "POST", "/api-tokens", session, `{}`)
	token := created["token"].(string)
	whoami := func(values ...string) (int, http.Header) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), "GET", srv.URL+"/whoami", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			req.Header.Add("Authorization", v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	for _, tc := range []struct {
		name   string
		values []string
		want   int
	}{
		{"one bearer", []string{"Bearer " + token}, 200},
		{"an upper-case scheme", []string{"BEARER " + token}, 200},
		{"a lower-case scheme", []string{"bearer " + session}, 200},
		{"two valid bearers", []string{"Bearer " + token, "Bearer " + session}, 401},
		{"the same bearer twice", []string{"Bearer " + token, "Bearer " + token}, 401},
		{"a bad bearer, then a valid one", []string{"Bearer x.y.z", "Bearer " + token}, 401},
		{"a valid bearer, then an empty header", []string{"Bearer " + token, ""}, 401},
	} {
		status, header := whoami(tc.values...)
		if status != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, status, tc.want)
		}
		if status == 401 && header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%s: got WWW-Authenticate %q, want Bearer", tc.name, header.Get("WWW-Authenticate"))
		}
	}
}
