package localserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/localserver"
)

// These tests go through the local stack (the gateway, the authorizer,
// DynamoDB Local, the handlers), where every route of the route table is
// served: make run's answers are the deployed stack's.

// createToken creates a token with scopes (nil: leave scopes out) and
// returns it.
func createToken(t *testing.T, s *pipelineStack, scopes []access.Scope) string {
	t.Helper()
	body := `{}`
	if scopes != nil {
		names, _ := json.Marshal(scopes)
		body = `{"scopes":` + string(names) + `}`
	}
	status, out := call(t, s.http, "POST", "/api-tokens", s.session, body)
	if status != 201 {
		t.Fatalf("create a token with %s: got %d %v", body, status, out)
	}
	return out["token"].(string)
}

// but is every scope except s.
func but(s access.Scope) []access.Scope {
	return slices.DeleteFunc(access.AllScopes(), func(x access.Scope) bool { return x == s })
}

// requestFor is a request for route that a caller with its scope gets an
// answer to, without changing anything: the ids name nothing that exists.
func requestFor(r api.Route) (path, body string) {
	path = strings.NewReplacer("{id}", "0193f6b2-0000-7000-8000-000000000000", "{sandbox}", "nosuchsandbox").Replace(r.Path)
	switch r.Key() {
	case "POST /sandbox-refreshes":
		body = `{"sandbox":"nosuchsandbox"}`
	case "PUT /sandbox-plans/{sandbox}":
		body = `{}`
	case "POST /api-tokens/revoke":
		body = `{"tokens":["not-a-token"]}`
	}
	return path, body
}

func errorOf(out map[string]any) (code, message string) {
	e, _ := out["error"].(map[string]any)
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	return code, message
}

func TestEveryRouteRefusesATokenWithoutItsScopeAndLetsOneWithItThrough(t *testing.T) {
	s := newPipelineStack(t)
	for _, r := range api.Routes() {
		path, body := requestFor(r)
		scope, scoped := r.Needs.Scope()
		switch {
		case !r.Needs.Authenticated():
			t.Run(r.Key()+" is served without a bearer", func(t *testing.T) {
				req, _ := http.NewRequestWithContext(context.Background(), r.Method, s.http.URL+strings.ReplaceAll(path, "{proxy+}", "app.js"), strings.NewReader(body))
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := s.http.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 202 {
					t.Errorf("got %d, want 200 or 202 without a bearer", resp.StatusCode)
				}
			})
		case !scoped:
			t.Run(r.Key()+" lets a token of any one scope through", func(t *testing.T) {
				for _, only := range access.AllScopes() {
					// Let through: the route's own answer, whatever it is (a
					// rotation of another token is the route's 403
					// TOKEN_ROTATES_ONLY_ITSELF), never a refused bearer or scope.
					status, out := call(t, s.http, r.Method, path, createToken(t, s, []access.Scope{only}), body)
					if code, _ := errorOf(out); status == 401 || code == access.CodeInsufficientScope {
						t.Errorf("a token with just %s: got %d %v, want it let through", only, status, out)
					}
				}
			})
		default:
			t.Run(r.Key()+" needs "+string(scope), func(t *testing.T) {
				status, out := call(t, s.http, r.Method, path, createToken(t, s, but(scope)), body)
				if code, msg := errorOf(out); status != 403 || code != access.CodeInsufficientScope || !strings.Contains(msg, string(scope)) {
					t.Errorf("a token with every scope but %s: got %d %v, want 403 INSUFFICIENT_SCOPE naming it", scope, status, out)
				}
				status, out = call(t, s.http, r.Method, path, createToken(t, s, []access.Scope{scope}), body)
				t.Logf("a token with just %s: %d %v", scope, status, out)
				if code, msg := errorOf(out); status == 401 || code == access.CodeInsufficientScope || strings.HasPrefix(msg, "No such route") {
					t.Errorf("a token with just %s: got %d %v, want the route's own answer", scope, status, out)
				}
				status, out = call(t, s.http, r.Method, path, s.session, body)
				if code, _ := errorOf(out); status == 401 || code == access.CodeInsufficientScope {
					t.Errorf("a session: got %d %v, want the route's own answer", status, out)
				}
			})
		}
	}
}

// A CI job's token narrowed to sandbox-refreshes:run starts a run (the
// pipeline runs to its end), and can do nothing with tokens.
func TestACITokenNarrowedToRunningRefreshesCannotTouchTokens(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	ci := createToken(t, s, []access.Scope{access.ScopeSandboxRefreshesRun})

	status, out := call(t, s.http, "POST", "/sandbox-refreshes", ci, `{"sandbox":"uat1"}`)
	if status != 202 {
		t.Fatalf("start a run with the CI token: got %d %v, want 202", status, out)
	}
	if run := s.wait(t, out["id"].(string)); run["status"] != "SUCCEEDED" {
		t.Fatalf("the CI token's run: got %v %v, want SUCCEEDED", run["status"], run["error"])
	}
	_, list := call(t, s.http, "GET", "/api-tokens", s.session, "")
	before := len(list["items"].([]any))
	for _, tc := range []struct{ method, path, scope string }{
		{"GET", "/api-tokens", "tokens:read"},
		{"DELETE", "/api-tokens/" + list["items"].([]any)[0].(map[string]any)["id"].(string), "tokens:write"},
		{"GET", "/sandbox-refreshes/" + out["id"].(string), "sandbox-refreshes:read"},
		{"GET", "/sandbox-plans", "sandbox-plans:read"},
	} {
		req, _ := http.NewRequestWithContext(context.Background(), tc.method, s.http.URL+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+ci)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if code, msg := errorOf(body); resp.StatusCode != 403 || code != "INSUFFICIENT_SCOPE" || !strings.Contains(msg, tc.scope) {
			t.Errorf("%s %s: got %d %v, want 403 INSUFFICIENT_SCOPE naming %s", tc.method, tc.path, resp.StatusCode, body, tc.scope)
		}
		if got, want := resp.Header.Get("WWW-Authenticate"), `Bearer error="insufficient_scope", scope="`+tc.scope+`"`; got != want {
			t.Errorf("%s %s: got WWW-Authenticate %q, want %q", tc.method, tc.path, got, want)
		}
	}
	if _, list = call(t, s.http, "GET", "/api-tokens", s.session, ""); len(list["items"].([]any)) != before {
		t.Fatalf("got %d tokens after the refused delete, want %d", len(list["items"].([]any)), before)
	}
	// whoami answers any caller, and says what the token may do.
	if status, who := call(t, s.http, "GET", "/whoami", ci, ""); status != 200 || fmt.Sprint(who["scopes"]) != "[sandbox-refreshes:run]" {
		t.Fatalf("whoami with the CI token: got %d %v, want its one scope", status, who)
	}
}

func TestBadScopesAre400AndCreateNothing(t *testing.T) {
	s := newPipelineStack(t)
	_, list := call(t, s.http, "GET", "/api-tokens", s.session, "")
	before := len(list["items"].([]any))
	for body, want := range map[string]string{
		`{"scopes":[]}`: "at least one scope",
		`{"scopes":["tokens:read","tokens:all"]}`: `"tokens:all"`,
	} {
		status, out := call(t, s.http, "POST", "/api-tokens", s.session, body)
		if code, msg := errorOf(out); status != 400 || code != "INVALID_SCOPE" || !strings.Contains(msg, want) {
			t.Errorf("%s: got %d %v, want 400 INVALID_SCOPE naming %s", body, status, out, want)
		}
	}
	if _, list = call(t, s.http, "GET", "/api-tokens", s.session, ""); len(list["items"].([]any)) != before {
		t.Fatalf("got %d tokens, want %d: a refused create writes nothing", len(list["items"].([]any)), before)
	}
	// The control: the same body with known scopes creates the token, and
	// create and list both show its scopes, duplicates once, in order.
	status, created := call(t, s.http, "POST", "/api-tokens", s.session, `{"scopes":["sandbox-refreshes:run","tokens:read","tokens:read"]}`)
	if status != 201 || fmt.Sprint(created["scopes"]) != "[tokens:read sandbox-refreshes:run]" {
		t.Fatalf("create: got %d %v, want 201 with the two scopes", status, created)
	}
	_, list = call(t, s.http, "GET", "/api-tokens", s.session, "")
	if first := list["items"].([]any)[0].(map[string]any); first["id"] != created["id"] || fmt.Sprint(first["scopes"]) != "[tokens:read sandbox-refreshes:run]" {
		t.Fatalf("list: got %v, want the new token first with its scopes", first)
	}
}

// The pipeline's own DCS token may run the masking job and nothing else.
func TestTheDemosDCSTokenHasOnlyComplianceJobsRun(t *testing.T) {
	s := newPipelineStack(t)
	_, list := call(t, s.http, "GET", "/api-tokens", s.session, "")
	for _, it := range list["items"].([]any) {
		tok := it.(map[string]any)
		if strings.HasPrefix(tok["description"].(string), "local sandbox refresh") {
			if got := fmt.Sprint(tok["scopes"]); got != "[compliance-jobs:run]" {
				t.Fatalf("got the DCS token's scopes %s, want [compliance-jobs:run]", got)
			}
			return
		}
	}
	t.Fatalf("no DCS token in %v", list)
}

// A DCS token without compliance-jobs:run: DCS refuses the masking call
// with 403, once (it is not retried), and the run fails saying why.
func TestADCSTokenWithoutComplianceJobsRunFailsTheRunSayingSo(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	secret := s.plan["dcs"].(map[string]any)["apiTokenSecretArn"].(string)
	s.srv.Secrets.Put(secret, createToken(t, s, but(access.ScopeComplianceJobsRun)))

	run := s.wait(t, s.start(t))
	code, msg := failure(run)
	if run["status"] != "FAILED" || run["failedStep"] != "masking" || code != "PERMANENT_ERROR" ||
		!strings.Contains(msg, "403 INSUFFICIENT_SCOPE") || !strings.Contains(msg, "compliance-jobs:run") {
		t.Fatalf("got %v in %v: %v %q, want FAILED in masking, PERMANENT_ERROR naming 403 INSUFFICIENT_SCOPE and compliance-jobs:run", run["status"], run["failedStep"], code, msg)
	}
	refused := 0
	for _, c := range s.srv.DCS.Calls() {
		if c.Status == 403 {
			refused++
		}
	}
	if refused != 1 || len(s.srv.DCS.Executions()) != 0 {
		t.Fatalf("got %d calls answered 403 and %d executions, want exactly one refusal and no execution", refused, len(s.srv.DCS.Executions()))
	}
}

// A token created before tokens had scopes (its item has none, its JWT no
// scope claim) keeps doing what it did: it is granted every scope there was
// when scopes came.
func TestATokenFromBeforeScopesKeepsWorkingWithEveryScopeOfThen(t *testing.T) {
	s := newPipelineStack(t)
	signer, err := apitoken.NewKeySigner(s.signing)
	if err != nil {
		t.Fatal(err)
	}
	old := access.Token{ID: "0193f6b2-0000-7000-8000-0000000000aa", Tenant: "acme", Description: "from before scopes",
		AssociatedUser: "ada@acme.example", CreatedAt: time.Now().UTC().Truncate(time.Second)}
	raw, err := apitoken.Minter{Issuer: localserver.TokenIssuer, Signer: signer}.Mint(context.Background(),
		apitoken.Grant{ID: old.ID, User: old.AssociatedUser, Tenant: old.Tenant, IssuedAt: old.CreatedAt})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.Create(context.Background(), old, access.DefaultPolicy(), audittest.TokenCreated(old.Tenant, old.ID)); err != nil {
		t.Fatal(err)
	}
	legacy := "[tokens:read tokens:write tokens:introspect sandbox-plans:read sandbox-plans:write sandbox-refreshes:read sandbox-refreshes:run compliance-jobs:run]"
	if status, who := call(t, s.http, "GET", "/whoami", raw, ""); status != 200 || fmt.Sprint(who["scopes"]) != legacy {
		t.Fatalf("whoami: got %d %v, want the legacy scopes %s", status, who, legacy)
	}
	status, list := call(t, s.http, "GET", "/api-tokens", raw, "")
	if status != 200 {
		t.Fatalf("list with the old token: got %d %v", status, list)
	}
	for _, it := range list["items"].([]any) {
		if tok := it.(map[string]any); tok["id"] == old.ID && fmt.Sprint(tok["scopes"]) != legacy {
			t.Fatalf("listed: got scopes %v, want %s", tok["scopes"], legacy)
		}
	}
	if status, out := call(t, s.http, "GET", "/sandbox-plans", raw, ""); status != 200 {
		t.Fatalf("plans with the old token: got %d %v, want 200", status, out)
	}
	if status, _ := call(t, s.http, "DELETE", "/api-tokens/"+old.ID, raw, ""); status != 204 {
		t.Fatalf("the old token deleting itself: got %d, want 204", status)
	}
}
