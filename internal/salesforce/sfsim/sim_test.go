package sfsim

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testConsumer = "test-consumer"
	testUser     = "integration@acme.example"
)

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type harness struct {
	sim *Sim
	srv *httptest.Server
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.SetBaseURL(srv.URL)
	s.TrustKey(testConsumer, &testKey().PublicKey)
	s.AddProdUsers(User{Username: testUser, Profile: "System Administrator"})
	return &harness{sim: s, srv: srv}
}

// assertion signs claims with alg and key, filling in the usual claims.
func (h *harness) assertion(t *testing.T, change func(jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{"iss": testConsumer, "sub": testUser, "aud": AudienceProduction, "exp": time.Now().Add(2 * time.Minute).Unix()}
	if change != nil {
		change(claims)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(testKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (h *harness) tokenRequest(t *testing.T, form url.Values) (int, map[string]string) {
	t.Helper()
	resp, err := h.srv.Client().PostForm(h.srv.URL+"/services/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response: %v", err)
	}
	return resp.StatusCode, body
}

// signIn returns an access token and instance URL for username.
func (h *harness) signIn(t *testing.T, username string) (token, instance string) {
	t.Helper()
	status, body := h.tokenRequest(t, url.Values{"grant_type": {jwtBearer}, "assertion": {h.assertion(t, func(c jwt.MapClaims) {
		c["sub"] = username
		if username != testUser { // a sandbox copy of the user
			c["aud"] = AudienceSandbox
		}
	})}})
	if status != 200 {
		t.Fatalf("sign in as %s: %d %v", username, status, body)
	}
	return body["access_token"], body["instance_url"]
}

func (h *harness) call(t *testing.T, method, u, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Error(err) // not Fatal: call also runs on other goroutines
		return 0, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func errorCode(t *testing.T, data []byte) string {
	t.Helper()
	var errs []apiError
	if err := json.Unmarshal(data, &errs); err != nil || len(errs) == 0 {
		t.Fatalf("body %s is not a REST error array", data)
	}
	return errs[0].ErrorCode
}

func TestTokenEndpointChecksTheAssertion(t *testing.T) {
	h := newHarness(t, Options{ExperienceSites: []string{"https://acme.my.site.com/customers"}})
	h.sim.AddSandbox("dev", "DEVELOPER")
	h.sim.procs = append(h.sim.procs, &sandboxProcess{id: "0GR000000000000AAA", info: h.sim.infos[0], status: StatusCompleted})
	h.sim.activate(h.sim.procs[0], time.Now())
	sandboxUser := func(c jwt.MapClaims) { c["sub"] = testUser + ".dev"; c["aud"] = AudienceSandbox }
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hs256, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": testConsumer, "sub": testUser, "aud": h.srv.URL, "exp": time.Now().Add(time.Minute).Unix()}).SignedString([]byte("secret"))
	wrongKey, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": testConsumer, "sub": testUser, "aud": h.srv.URL, "exp": time.Now().Add(time.Minute).Unix()}).SignedString(other)
	tests := []struct {
		name      string
		form      url.Values
		wantCode  string
		wantDescr string
	}{
		{"a good assertion gets a token", url.Values{"grant_type": {jwtBearer}, "assertion": {h.assertion(t, nil)}}, "", ""},
		{"an Experience Cloud site is an audience too", url.Values{"grant_type": {jwtBearer}, "assertion": {h.assertion(t, func(c jwt.MapClaims) { c["aud"] = "https://acme.my.site.com/customers" })}}, "", ""},
		{"an assertion valid for more than 3 minutes is accepted, as Salesforce does", url.Values{"grant_type": {jwtBearer}, "assertion": {h.assertion(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(10 * time.Minute).Unix() })}}, "", ""},
		{"an expired assertion is refused", url.Values{"grant_type": {jwtBearer}, "assertion": {h.assertion(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })}}, "invalid_grant", "expired authorization code"},
		{"an assertion without exp is refused", url.Values{"grant_type": {jwtBearer}, "assertion": {h.assertion(t, func(c jwt.MapClaims) { delete(c, "exp") })}}, "invalid_grant", "invalid assertion"},
		{"the My Domain (token endpoint) URL is not an audience", url.Values{"grant_type": {jwtBearer}, "assertion": {h.assertion(t, func(c jwt.MapClaims) { c["aud"] = h.srv.URL })}}, "invalid_grant", "audience is invalid"},
		{"a production user's audience is not the sandbox one", url.Values{"grant_type": {jwtBearer}, "assertion": {h.assertion(t, func(c jwt.MapClaims) { c["aud"] = AudienceSandbox })}}, "invalid_grant", "audience is invalid"},
		{"a sandbox user's audience is not the production one", url.Values{"grant_type": {jwtBearer}, "assertion": {h.assertion(t, func(c jwt.MapClaims) { sandboxUser(c); c["aud"] = AudienceProduction })}}, "invalid_grant", "audience is invalid"},
		{"an HS256 assertion is refused", url.Values{"grant_type": {jwtBearer}, "assertion": {hs256}}, "invalid_grant", "invalid assertion"},
		{"an assertion signed by another key is refused", url.Values{"grant_type": {jwtBearer}, "assertion": {wrongKey}}, "invalid_grant", "invalid assertion"},
		{"another grant type is refused", url.Values{"grant_type": {"password"}, "assertion": {h.assertion(t, nil)}}, "unsupported_grant_type", ""},
		{"a request without an assertion is refused", url.Values{"grant_type": {jwtBearer}}, "invalid_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.tokenRequest(t, tt.form)
			if tt.wantCode == "" {
				if status != 200 || body["access_token"] == "" || body["instance_url"] != h.srv.URL+"/org/prod" || body["token_type"] != "Bearer" ||
					!strings.HasSuffix(body["id"], "/id/"+h.sim.prod.id+"/"+h.sim.prod.users[0].id) {
					t.Errorf("response = %d %v, want 200 with a token and the production instance URL", status, body)
				}
				return
			}
			if status != 400 || body["error"] != tt.wantCode || !strings.Contains(body["error_description"], tt.wantDescr) {
				t.Errorf("response = %d %v, want 400 %s (%q)", status, body, tt.wantCode, tt.wantDescr)
			}
		})
	}
}

func TestRESTRequestErrors(t *testing.T) {
	h := newHarness(t, Options{})
	h.sim.AddSandbox("dev", "DEVELOPER")
	token, instance := h.signIn(t, testUser)
	q := func(soql string) string { return instance + "/services/data/v62.0/query?q=" + url.QueryEscape(soql) }
	tests := []struct {
		name       string
		method     string
		url        string
		token      string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"a request without a token is refused", "GET", q("SELECT Id FROM User"), "", nil, 401, "INVALID_SESSION_ID"},
		{"a request with an unknown token is refused", "GET", q("SELECT Id FROM User"), "00Dx!nope", nil, 401, "INVALID_SESSION_ID"},
		{"an org that does not exist is NOT_FOUND", "GET", h.srv.URL + "/org/sandbox-dev/services/data/v62.0/query?q=SELECT+Id+FROM+User", token, nil, 404, "NOT_FOUND"},
		{"an unknown object is INVALID_TYPE", "GET", q("SELECT Id FROM Account"), token, nil, 400, "INVALID_TYPE"},
		{"a Tooling object through /query is INVALID_TYPE", "GET", q("SELECT Id FROM SandboxInfo"), token, nil, 400, "INVALID_TYPE"},
		{"an unknown field is INVALID_FIELD", "GET", q("SELECT Id, ShoeSize FROM User"), token, nil, 400, "INVALID_FIELD"},
		{"a quoted boolean is a bad filter", "GET", q("SELECT Id FROM User WHERE IsActive = 'true'"), token, nil, 400, "INVALID_QUERY_FILTER_OPERATOR"},
		{"an unparsable query is MALFORMED_QUERY", "GET", q("SELECT FROM User"), token, nil, 400, "MALFORMED_QUERY"},
		{"a missing q is MALFORMED_QUERY", "GET", instance + "/services/data/v62.0/query", token, nil, 400, "MALFORMED_QUERY"},
		{"an unknown query locator is refused", "GET", instance + "/services/data/v62.0/query/01gXYZ-200", token, nil, 400, "INVALID_QUERY_LOCATOR"},
		{"an unknown resource is NOT_FOUND", "GET", instance + "/services/data/v62.0/sobjects/Account", token, nil, 404, "NOT_FOUND"},
		{"a bad version is NOT_FOUND", "GET", instance + "/services/data/62/query?q=SELECT+Id+FROM+User", token, nil, 404, "NOT_FOUND"},
		{"a DELETE of collections is not allowed", "DELETE", instance + "/services/data/v62.0/composite/sobjects", token, nil, 405, "METHOD_NOT_ALLOWED"},
		{"a PATCH without LicenseType is refused", "PATCH", instance + "/services/data/v62.0/tooling/sobjects/SandboxInfo/" + h.sim.infos[0].id, token, map[string]any{"AutoActivate": true}, 400, "REQUIRED_FIELD_MISSING"},
		{"a PATCH of an unknown SandboxInfo field is refused", "PATCH", instance + "/services/data/v62.0/tooling/sobjects/SandboxInfo/" + h.sim.infos[0].id, token, map[string]any{"LicenseType": "DEVELOPER", "Colour": "red"}, 400, "INVALID_FIELD"},
		{"more than 200 records is EXCEEDED_ID_LIMIT", "PATCH", instance + "/services/data/v62.0/composite/sobjects", token, map[string]any{"allOrNone": false, "records": make([]map[string]any, 201)}, 400, "EXCEEDED_ID_LIMIT"},
		{"an unknown collections property is a parser error", "PATCH", instance + "/services/data/v62.0/composite/sobjects", token, map[string]any{"allOrNothing": true, "records": []any{}}, 400, "JSON_PARSER_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, data := h.call(t, tt.method, tt.url, tt.token, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", status, data, tt.wantStatus)
			}
			if got := errorCode(t, data); got != tt.wantCode {
				t.Errorf("errorCode = %s, want %s", got, tt.wantCode)
			}
		})
	}
}

func TestAllOrNoneRollsBackEveryRecord(t *testing.T) {
	h := newHarness(t, Options{})
	ids := h.sim.AddProdUsers(User{Username: "a@acme.example"}, User{Username: "b@acme.example"})
	token, instance := h.signIn(t, testUser)
	body := map[string]any{"allOrNone": true, "records": []map[string]any{
		{"attributes": map[string]string{"type": "User"}, "id": ids[0], "IsActive": false},
		{"attributes": map[string]string{"type": "User"}, "id": "bad", "IsActive": false},
	}}
	status, data := h.call(t, "PATCH", instance+"/services/data/v62.0/composite/sobjects", token, body)
	if status != 200 {
		t.Fatalf("status = %d (%s), want 200", status, data)
	}
	var results []saveResult
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatal(err)
	}
	got := []string{results[0].Errors[0].StatusCode, results[1].Errors[0].StatusCode}
	if want := []string{"ALL_OR_NONE_OPERATION_ROLLED_BACK", "MALFORMED_ID"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("codes = %v, want %v", got, want)
	}
	if u, _ := h.sim.User(Production, "a@acme.example"); !u.IsActive {
		t.Error("a@acme.example was deactivated, want the change rolled back")
	}
}

func TestARefreshReplacesTheSandboxAndItsSessions(t *testing.T) {
	h := newHarness(t, Options{StepPerPoll: true, IntervalScale: 1e-9})
	infoID := h.sim.AddSandbox("dev", "PARTIAL")
	h.sim.AddProdUsers(User{Username: "a@acme.example"})
	prodToken, prod := h.signIn(t, testUser)
	refresh := func(autoActivate bool) {
		t.Helper()
		status, data := h.call(t, "PATCH", prod+"/services/data/v62.0/tooling/sobjects/SandboxInfo/"+infoID, prodToken, map[string]any{"LicenseType": "PARTIAL", "AutoActivate": autoActivate})
		if status != 204 {
			t.Fatalf("refresh: %d %s", status, data)
		}
		for range 5 {
			h.call(t, "GET", prod+"/services/data/v62.0/tooling/query?q="+url.QueryEscape("SELECT Id FROM SandboxProcess WHERE SandboxName = 'dev'"), prodToken, nil)
		}
	}

	refresh(true)
	sbToken, sandbox := h.signIn(t, testUser+".dev")
	if sandbox != h.srv.URL+"/org/sandbox-dev" {
		t.Errorf("sandbox instance = %s, want %s/org/sandbox-dev", sandbox, h.srv.URL)
	}
	// Users created in the sandbox are gone after the next refresh.
	h.sim.AddProdUsers(User{Username: "b@acme.example"})
	refresh(false)
	if got := len(h.sim.Users("dev")); got != 2 {
		t.Errorf("before activation the sandbox has %d users, want the old copy's 2", got)
	}
	if err := h.sim.ActivateSandbox("dev"); err != nil {
		t.Fatalf("ActivateSandbox: %v", err)
	}
	if got := len(h.sim.Users("dev")); got != 3 {
		t.Errorf("after activation the sandbox has %d users, want 3", got)
	}
	status, data := h.call(t, "GET", sandbox+"/services/data/v62.0/query?q=SELECT+Id+FROM+User", sbToken, nil)
	if status != 401 {
		t.Errorf("old sandbox session: %d %s, want 401", status, data)
	}
	status, data = h.call(t, "GET", sandbox+"/services/data/v62.0/query?q=SELECT+Id+FROM+User", prodToken, nil)
	if status != 401 {
		t.Errorf("production session in the sandbox: %d %s, want 401", status, data)
	}
	if err := h.sim.ActivateSandbox("dev"); err == nil {
		t.Error("a second ActivateSandbox succeeded, want an error")
	}
}

func TestTheSimIsSafeForConcurrentUse(t *testing.T) {
	h := newHarness(t, Options{PageSize: 5})
	users := make([]User, 40)
	for i := range users {
		users[i] = User{Username: fmt.Sprintf("u%02d@acme.example", i)}
	}
	ids := h.sim.AddProdUsers(users...)
	token, instance := h.signIn(t, testUser)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			h.call(t, "PATCH", instance+"/services/data/v62.0/composite/sobjects", token, map[string]any{"records": []map[string]any{
				{"attributes": map[string]string{"type": "User"}, "Id": id, "IsActive": i%2 == 0},
			}})
		})
		wg.Go(func() {
			h.call(t, "GET", instance+"/services/data/v62.0/query?q=SELECT+Id+FROM+User", token, nil)
			_ = h.sim.Users(Production)
			_ = h.sim.CollectionCalls()
		})
	}
	wg.Wait()
	active := 0
	for _, u := range h.sim.Users(Production) {
		if u.IsActive {
			active++
		}
	}
	if got, want := active, 21; got != want {
		t.Errorf("%d active users, want %d", got, want)
	}
}

func TestActiveUsersAreLimitedByTheOrgsLicences(t *testing.T) {
	h := newHarness(t, Options{UserLicenses: 3}) // the integration user holds one
	ids := h.sim.AddProdUsers(User{Username: "a@acme.example"}, User{Username: "gone@acme.example", Inactive: true})
	token, instance := h.signIn(t, testUser)
	user := func(name string) map[string]any {
		return map[string]any{"attributes": map[string]string{"type": "User"}, "Username": name, "Email": name, "LastName": "X", "Alias": "x",
			"ProfileId": h.sim.prod.profiles[1].id, "TimeZoneSidKey": "Europe/Paris", "LocaleSidKey": "fr_FR", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "fr"}
	}
	save := func(method string, records ...map[string]any) []string {
		t.Helper()
		status, data := h.call(t, method, instance+"/services/data/v62.0/composite/sobjects", token, map[string]any{"allOrNone": false, "records": records})
		var results []saveResult
		if status != 200 || json.Unmarshal(data, &results) != nil {
			t.Fatalf("got %d %s", status, data)
		}
		var out []string
		for _, r := range results {
			if r.Success {
				out = append(out, "ok")
			} else {
				out = append(out, r.Errors[0].StatusCode)
			}
		}
		return out
	}
	if got := save("POST", user("b@acme.example"), user("c@acme.example")); fmt.Sprint(got) != "[ok LICENSE_LIMIT_EXCEEDED]" {
		t.Fatalf("two new users with one licence left: got %v, want the first created, the second refused", got)
	}
	reactivate := map[string]any{"attributes": map[string]string{"type": "User"}, "id": ids[1], "IsActive": true}
	if got := save("PATCH", reactivate); fmt.Sprint(got) != "[LICENSE_LIMIT_EXCEEDED]" {
		t.Fatalf("reactivating with no licence left: got %v", got)
	}
	// A deactivated user frees its licence.
	if got := save("PATCH", map[string]any{"attributes": map[string]string{"type": "User"}, "id": ids[0], "IsActive": false}, reactivate); fmt.Sprint(got) != "[ok ok]" {
		t.Fatalf("deactivate one, reactivate another: got %v", got)
	}
}
