package api_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/tenantpolicy"
)

// policyStore is one tenant's stored policy (nil: none), counting writes.
type policyStore struct {
	policy *access.Policy
	puts   int
}

func (s *policyStore) GetPolicy(context.Context, string) (access.Policy, error) {
	if s.policy == nil {
		return access.DefaultPolicy(), nil
	}
	return *s.policy, nil
}

func (s *policyStore) PutPolicy(_ context.Context, _ string, p access.Policy, _ audit.Event) error {
	s.policy, s.puts = &p, s.puts+1
	return nil
}

// policyCall is a session's request; admin is the authorizer context's
// "admin" (nil: none).
func policyCall(t *testing.T, st *policyStore, route string, admin any, body string) api.Response {
	t.Helper()
	req := request(route, "session", body)
	if admin != nil {
		req.RequestContext.Authorizer["admin"] = admin
	}
	resp, err := api.NewTenantPolicy(st).Routes().Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

const valid = `{"maxLifespanDays":90,"requireExpiry":true,"allowedScopes":["tokens:read","compliance-jobs:run"],"ownerOnlyDelete":true}`

func TestThePolicyIsTheDefaultUntilAnAdministratorSetsIt(t *testing.T) {
	st := &policyStore{}
	resp := policyCall(t, st, "GET /tenant-policy", nil, "")
	want := `{"maxLifespanDays":null,"requireExpiry":false,"allowedScopes":["tokens:read","tokens:write","tokens:introspect","sandbox-plans:read","sandbox-plans:write","sandbox-refreshes:read","sandbox-refreshes:run","compliance-jobs:run","audit:read"],"ownerOnlyDelete":false,"version":0}`
	if resp.StatusCode != 200 || resp.Body != want {
		t.Fatalf("got %d %s, want 200 %s", resp.StatusCode, resp.Body, want)
	}
	resp = policyCall(t, st, "PUT /tenant-policy", "true", valid)
	want = `{"maxLifespanDays":90,"requireExpiry":true,"allowedScopes":["tokens:read","compliance-jobs:run"],"ownerOnlyDelete":true,"version":1}`
	if resp.StatusCode != 200 || resp.Body != want {
		t.Fatalf("got %d %s, want 200 %s", resp.StatusCode, resp.Body, want)
	}
	if resp = policyCall(t, st, "GET /tenant-policy", nil, ""); resp.Body != want {
		t.Fatalf("read back: got %s, want %s", resp.Body, want)
	}
}

// Only "true" (what API Gateway makes of the authorizer's true) or true
// makes a session an administrator's; an API token never is one.
func TestOnlyAnAdministratorsSessionMayPut(t *testing.T) {
	for _, tc := range []struct {
		name     string
		authType string
		admin    any
		wantCode string
	}{
		{"an administrator's session, as API Gateway passes it", "session", "true", ""},
		{"an administrator's session, as a boolean", "session", true, ""},
		{"a session without the flag", "session", nil, tenantpolicy.CodeAdminRequired},
		{"a session whose flag is false", "session", "false", tenantpolicy.CodeAdminRequired},
		{"a session whose flag is anything else", "session", "yes", tenantpolicy.CodeAdminRequired},
		{"an API token, whatever its context says", "api_token", "true", "SESSION_REQUIRED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &policyStore{}
			req := request("PUT /tenant-policy", tc.authType, valid)
			if tc.admin != nil {
				req.RequestContext.Authorizer["admin"] = tc.admin
			}
			if tc.authType == "api_token" {
				req.RequestContext.Authorizer["tokenId"] = "tok-1"
			}
			resp, _ := api.NewTenantPolicy(st).Put(context.Background(), req)
			if tc.wantCode == "" {
				if resp.StatusCode != 200 || st.puts != 1 {
					t.Fatalf("got %d %s after %d writes, want 200 and the policy stored", resp.StatusCode, resp.Body, st.puts)
				}
				return
			}
			if e := decodeError(t, resp); resp.StatusCode != 403 || e.Error.Code != tc.wantCode || st.puts != 0 {
				t.Fatalf("got %d %s after %d writes, want 403 %s and nothing written", resp.StatusCode, resp.Body, st.puts, tc.wantCode)
			}
		})
	}
}

func TestABadPolicyBodyIsA400NamingTheFieldAndChangesNothing(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(map[string]any)
		raw      string // instead of the edited body
		wantCode string
		naming   string
	}{
		{"an unknown member", func(b map[string]any) { b["maxLifespan"] = 30 }, "", "INVALID_BODY", `"maxLifespan"`},
		{"a member in another case", func(b map[string]any) { delete(b, "ownerOnlyDelete"); b["OwnerOnlyDelete"] = true }, "", "INVALID_BODY", `"ownerOnlyDelete"`},
		{"a member twice", nil, `{"maxLifespanDays":90,"maxLifespanDays":null,"requireExpiry":true,"allowedScopes":["tokens:read"],"ownerOnlyDelete":false}`, "INVALID_BODY", `"maxLifespanDays"`},
		{"requireExpiry of the wrong type", func(b map[string]any) { b["requireExpiry"] = "yes" }, "", "INVALID_BODY", `"requireExpiry"`},
		{"allowedScopes of the wrong type", func(b map[string]any) { b["allowedScopes"] = "tokens:read" }, "", "INVALID_BODY", `"allowedScopes"`},
		{"maxLifespanDays left out", func(b map[string]any) { delete(b, "maxLifespanDays") }, "", "INVALID_POLICY", "maxLifespanDays is required"},
		{"requireExpiry left out", func(b map[string]any) { delete(b, "requireExpiry") }, "", "INVALID_POLICY", "requireExpiry is required"},
		{"requireExpiry null", func(b map[string]any) { b["requireExpiry"] = nil }, "", "INVALID_POLICY", "requireExpiry is required"},
		{"allowedScopes left out", func(b map[string]any) { delete(b, "allowedScopes") }, "", "INVALID_POLICY", "allowedScopes is required"},
		{"ownerOnlyDelete left out", func(b map[string]any) { delete(b, "ownerOnlyDelete") }, "", "INVALID_POLICY", "ownerOnlyDelete is required"},
		{"maxLifespanDays as a string", func(b map[string]any) { b["maxLifespanDays"] = "90" }, "", "INVALID_POLICY", "maxLifespanDays"},
		{"maxLifespanDays fractional", func(b map[string]any) { b["maxLifespanDays"] = 1.5 }, "", "INVALID_POLICY", "maxLifespanDays"},
		{"maxLifespanDays 0", func(b map[string]any) { b["maxLifespanDays"] = 0 }, "", "INVALID_POLICY", "maxLifespanDays"},
		{"maxLifespanDays over ten years", func(b map[string]any) { b["maxLifespanDays"] = 3651 }, "", "INVALID_POLICY", "maxLifespanDays"},
		{"a maximum that lets tokens never expire", func(b map[string]any) { b["requireExpiry"] = false }, "", "INVALID_POLICY", "requireExpiry"},
		{"an unknown scope", func(b map[string]any) { b["allowedScopes"] = []string{"tokens:all"} }, "", "INVALID_POLICY", `"tokens:all"`},
		{"no scope", func(b map[string]any) { b["allowedScopes"] = []string{} }, "", "INVALID_POLICY", "allowedScopes"},
		{"a version that is not a number", func(b map[string]any) { b["version"] = "1" }, "", "INVALID_POLICY", "version"},
		{"a negative version", func(b map[string]any) { b["version"] = -1 }, "", "INVALID_POLICY", "version"},
		{"not JSON", nil, `maxLifespanDays=90`, "INVALID_BODY", "JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.raw
			if tc.edit != nil {
				var b map[string]any
				_ = json.Unmarshal([]byte(valid), &b)
				tc.edit(b)
				raw, _ := json.Marshal(b)
				body = string(raw)
			}
			before := access.Policy{AllowedScopes: access.AllScopes(), Version: 3}
			st := &policyStore{policy: &before}
			resp := policyCall(t, st, "PUT /tenant-policy", "true", body)
			if e := decodeError(t, resp); resp.StatusCode != 400 || e.Error.Code != tc.wantCode || !strings.Contains(e.Error.Message, tc.naming) {
				t.Fatalf("got %d %s, want 400 %s naming %s", resp.StatusCode, resp.Body, tc.wantCode, tc.naming)
			}
			if st.puts != 0 || !reflect.DeepEqual(*st.policy, before) {
				t.Fatalf("got %+v after %d writes, want the policy unchanged", *st.policy, st.puts)
			}
		})
	}
}

// A caller who may not change the policy learns nothing from its body.
func TestANonAdministratorsBadBodyIsStillA403(t *testing.T) {
	st := &policyStore{}
	resp := policyCall(t, st, "PUT /tenant-policy", nil, `{"nonsense":`)
	if e := decodeError(t, resp); resp.StatusCode != 403 || e.Error.Code != tenantpolicy.CodeAdminRequired {
		t.Fatalf("got %d %s, want 403 ADMIN_REQUIRED", resp.StatusCode, resp.Body)
	}
}

func TestTheListFlagsTokensOutsideThePolicy(t *testing.T) {
	h, st := handlers()
	if resp, _ := h.Create(context.Background(), request(createRoute, "session", `{"description":"forever"}`)); resp.StatusCode != 201 {
		t.Fatalf("create: got %d %s", resp.StatusCode, resp.Body)
	}
	st.policy = &access.Policy{RequireExpiry: true, AllowedScopes: []access.Scope{access.ScopeComplianceJobsRun}, Version: 1}
	resp, _ := h.List(context.Background(), request(listRoute, "session", ""))
	var page struct {
		Items []map[string]any `json:"items"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &page)
	want := []any{"never expires", "scopes tokens:read, tokens:write, tokens:introspect, sandbox-plans:read, sandbox-plans:write, sandbox-refreshes:read, sandbox-refreshes:run, audit:read are not allowed"}
	if len(page.Items) != 1 || !reflect.DeepEqual(page.Items[0]["outsidePolicy"], want) {
		t.Fatalf("got %s, want the token flagged %v", resp.Body, want)
	}
	// Within the policy: no flag at all.
	st.policy = nil
	resp, _ = h.List(context.Background(), request(listRoute, "session", ""))
	if strings.Contains(resp.Body, "outsidePolicy") {
		t.Fatalf("got %s, want no outsidePolicy under the default policy", resp.Body)
	}
}

// The caller as functions read it: admin only for a session, and only
// "true" (or true) makes it one.
func TestThePrincipalIsAnAdministratorOnlyForASessionThatSaysSo(t *testing.T) {
	for _, tc := range []struct {
		authType string
		admin    any
		want     bool
	}{
		{"session", "true", true}, {"session", true, true}, {"session", "false", false}, {"session", "TRUE", false}, {"session", nil, false},
		{"api_token", "true", false}, {"api_token", true, false},
	} {
		req := request(whoamiRoute, tc.authType, "")
		if tc.admin != nil {
			req.RequestContext.Authorizer["admin"] = tc.admin
		}
		p, err := api.Principal(req)
		if err != nil || p.Admin != tc.want {
			t.Errorf("%s with admin %#v: got %+v, %v, want admin %v", tc.authType, tc.admin, p, err, tc.want)
		}
	}
}
