package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

var now = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

// memStore holds the tokens created through it, and the audit events of
// its changes; a delete removes one of the tenant's, and any other id is
// NOT_FOUND, as in DynamoDB.
type memStore struct {
	created []access.Token
	events  []audit.Event
	policy  *access.Policy // nil: the default policy
}

func (m *memStore) Create(ctx context.Context, t access.Token, _ access.Policy, ev audit.Event) error {
	for _, c := range m.created {
		if tokens.DescriptionKey(c.Description) == tokens.DescriptionKey(t.Description) {
			return tokens.ErrDescriptionTaken()
		}
	}
	m.created = append(m.created, t)
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) List(_ context.Context, tenant string, limit int, cursor string) ([]access.Token, string, error) {
	if cursor == "bad" {
		return nil, "", access.Errorf(access.EINVALID, "INVALID_NEXT_TOKEN", "bad cursor")
	}
	return m.created, "next-page", nil
}

func (m *memStore) Get(_ context.Context, tenant, id string) (access.Token, error) {
	for _, c := range m.created {
		if c.Tenant == tenant && c.ID == id {
			return c, nil
		}
	}
	return access.Token{}, access.Errorf(access.ENOTFOUND, "NOT_FOUND", "no such token")
}

func (m *memStore) GetPolicy(context.Context, string) (access.Policy, error) {
	if m.policy == nil {
		return access.DefaultPolicy(), nil
	}
	return *m.policy, nil
}

func (m *memStore) Delete(_ context.Context, tenant, id string, _ tokens.Deleter, ev audit.Event) error {
	for i, c := range m.created {
		if c.Tenant == tenant && c.ID == id {
			m.created = append(m.created[:i], m.created[i+1:]...)
			m.events = append(m.events, ev)
			return nil
		}
	}
	return access.Errorf(access.ENOTFOUND, "NOT_FOUND", "no such token")
}

type minter struct{}

func (minter) Mint(context.Context, apitoken.Grant) (string, error) {
	return "eyJhbGciOi.payload.sig0wxyz", nil
}

func handlers() (*api.Tokens, *memStore) {
	st := &memStore{}
	clock := func() time.Time { return now }
	return &api.Tokens{
		Service: &tokens.Service{Store: st, Minter: minter{}, Now: clock, NewID: func() string { return "id-1" }},
		Now:     clock,
	}, st
}

// request is a proxy event for route ("METHOD /resource") as API Gateway
// passes it on behind the authorizer, from a caller with every scope.
func request(route, authType, body string) events.APIGatewayProxyRequest {
	method, resource, _ := strings.Cut(route, " ")
	return events.APIGatewayProxyRequest{
		HTTPMethod: method, Resource: resource, Body: body,
		RequestContext: events.APIGatewayProxyRequestContext{Authorizer: map[string]any{
			"user": "ada@example.com", "tenant": "acme", "authType": authType, "tokenId": "",
			"scopes": access.FormatScopes(access.AllScopes()),
		}},
	}
}

const (
	createRoute = "POST /api-tokens"
	listRoute   = "GET /api-tokens"
	deleteRoute = "DELETE /api-tokens/{id}"
	whoamiRoute = "GET /whoami"
)

type errorBody struct {
	Error struct{ Code, Message string } `json:"error"`
}

func decodeError(t *testing.T, resp api.Response) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("got body %q, want the error shape", resp.Body)
	}
	return e
}

func TestCreateRefusesBadInputWithA400AndWritesNothing(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		base64   bool
		wantCode string
	}{
		{"malformed JSON", `{"description":`, false, "INVALID_BODY"},
		{"not JSON at all", `description=x`, false, "INVALID_BODY"},
		{"a JSON array", `[]`, false, "INVALID_BODY"},
		{"an unknown field", `{"descripton":"typo"}`, false, "INVALID_BODY"},
		{"the user in the body", `{"associatedUser":"mallory@example.com"}`, false, "INVALID_BODY"},
		{"a description of the wrong type", `{"description":5}`, false, "INVALID_BODY"},
		{"trailing data", `{"description":"a"} {"description":"b"}`, false, "INVALID_BODY"},
		{"a body over 64 KiB", `{"description":"` + strings.Repeat("a", 64<<10) + `"}`, false, "INVALID_BODY"},
		{"invalid UTF-8", "{\"description\":\"\xff\xfe\"}", false, "INVALID_BODY"},
		{"invalid base64", `!!!`, true, "INVALID_BODY"},
		{"lifespan 0", `{"lifespanDays":0}`, false, "INVALID_LIFESPAN"},
		{"lifespan negative", `{"lifespanDays":-1}`, false, "INVALID_LIFESPAN"},
		{"lifespan fractional", `{"lifespanDays":1.5}`, false, "INVALID_LIFESPAN"},
		{"lifespan as a string", `{"lifespanDays":"7"}`, false, "INVALID_LIFESPAN"},
		{"lifespan as a boolean", `{"lifespanDays":true}`, false, "INVALID_LIFESPAN"},
		{"lifespan over 3650", `{"lifespanDays":3651}`, false, "INVALID_LIFESPAN"},
		{"lifespan in exponent form", `{"lifespanDays":1e1}`, false, "INVALID_LIFESPAN"},
		{"lifespan as an object", `{"lifespanDays":{}}`, false, "INVALID_LIFESPAN"},
		{"description of control characters", `{"description":"a\u0000b"}`, false, "INVALID_DESCRIPTION"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, st := handlers()
			req := request(createRoute, "session", tc.body)
			if tc.base64 {
				req.IsBase64Encoded = true
			}
			resp, err := h.Create(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 {
				t.Fatalf("got %d %s, want 400", resp.StatusCode, resp.Body)
			}
			if got := decodeError(t, resp).Error.Code; got != tc.wantCode {
				t.Fatalf("got code %s, want %s", got, tc.wantCode)
			}
			if len(st.created) != 0 {
				t.Fatalf("got %d tokens written, want none", len(st.created))
			}
		})
	}
}

func TestCreateReturnsTheTokenAndItsMetadata(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		base64  bool
		wantExp any
	}{
		{"with a lifespan", `{"description":"CI","lifespanDays":7}`, false, "2026-12-04T09:30:00Z"},
		{"with a null lifespan", `{"description":"CI","lifespanDays":null}`, false, nil},
		{"with an empty body", ``, false, nil},
		{"base64-encoded", base64.StdEncoding.EncodeToString([]byte(`{"description":"CI"}`)), true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := handlers()
			req := request(createRoute, "session", tc.body)
			req.IsBase64Encoded = tc.base64
			resp, _ := h.Create(context.Background(), req)
			if resp.StatusCode != 201 {
				t.Fatalf("got %d %s, want 201", resp.StatusCode, resp.Body)
			}
			if resp.Headers["Cache-Control"] != "no-store" || resp.Headers["Content-Type"] != "application/json" {
				t.Errorf("got headers %v, want JSON and no-store", resp.Headers)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"token", "id", "description", "associatedUser", "createdAt", "expiresAt", "status", "statusText"} {
				if _, ok := got[k]; !ok {
					t.Errorf("got %v, want field %q", got, k)
				}
			}
			if got["token"] != "eyJhbGciOi.payload.sig0wxyz" || got["associatedUser"] != "ada@example.com" || got["expiresAt"] != tc.wantExp || got["status"] != "Enabled" || got["createdAt"] != "2026-11-27T09:30:00Z" {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestCreateWithADuplicateDescriptionIsA409(t *testing.T) {
	h, st := handlers()
	h.Create(context.Background(), request(createRoute, "session", `{"description":"CI"}`))
	resp, _ := h.Create(context.Background(), request(createRoute, "session", `{"description":" ci "}`))
	if resp.StatusCode != 409 || decodeError(t, resp).Error.Code != "DESCRIPTION_TAKEN" || len(st.created) != 1 {
		t.Fatalf("got %d %s with %d tokens, want 409 DESCRIPTION_TAKEN and 1 token", resp.StatusCode, resp.Body, len(st.created))
	}
}

func TestCreateWithAnAPITokenIsA403(t *testing.T) {
	h, _ := handlers()
	resp, _ := h.Create(context.Background(), request(createRoute, "api_token", `{}`))
	if resp.StatusCode != 403 || decodeError(t, resp).Error.Code != "SESSION_REQUIRED" {
		t.Fatalf("got %d %s, want 403 SESSION_REQUIRED", resp.StatusCode, resp.Body)
	}
}

func TestRequestsWithoutAnAuthorizerContextAre401(t *testing.T) {
	h, _ := handlers()
	for name, call := range map[string]api.Handler{"create": h.Create, "list": h.List, "delete": h.Delete, "whoami": api.WhoAmI} {
		resp, _ := call(context.Background(), events.APIGatewayProxyRequest{})
		if resp.StatusCode != 401 {
			t.Errorf("%s: got %d, want 401", name, resp.StatusCode)
		}
		// A function's 401 reads as API Gateway's own (the UNAUTHORIZED Gateway Response).
		if want := api.GatewayResponses["UNAUTHORIZED"]; resp.Body != want.Body() || resp.Headers["WWW-Authenticate"] != "Bearer" {
			t.Errorf("%s: got %s with WWW-Authenticate %q, want %s with Bearer", name, resp.Body, resp.Headers["WWW-Authenticate"], want.Body())
		}
	}
}

func TestListShowsStatusAndNoTokenString(t *testing.T) {
	h, _ := handlers()
	h.Create(context.Background(), request(createRoute, "session", `{"description":"CI","lifespanDays":1}`))
	req := request(listRoute, "api_token", "")
	req.QueryStringParameters = map[string]string{"limit": "10"}
	resp, _ := h.List(context.Background(), req)
	if resp.StatusCode != 200 {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	if strings.Contains(resp.Body, "sig0wxyz") || strings.Contains(resp.Body, `"token"`) {
		t.Fatalf("got %s, want no token string in a listing", resp.Body)
	}
	var got struct {
		Items []map[string]any `json:"items"`
		Next  string           `json:"nextToken"`
	}
	json.Unmarshal([]byte(resp.Body), &got)
	// A day left: how soon, and the number of days a client warns with.
	if len(got.Items) != 1 || got.Items[0]["statusText"] != "Enabled - Expires tomorrow at 09:30" || got.Items[0]["expiresInDays"] != 1.0 || got.Next != "next-page" {
		t.Fatalf("got %s", resp.Body)
	}
}

func TestListShowsWhenAndWhereEachTokenWasLastUsed(t *testing.T) {
	h, st := handlers()
	h.Create(context.Background(), request("POST /api-tokens", "session", `{"description":"never used"}`))
	used := now.Add(-90 * time.Minute)
	st.created = append(st.created, access.Token{ID: "id-2", Tenant: "acme", Description: "CI", AssociatedUser: "ada@example.com",
		CreatedAt: now.Add(-24 * time.Hour), LastUsedAt: &used, LastUsedIP: "2001:db8::7"})
	resp, _ := h.List(context.Background(), request("GET /api-tokens", "session", ""))
	var got struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || len(got.Items) != 2 {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	never, usedView := got.Items[0], got.Items[1]
	for _, k := range []string{"lastUsedAt", "lastUsedIp"} {
		if v, ok := never[k]; !ok || v != nil {
			t.Errorf("a token never used: got %s %v (present %v), want null", k, v, ok)
		}
	}
	if never["lastUsedText"] != "Never used" {
		t.Errorf("a token never used: got lastUsedText %v, want Never used", never["lastUsedText"])
	}
	if usedView["lastUsedAt"] != "2026-11-27T08:00:00Z" || usedView["lastUsedIp"] != "2001:db8::7" ||
		usedView["lastUsedText"] != "Last used on Nov 27, 2026 08:00 from 2001:db8::7" {
		t.Errorf("a used token: got %v", usedView)
	}
}

func TestListWarnsOnlyWithinTheWarningDays(t *testing.T) {
	for _, tc := range []struct {
		body     string
		wantText string
		wantDays any
	}{
		{`{"description":"CI","lifespanDays":7}`, "Enabled - Expires in 7 days (Dec 04, 2026 09:30)", 7.0},
		{`{"description":"CI","lifespanDays":8}`, "Enabled - Expires on Dec 05, 2026 09:30", nil},
		{`{"description":"CI"}`, "Enabled - Never expires", nil},
	} {
		h, _ := handlers()
		h.Create(context.Background(), request(createRoute, "session", tc.body))
		resp, _ := h.List(context.Background(), request(listRoute, "session", ""))
		var got struct {
			Items []map[string]any `json:"items"`
		}
		json.Unmarshal([]byte(resp.Body), &got)
		if len(got.Items) != 1 {
			t.Fatalf("%s: got %s, want one token", tc.body, resp.Body)
		}
		if got.Items[0]["statusText"] != tc.wantText || got.Items[0]["expiresInDays"] != tc.wantDays {
			t.Errorf("%s: got %s, want statusText %q and expiresInDays %v", tc.body, resp.Body, tc.wantText, tc.wantDays)
		}
		if _, present := got.Items[0]["expiresInDays"]; present != (tc.wantDays != nil) {
			t.Errorf("%s: got %s, want expiresInDays only within the warning days", tc.body, resp.Body)
		}
	}
}

func TestListRefusesABadLimitOrCursor(t *testing.T) {
	for _, q := range []map[string]string{{"limit": "0"}, {"limit": "abc"}, {"limit": "101"}, {"limit": ""}, {"nextToken": "bad"}} {
		h, _ := handlers()
		req := request(listRoute, "session", "")
		req.QueryStringParameters = q
		resp, _ := h.List(context.Background(), req)
		if resp.StatusCode != 400 {
			t.Errorf("query %v: got %d %s, want 400", q, resp.StatusCode, resp.Body)
		}
	}
}

func TestDeleteOfAnUnknownTokenIs404(t *testing.T) {
	h, st := handlers()
	if resp, _ := h.Create(context.Background(), request(createRoute, "session", `{"description":"CI"}`)); resp.StatusCode != 201 {
		t.Fatalf("create: got %d %s", resp.StatusCode, resp.Body)
	}
	del := func(tenant, id string) api.Response {
		req := request(deleteRoute, "session", "")
		req.RequestContext.Authorizer["tenant"] = tenant
		req.PathParameters = map[string]string{"id": id}
		resp, _ := h.Delete(context.Background(), req)
		return resp
	}
	for _, c := range []struct{ name, tenant, id string }{
		{"an unknown id", "acme", "0192-unknown"},
		{"another tenant's token", "globex", "id-1"},
	} {
		if resp := del(c.tenant, c.id); resp.StatusCode != 404 || decodeError(t, resp).Error.Code != "NOT_FOUND" {
			t.Fatalf("%s: got %d %s, want 404", c.name, resp.StatusCode, resp.Body)
		}
	}
	// The control: a known id is deleted, once.
	if resp := del("acme", "id-1"); resp.StatusCode != 204 || len(st.created) != 0 {
		t.Fatalf("the tenant's own token: got %d %s with %d tokens left, want 204 and none", resp.StatusCode, resp.Body, len(st.created))
	}
	if resp := del("acme", "id-1"); resp.StatusCode != 404 {
		t.Fatalf("a deleted token: got %d %s, want 404", resp.StatusCode, resp.Body)
	}
}

func TestWhoAmIShowsTheCaller(t *testing.T) {
	req := request(whoamiRoute, "api_token", "")
	req.RequestContext.Authorizer["tokenId"] = "tok-9"
	req.RequestContext.Authorizer["scopes"] = "sandbox-refreshes:run"
	resp, _ := api.WhoAmI(context.Background(), req)
	want := `{"user":"ada@example.com","tenant":"acme","authType":"api_token","tokenId":"tok-9","scopes":["sandbox-refreshes:run"],"admin":false}`
	if resp.StatusCode != 200 || resp.Body != want {
		t.Fatalf("got %d %s, want 200 %s", resp.StatusCode, resp.Body, want)
	}
}

func TestInternalErrorsNeverReachTheClient(t *testing.T) {
	resp := api.Error(context.Background(), access.Internal(errFake("dynamodb: secret table arn:aws:...")))
	if resp.StatusCode != 500 || strings.Contains(resp.Body, "arn:aws") {
		t.Fatalf("got %d %s, want a generic 500", resp.StatusCode, resp.Body)
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }

func TestResponsesAllowTheConsoleOriginOnlyWhenSet(t *testing.T) {
	defer api.AllowOrigin("")
	if h := api.JSON(200, "x").Headers; h["Access-Control-Allow-Origin"] != "" {
		t.Fatalf("got %v, want no CORS header by default", h)
	}
	api.AllowOrigin("https://console.example.com")
	for _, resp := range []api.Response{api.JSON(200, "x"), api.NoContent(), api.Error(context.Background(), access.Errorf(access.EINVALID, "X", "x"))} {
		if got := resp.Headers["Access-Control-Allow-Origin"]; got != "https://console.example.com" {
			t.Fatalf("got %q, want the console origin", got)
		}
	}
}

// A change's event names the verified caller and the request it came from.
func TestAChangesEventCarriesTheRequestAndTheVerifiedCaller(t *testing.T) {
	h, st := handlers()
	req := request(createRoute, "session", `{"description":"nightly"}`)
	req.RequestContext.RequestID = "req-7"
	req.RequestContext.Identity.SourceIP = "203.0.113.9"
	req.Headers = map[string]string{"User-Agent": "curl/8.5.0"}
	if resp, _ := h.Create(context.Background(), req); resp.StatusCode != 201 {
		t.Fatalf("got %d %s, want 201", resp.StatusCode, resp.Body)
	}
	want := audit.Actor{Type: audit.ActorSession, User: "ada@example.com"}
	if ev := st.events[0]; ev.Actor != want || ev.SourceIP != "203.0.113.9" || ev.UserAgent != "curl/8.5.0" || ev.RequestID != "req-7" {
		t.Fatalf("got event %+v, want ada's, with the request's source, user agent and id", ev)
	}
}
