package localserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/api"
)

// fakeAuthorizer answers as the authorizer Lambda would, from a table, and
// records the event it got.
type fakeAuthorizer struct {
	policy events.APIGatewayCustomAuthorizerResponse
	err    error
	got    *events.APIGatewayCustomAuthorizerRequestTypeRequest
}

func (f fakeAuthorizer) authorize(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	if f.got != nil {
		*f.got = req
	}
	if f.err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, f.err
	}
	p := f.policy
	for i := range p.PolicyDocument.Statement {
		if len(p.PolicyDocument.Statement[i].Resource) == 0 {
			p.PolicyDocument.Statement[i].Resource = []string{req.MethodArn}
		}
	}
	return p, nil
}

func policy(effect string, context map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "ada@example.com",
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
			{Action: []string{"execute-api:Invoke"}, Effect: effect},
		}},
		Context: context,
	}
}

// gatewayWith serves one route, GET /things/{id}, behind auth, and records
// the event its handler got.
func gatewayWith(t *testing.T, auth fakeAuthorizer, handler api.Handler) (*httptest.Server, *events.APIGatewayProxyRequest) {
	t.Helper()
	var got events.APIGatewayProxyRequest
	g := NewGateway(auth.authorize)
	g.Route("GET", "/things/{id}", func(ctx context.Context, req events.APIGatewayProxyRequest) (api.Response, error) {
		got = req
		if handler != nil {
			return handler(ctx, req)
		}
		return api.JSON(200, map[string]string{"ok": "yes"}), nil
	})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv, &got
}

func do(t *testing.T, srv *httptest.Server, method, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var withBearer = http.Header{"Authorization": {"Bearer a.b.c"}}

func TestTheHandlersGetTheEventAPIGatewayWouldSend(t *testing.T) {
	var authEvent events.APIGatewayCustomAuthorizerRequestTypeRequest
	srv, got := gatewayWith(t, fakeAuthorizer{got: &authEvent, policy: policy("Allow", map[string]any{
		"user": "ada@example.com", "tenant": "acme", "authType": "api_token", "tokenId": "",
		"count": 3, "ratio": 1.5, "admin": false,
	})}, nil)
	header := http.Header{"Authorization": {"Bearer a.b.c"}, "X-Repeated": {"first", "second", "last"}}
	if resp, body := do(t, srv, "GET", "/things/t1?q=1&q=2", header); resp.StatusCode != 200 {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}

	t.Run("authorizer context values are strings, with the principalId", func(t *testing.T) {
		want := map[string]any{
			"principalId": "ada@example.com", "user": "ada@example.com", "tenant": "acme", "authType": "api_token", "tokenId": "",
			"count": "3", "ratio": "1.5", "admin": "false",
		}
		if !reflect.DeepEqual(got.RequestContext.Authorizer, want) {
			t.Errorf("got %#v, want %#v", got.RequestContext.Authorizer, want)
		}
	})
	t.Run("requestContext.path has the stage, path and resource do not", func(t *testing.T) {
		rc := got.RequestContext
		if rc.Path != "/local/things/t1" || got.Path != "/things/t1" || got.Resource != "/things/{id}" || rc.ResourcePath != "/things/{id}" || rc.Stage != "local" {
			t.Errorf("got requestContext.path %q, path %q, resource %q, resourcePath %q, stage %q", rc.Path, got.Path, got.Resource, rc.ResourcePath, rc.Stage)
		}
	})
	t.Run("identity.sourceIp is an address without a port", func(t *testing.T) {
		if ip := got.RequestContext.Identity.SourceIP; ip != "127.0.0.1" {
			t.Errorf("got %q, want 127.0.0.1", ip)
		}
	})
	t.Run("a repeated header is its last value in headers and every value in multiValueHeaders", func(t *testing.T) {
		if h := got.Headers["X-Repeated"]; h != "last" {
			t.Errorf("got headers X-Repeated %q, want the last value", h)
		}
		if mv := got.MultiValueHeaders["X-Repeated"]; !slices.Equal(mv, []string{"first", "second", "last"}) {
			t.Errorf("got multiValueHeaders X-Repeated %q, want every value in order", mv)
		}
		if got.Headers["Host"] == "" || len(got.MultiValueHeaders["Host"]) != 1 {
			t.Errorf("got Host %q %q, want it among the headers, as API Gateway sends it", got.Headers["Host"], got.MultiValueHeaders["Host"])
		}
	})
	t.Run("a repeated query parameter is its last value in queryStringParameters", func(t *testing.T) {
		if q := got.QueryStringParameters["q"]; q != "2" || !slices.Equal(got.MultiValueQueryStringParameters["q"], []string{"1", "2"}) {
			t.Errorf("got %q and %q", q, got.MultiValueQueryStringParameters["q"])
		}
	})
	t.Run("the authorizer gets the REQUEST event, with every header value", func(t *testing.T) {
		if authEvent.Type != "REQUEST" || authEvent.MethodArn != "arn:aws:execute-api:us-east-1:000000000000:local/local/GET/things/t1" {
			t.Errorf("got type %q, methodArn %q", authEvent.Type, authEvent.MethodArn)
		}
		if !slices.Equal(authEvent.MultiValueHeaders["X-Repeated"], []string{"first", "second", "last"}) || authEvent.Headers["Authorization"] != "Bearer a.b.c" {
			t.Errorf("got headers %v and %v", authEvent.Headers, authEvent.MultiValueHeaders)
		}
		raw, err := json.Marshal(authEvent)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range shapeDiff("authorizer event", decode(t, raw), decode(t, sample(t, "apigw-custom-auth-request-type-request.json"))) {
			t.Error(p)
		}
	})
	t.Run("the event has the shape of aws-lambda-go's sample REST API event", func(t *testing.T) {
		raw, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range shapeDiff("event", decode(t, raw), decode(t, sample(t, "apigw-request.json"))) {
			t.Error(p)
		}
	})
}

// A context value API Gateway cannot pass on (an object or an array) is
// the authorizer's misconfiguration: a 500, and the handler never runs.
func TestAnAuthorizerContextThatIsNotFlatIsA500(t *testing.T) {
	ran := false
	srv, _ := gatewayWith(t, fakeAuthorizer{policy: policy("Allow", map[string]any{"user": "ada", "roles": []string{"admin"}})},
		func(context.Context, events.APIGatewayProxyRequest) (api.Response, error) {
			ran = true
			return api.NoContent(), nil
		})
	if resp, body := do(t, srv, "GET", "/things/t1", withBearer); resp.StatusCode != 500 || ran {
		t.Errorf("got %d %s (handler ran: %v), want 500 and no handler", resp.StatusCode, body, ran)
	}
}

func TestTheGatewayAnswersWithTheTemplatesGatewayResponses(t *testing.T) {
	failing := func(context.Context, events.APIGatewayProxyRequest) (api.Response, error) {
		return api.Response{}, errors.New("the function crashed")
	}
	tests := []struct {
		name    string
		auth    fakeAuthorizer
		handler api.Handler
		path    string
		header  http.Header
		typ     string
		status  int
	}{
		{"no Authorization header", fakeAuthorizer{policy: policy("Allow", nil)}, nil, "/things/t1", nil, "UNAUTHORIZED", 401},
		{"the authorizer says Unauthorized", fakeAuthorizer{err: errors.New("Unauthorized")}, nil, "/things/t1", withBearer, "UNAUTHORIZED", 401},
		{"the authorizer denies", fakeAuthorizer{policy: policy("Deny", nil)}, nil, "/things/t1", withBearer, "ACCESS_DENIED", 403},
		{"an unknown route", fakeAuthorizer{}, nil, "/nothing-here", withBearer, "MISSING_AUTHENTICATION_TOKEN", 404},
		{"the authorizer fails", fakeAuthorizer{err: errors.New("store down")}, nil, "/things/t1", withBearer, api.AuthorizerFailed, 503},
		{"the function fails", fakeAuthorizer{policy: policy("Allow", nil)}, failing, "/things/t1", withBearer, "DEFAULT_5XX", 502},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := gatewayWith(t, tc.auth, tc.handler)
			resp, body := do(t, srv, "GET", tc.path, tc.header)
			want := api.GatewayResponses[tc.typ]
			if resp.StatusCode != tc.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tc.status)
			}
			pattern := "^" + strings.ReplaceAll(regexp.QuoteMeta(want.Body()), regexp.QuoteMeta("$context.requestId"), "[0-9a-f-]{36}") + "\n?$"
			if !regexp.MustCompile(pattern).MatchString(body) {
				t.Errorf("got body %s, want %s's %s", body, tc.typ, want.Body())
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", ct)
			}
			for k, v := range want.Headers {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("got header %s %q, want %q", k, got, v)
				}
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("got WWW-Authenticate %q on a 401, want Bearer", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// sample reads one of aws-lambda-go's own sample events from the module
// cache (the version go.mod requires).
func sample(t *testing.T, name string) []byte {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/aws/aws-lambda-go: %v (run scripts/deps.sh to download the modules)", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "events", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// freeMaps are objects whose keys are data (header names, parameters,
// context keys), compared by the JSON type of their values only.
var freeMaps = map[string]bool{
	"headers": true, "multiValueHeaders": true, "queryStringParameters": true, "multiValueQueryStringParameters": true,
	"pathParameters": true, "stageVariables": true,
}

// notLocal are keys of the sample that the local server has nothing for:
// IAM, Cognito, API key and mutual-TLS callers.
var notLocal = map[string]bool{
	"cognitoIdentityPoolId": true, "accountId": true, "cognitoIdentityId": true, "caller": true, "apiKey": true, "apiKeyId": true,
	"accessKey": true, "cognitoAuthenticationType": true, "cognitoAuthenticationProvider": true, "userArn": true, "user": true, "clientCert": true,
}

// shapeDiff lists where got differs in shape from want: a key one has and
// the other lacks, or a value of another JSON type. null stands for an
// empty object or array, as API Gateway sends it.
func shapeDiff(path string, got, want any) []string {
	if got == nil || want == nil {
		return nil
	}
	if reflect.TypeOf(got) != reflect.TypeOf(want) {
		return []string{fmt.Sprintf("%s: got a %T, the sample has a %T", path, got, want)}
	}
	var out []string
	switch g := got.(type) {
	case map[string]any:
		w := want.(map[string]any)
		key := path[strings.LastIndexByte(path, '.')+1:]
		if freeMaps[key] || key == "authorizer" {
			for k, v := range g {
				if key == "authorizer" {
					if _, ok := v.(string); !ok {
						out = append(out, fmt.Sprintf("%s.%s: got a %T, want a string (API Gateway stringifies context values)", path, k, v))
					}
					continue
				}
				for _, sv := range w {
					out = append(out, shapeDiff(path+"."+k, v, sv)...)
					break
				}
			}
			if key == "authorizer" {
				if _, ok := g["principalId"]; !ok {
					out = append(out, path+": no principalId, which API Gateway adds")
				}
			}
			return out
		}
		for k, v := range g {
			sv, ok := w[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: not in the sample event", path, k))
				continue
			}
			out = append(out, shapeDiff(path+"."+k, v, sv)...)
		}
		for k := range w {
			if _, ok := g[k]; !ok && !notLocal[k] {
				out = append(out, fmt.Sprintf("%s.%s: in the sample event, missing here", path, k))
			}
		}
	case []any:
		w := want.([]any)
		for _, v := range g {
			if len(w) > 0 {
				out = append(out, shapeDiff(path+"[]", v, w[0])...)
			}
		}
	}
	return out
}

// The local gateway serves the route table: each row with its function's
// handler, behind the authorizer unless the row needs no authentication.
func TestTheGatewayServesTheRouteTable(t *testing.T) {
	var authorized int
	auth := func(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		authorized++
		p := policy("Allow", map[string]any{"user": "ada@example.com", "tenant": "acme", "authType": "session", "tokenId": "", "scopes": "tokens:read"})
		p.PolicyDocument.Statement[0].Resource = []string{req.MethodArn}
		return p, nil
	}
	reply := func(name string) api.Handler {
		return func(_ context.Context, req events.APIGatewayProxyRequest) (api.Response, error) {
			return api.JSON(200, map[string]any{"function": name, "resource": req.Resource, "authorized": req.RequestContext.Authorizer != nil}), nil
		}
	}
	routes := []api.Route{
		{Method: "GET", Path: "/things/{id}", Function: "ThingsFunction", Needs: api.NeedsScope("tokens:read")},
		{Method: "POST", Path: "/things/revoke", Function: "RevokeFunction", Needs: api.NoAuthentication},
		{Method: "GET", Path: "/elsewhere", Function: "ElsewhereFunction", Needs: api.AnyCaller},
	}
	g := NewGateway(auth)
	if err := g.Functions(routes, map[string]api.Handler{"ThingsFunction": reply("ThingsFunction"), "RevokeFunction": reply("RevokeFunction")}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	if resp, body := do(t, srv, "GET", "/things/1", withBearer); resp.StatusCode != 200 || !strings.Contains(body, `"function":"ThingsFunction"`) || !strings.Contains(body, `"authorized":true`) || authorized != 1 {
		t.Errorf("a row behind the authorizer: got %d %s after %d authorizer calls, want its handler after one", resp.StatusCode, body, authorized)
	}
	if resp, _ := do(t, srv, "GET", "/things/1", nil); resp.StatusCode != 401 {
		t.Errorf("a row behind the authorizer, without a bearer: got %d, want 401", resp.StatusCode)
	}
	if resp, body := do(t, srv, "POST", "/things/revoke", nil); resp.StatusCode != 200 || !strings.Contains(body, `"authorized":false`) || authorized != 1 {
		t.Errorf("a row that needs no authentication: got %d %s after %d authorizer calls, want its handler without the authorizer", resp.StatusCode, body, authorized)
	}
	if resp, _ := do(t, srv, "GET", "/elsewhere", withBearer); resp.StatusCode != 404 {
		t.Errorf("a row whose function is not wired: got %d, want 404", resp.StatusCode)
	}
	if err := NewGateway(auth).Functions(routes, map[string]api.Handler{"StrayFunction": reply("StrayFunction")}); err == nil || !strings.Contains(err.Error(), "StrayFunction") {
		t.Errorf("a handler that no row names: got %v, want an error naming it", err)
	}
}
