package api_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
)

func TestEveryRowOfTheRouteTableSaysWhatItNeeds(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range api.Routes() {
		if !slices.Contains([]string{"GET", "PUT", "POST", "DELETE", "PATCH"}, r.Method) || !strings.HasPrefix(r.Path, "/") || r.Function == "" {
			t.Errorf("row %+v: want an upper-case method, a path from /, and a function", r)
		}
		if r.Needs.String() == "unset" {
			t.Errorf("row %s needs nothing stated: every row names its scope, AnyCaller or NoAuthentication", r.Key())
		}
		if s, ok := r.Needs.Scope(); ok && !slices.Contains(access.AllScopes(), s) {
			t.Errorf("row %s needs %q, which is not a scope", r.Key(), s)
		}
		if seen[r.Key()] {
			t.Errorf("row %s is in the table twice", r.Key())
		}
		seen[r.Key()] = true
	}
}

// The functions that serve several routes dispatch with a Router: its
// routes must be exactly the table's rows of that function.
func TestEachRouterServesExactlyItsFunctionsRows(t *testing.T) {
	for function, router := range map[string]api.Router{
		"SandboxPlansFunction":     (&api.Plans{}).Routes(),
		"SandboxRefreshesFunction": (&api.Runs{}).Routes(),
		"TenantPolicyFunction":     (&api.TenantPolicy{}).Routes(),
	} {
		var want []string
		for _, r := range api.Routes() {
			if r.Function == function {
				want = append(want, r.Key())
			}
		}
		slices.Sort(want)
		if got := slices.Sorted(maps.Keys(router)); !slices.Equal(got, want) {
			t.Errorf("%s: got routes %q, want the table's %q", function, got, want)
		}
	}
}

func TestARouteOutsideTheTableIsRefusedWithA500AndChangesNothing(t *testing.T) {
	h, st := handlers()
	for _, route := range []string{"POST /api-tokens/v2", "PUT /api-tokens", "POST "} {
		resp, _ := h.Create(context.Background(), request(route, "session", `{"description":"CI"}`))
		if resp.StatusCode != 500 || decodeError(t, resp).Error.Code != "INTERNAL" {
			t.Errorf("%q: got %d %s, want 500 INTERNAL", route, resp.StatusCode, resp.Body)
		}
	}
	// A row that needs no authentication never reaches a handler that reads the caller.
	if resp, _ := api.WhoAmI(context.Background(), request("GET /", "session", "")); resp.StatusCode != 500 {
		t.Errorf("a public row's route: got %d %s, want 500", resp.StatusCode, resp.Body)
	}
	if len(st.created) != 0 {
		t.Fatalf("got %d tokens written, want none", len(st.created))
	}
	// The control: the route of the table creates the token.
	if resp, _ := h.Create(context.Background(), request(createRoute, "session", `{"description":"CI"}`)); resp.StatusCode != 201 || len(st.created) != 1 {
		t.Fatalf("POST /api-tokens: got %d %s, want 201", resp.StatusCode, resp.Body)
	}
}

func TestACallerWithoutTheRoutesScopeIsA403NamingIt(t *testing.T) {
	h, st := handlers()
	req := request(deleteRoute, "api_token", "")
	req.PathParameters = map[string]string{"id": "id-1"}
	st.created = append(st.created, access.Token{ID: "id-1", Tenant: "acme", Description: "CI"})
	req.RequestContext.Authorizer["scopes"] = "tokens:read sandbox-refreshes:run"

	resp, _ := h.Delete(context.Background(), req)
	e := decodeError(t, resp)
	if resp.StatusCode != 403 || e.Error.Code != "INSUFFICIENT_SCOPE" || !strings.Contains(e.Error.Message, "tokens:write") {
		t.Fatalf("got %d %s, want 403 INSUFFICIENT_SCOPE naming tokens:write", resp.StatusCode, resp.Body)
	}
	// RFC 6750 section 3.1: the challenge names the error and the scope.
	if got, want := resp.Headers["WWW-Authenticate"], `Bearer error="insufficient_scope", scope="tokens:write"`; got != want {
		t.Errorf("got WWW-Authenticate %q, want %q", got, want)
	}
	if len(st.created) != 1 {
		t.Fatal("the token was deleted by a caller without tokens:write")
	}
	// The control: with the scope, the same request deletes it.
	req.RequestContext.Authorizer["scopes"] = "tokens:write"
	if resp, _ := h.Delete(context.Background(), req); resp.StatusCode != 204 || len(st.created) != 0 {
		t.Fatalf("with tokens:write: got %d %s, want 204", resp.StatusCode, resp.Body)
	}
}

func TestAnAuthorizerContextWithoutValidScopesIs401(t *testing.T) {
	for _, scopes := range []any{nil, "", "tokens:read admin", "TOKENS:READ"} {
		req := request(whoamiRoute, "api_token", "")
		if scopes == nil {
			delete(req.RequestContext.Authorizer, "scopes")
		} else {
			req.RequestContext.Authorizer["scopes"] = scopes
		}
		if resp, _ := api.WhoAmI(context.Background(), req); resp.StatusCode != 401 {
			t.Errorf("scopes %v: got %d %s, want 401", scopes, resp.StatusCode, resp.Body)
		}
	}
}

func TestCreateRefusesBadScopesWithA400AndWritesNothing(t *testing.T) {
	tests := []struct {
		name, body, wantCode, wantMessage string
	}{
		{"an empty list", `{"scopes":[]}`, "INVALID_SCOPE", "at least one scope"},
		{"an unknown scope", `{"scopes":["tokens:read","admin"]}`, "INVALID_SCOPE", `"admin"`},
		{"a scope in another case", `{"scopes":["Tokens:Read"]}`, "INVALID_SCOPE", `"Tokens:Read"`},
		{"an empty name", `{"scopes":[""]}`, "INVALID_SCOPE", `""`},
		{"the scopes as one space-separated string", `{"scopes":"tokens:read tokens:write"}`, "INVALID_BODY", "scopes"},
		{"a scope that is not a string", `{"scopes":[1]}`, "INVALID_BODY", "scopes"},
		{"a null scope", `{"scopes":[null]}`, "INVALID_SCOPE", `""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, st := handlers()
			resp, _ := h.Create(context.Background(), request(createRoute, "session", tc.body))
			e := decodeError(t, resp)
			if resp.StatusCode != 400 || e.Error.Code != tc.wantCode || !strings.Contains(e.Error.Message, tc.wantMessage) {
				t.Fatalf("got %d %s, want 400 %s naming %s", resp.StatusCode, resp.Body, tc.wantCode, tc.wantMessage)
			}
			if len(st.created) != 0 {
				t.Fatalf("got %d tokens written, want none", len(st.created))
			}
		})
	}
}

func TestCreateAndListReturnTheTokensScopes(t *testing.T) {
	all := []string{"tokens:read", "tokens:write", "tokens:introspect", "sandbox-plans:read", "sandbox-plans:write",
		"sandbox-refreshes:read", "sandbox-refreshes:run", "compliance-jobs:run", "audit:read"}
	tests := []struct {
		name, body string
		want       []string
	}{
		{"no scopes: every scope, written out", `{}`, all},
		{"null scopes: every scope", `{"scopes":null}`, all},
		{"duplicates once, in the documented order", `{"scopes":["sandbox-refreshes:run","tokens:read","sandbox-refreshes:run"]}`, []string{"tokens:read", "sandbox-refreshes:run"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, st := handlers()
			resp, _ := h.Create(context.Background(), request(createRoute, "session", tc.body))
			var created struct{ Scopes []string }
			if err := json.Unmarshal([]byte(resp.Body), &created); err != nil || resp.StatusCode != 201 {
				t.Fatalf("got %d %s, want 201", resp.StatusCode, resp.Body)
			}
			if !slices.Equal(created.Scopes, tc.want) {
				t.Errorf("create: got scopes %q, want %q", created.Scopes, tc.want)
			}
			if got := st.created[0].Scopes; access.FormatScopes(got) != strings.Join(tc.want, " ") {
				t.Errorf("stored: got scopes %q, want %q", got, tc.want)
			}
			resp, _ = h.List(context.Background(), request(listRoute, "session", ""))
			var list struct{ Items []struct{ Scopes []string } }
			if err := json.Unmarshal([]byte(resp.Body), &list); err != nil || len(list.Items) != 1 || !slices.Equal(list.Items[0].Scopes, tc.want) {
				t.Errorf("list: got %s, want the scopes %q", resp.Body, tc.want)
			}
		})
	}
}

// A token created before scopes existed has none stored: the list shows
// what it is granted, every scope there was when scopes came.
func TestListShowsTheLegacyScopesOfATokenFromBeforeScopes(t *testing.T) {
	h, st := handlers()
	st.created = append(st.created, access.Token{ID: "id-0", Tenant: "acme", Description: "old"})
	resp, _ := h.List(context.Background(), request(listRoute, "session", ""))
	var list struct{ Items []struct{ Scopes []string } }
	want := []string{"tokens:read", "tokens:write", "tokens:introspect", "sandbox-plans:read", "sandbox-plans:write", "sandbox-refreshes:read", "sandbox-refreshes:run", "compliance-jobs:run"}
	if err := json.Unmarshal([]byte(resp.Body), &list); err != nil || len(list.Items) != 1 || !slices.Equal(list.Items[0].Scopes, want) {
		t.Fatalf("got %s, want the legacy scopes %q", resp.Body, want)
	}
}
