package lambdatest

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	dcsaccess "github.com/dcs-access/dcs-access"
	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// methodARN is the ARN prefix of the API's methods in the sample events.
const methodARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/"

// createdToken is the create response.
type createdToken struct {
	Token          string  `json:"token"`
	ID             string  `json:"id"`
	Description    string  `json:"description"`
	AssociatedUser string  `json:"associatedUser"`
	CreatedAt      string  `json:"createdAt"`
	ExpiresAt      *string `json:"expiresAt"`
	Status         string  `json:"status"`
	StatusText     string  `json:"statusText"`
	LastUsedAt     *string `json:"lastUsedAt"`
	LastUsedIP     *string `json:"lastUsedIp"`
	LastUsedText   string  `json:"lastUsedText"`
}

const (
	createdKeys = "associatedUser,createdAt,description,expiresAt,id,lastUsedAt,lastUsedIp,lastUsedText,scopes,status,statusText,token"
	listedKeys  = "associatedUser,createdAt,description,expiresAt,id,lastUsedAt,lastUsedIp,lastUsedText,scopes,status,statusText"
)

// createToken creates a token through the create function, as the session
// context of create-token.json (ada@example.com in acme) with body.
func (s *stack) createToken(t *testing.T, body string) createdToken {
	t.Helper()
	resp := s.call(t, "CreateTokenFunction", editEvent(t, "create-token.json", func(e map[string]any) { e["body"] = body }))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: got %d %s, want 201", resp.StatusCode, resp.Body)
	}
	var tok createdToken
	if err := json.Unmarshal([]byte(resp.Body), &tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func (s *stack) list(t *testing.T, event []byte) []createdToken {
	t.Helper()
	resp := s.call(t, "ListTokensFunction", event)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: got %d %s, want 200", resp.StatusCode, resp.Body)
	}
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || page.Items == nil {
		t.Fatalf("list: got body %s, want {\"items\":[…]}", resp.Body)
	}
	out := make([]createdToken, 0, len(page.Items))
	for _, raw := range page.Items {
		if got := keysOf(t, string(raw)); got != listedKeys {
			t.Fatalf("listed item has keys %s, want %s (never the token)", got, listedKeys)
		}
		var tok createdToken
		if err := json.Unmarshal(raw, &tok); err != nil {
			t.Fatal(err)
		}
		out = append(out, tok)
	}
	return out
}

func ids(toks []createdToken) []string {
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		out = append(out, t.ID)
	}
	return out
}

// authorizeEvent feeds a REQUEST authorizer event to the authorizer binary.
func authorizeEvent(t *testing.T, f *Function, event []byte) (events.APIGatewayCustomAuthorizerResponse, error) {
	t.Helper()
	out, err := invoke(t, f, event)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	var resp events.APIGatewayCustomAuthorizerResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("the authorizer answered %s, not an authorizer response: %v", out, err)
	}
	return resp, nil
}

func authorize(t *testing.T, f *Function, authorization, arn string) (events.APIGatewayCustomAuthorizerResponse, error) {
	t.Helper()
	event, err := json.Marshal(events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: arn,
		Headers: map[string]string{"Authorization": authorization}, MultiValueHeaders: map[string][]string{"Authorization": {authorization}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return authorizeEvent(t, f, event)
}

// wantAllow checks an allow policy for exactly arn, with the principal in its context.
func wantAllow(t *testing.T, resp events.APIGatewayCustomAuthorizerResponse, err error, arn string, want map[string]any) {
	t.Helper()
	if err != nil {
		t.Fatalf("got %v, want an allow", err)
	}
	doc := resp.PolicyDocument
	if doc.Version != "2012-10-17" || len(doc.Statement) != 1 ||
		doc.Statement[0].Effect != "Allow" ||
		!reflect.DeepEqual(doc.Statement[0].Action, []string{"execute-api:Invoke"}) ||
		!reflect.DeepEqual(doc.Statement[0].Resource, []string{arn}) {
		t.Fatalf("got policy %+v, want Allow execute-api:Invoke on %s only", doc, arn)
	}
	if resp.PrincipalID != want["user"] {
		t.Errorf("got principalId %q, want %q", resp.PrincipalID, want["user"])
	}
	if !reflect.DeepEqual(resp.Context, want) {
		t.Errorf("got context %v, want %v", resp.Context, want)
	}
}

// wantUnauthorized checks the denial API Gateway turns into a 401.
func wantUnauthorized(t *testing.T, resp events.APIGatewayCustomAuthorizerResponse, err error) {
	t.Helper()
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Message != "Unauthorized" {
		t.Fatalf("got %+v, %v; want the function error \"Unauthorized\"", resp, err)
	}
}

// setAuthorization sets a REQUEST authorizer event's Authorization
// header(s) as API Gateway passes them: the last value in headers, every
// value in multiValueHeaders.
func setAuthorization(values ...string) func(e map[string]any) {
	return func(e map[string]any) {
		e["headers"].(map[string]any)["Authorization"] = values[len(values)-1]
		e["multiValueHeaders"].(map[string]any)["Authorization"] = values
	}
}

// principal is the authorizer context of a caller with every scope: a
// session, or a token created without a list of scopes.
func principal(user, tenant, authType, tokenID string) map[string]any {
	return map[string]any{"user": user, "tenant": tenant, "authType": authType, "tokenId": tokenID,
		"scopes": access.FormatScopes(access.AllScopes()), "admin": false}
}

// administrator is a tenant administrator's session, as the authorizer's context says it.
func administrator(user, tenant string) map[string]any {
	p := principal(user, tenant, "session", "")
	p["admin"] = true
	return p
}

func TestSampleEventsThroughTheBinaries(t *testing.T) {
	s := newStack(t).startAll(t)
	authz := s.fns["AuthorizerFunction"]
	fed := map[string]bool{}
	feed := func(name string) string { fed[name] = true; return name }

	var created createdToken
	t.Run("create-token.json creates a token for the session's user", func(t *testing.T) {
		resp := s.call(t, "CreateTokenFunction", readEvent(t, feed("create-token.json")))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("got %d %s, want 201", resp.StatusCode, resp.Body)
		}
		if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
			t.Errorf("got headers %v, want JSON and no-store", resp.Headers)
		}
		if got := keysOf(t, resp.Body); got != createdKeys {
			t.Fatalf("got keys %s, want %s", got, createdKeys)
		}
		if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
			t.Fatal(err)
		}
		if strings.Count(created.Token, ".") != 2 || created.ID == "" || created.Description != "nightly masking" ||
			created.AssociatedUser != "ada@example.com" || created.Status != "Enabled" {
			t.Errorf("got %+v, want an Enabled token \"nightly masking\" of ada@example.com", created)
		}
		createdAt, err1 := time.Parse(time.RFC3339, created.CreatedAt)
		if created.ExpiresAt == nil {
			t.Fatalf("got no expiresAt, want createdAt + 30 days")
		}
		expiresAt, err2 := time.Parse(time.RFC3339, *created.ExpiresAt)
		if err1 != nil || err2 != nil || expiresAt.Sub(createdAt) != 30*24*time.Hour {
			t.Errorf("got createdAt %s expiresAt %s, want 30 days apart", created.CreatedAt, *created.ExpiresAt)
		}
	})
	if created.Token == "" {
		t.Fatal("create-token.json created no token; the cases below need it")
	}

	t.Run("list-tokens.json lists the tenant's tokens without secrets", func(t *testing.T) {
		got := s.list(t, readEvent(t, feed("list-tokens.json")))
		if len(got) != 1 || got[0].ID != created.ID || got[0].Description != created.Description {
			t.Fatalf("got %+v, want only %s", got, created.ID)
		}
	})

	t.Run("whoami.json answers with the authorizer context", func(t *testing.T) {
		resp := s.call(t, "WhoAmIFunction", readEvent(t, feed("whoami.json")))
		want := `{"user":"ada@example.com","tenant":"acme","authType":"api_token","tokenId":"019ac5e2-7b3f-7c1e-9a4d-3f2b1c0d9e8f","scopes":["tokens:read","tokens:write","tokens:introspect","sandbox-plans:read","sandbox-plans:write","sandbox-refreshes:read","sandbox-refreshes:run","compliance-jobs:run"],"admin":false}`
		if resp.StatusCode != http.StatusOK || resp.Body != want {
			t.Fatalf("got %d %s, want 200 %s", resp.StatusCode, resp.Body, want)
		}
	})

	t.Run("authorizer-request.json as written (a placeholder) is denied", func(t *testing.T) {
		resp, err := authorizeEvent(t, authz, readEvent(t, feed("authorizer-request.json")))
		wantUnauthorized(t, resp, err)
	})

	t.Run("authorizer-request.json with the created API token is allowed", func(t *testing.T) {
		resp, err := authorizeEvent(t, authz, editEvent(t, "authorizer-request.json", setAuthorization("Bearer "+created.Token)))
		wantAllow(t, resp, err, methodARN+"GET/whoami", principal("ada@example.com", "acme", "api_token", created.ID))
	})

	t.Run("authorizer-request.json with a session is allowed", func(t *testing.T) {
		session := s.idp.session(t, "ada@example.com", "acme", nil)
		resp, err := authorizeEvent(t, authz, editEvent(t, "authorizer-request.json", setAuthorization("Bearer "+session)))
		wantAllow(t, resp, err, methodARN+"GET/whoami", principal("ada@example.com", "acme", "session", ""))
	})

	t.Run("authorizer-request.json with two Authorization headers, each valid, is denied", func(t *testing.T) {
		session := s.idp.session(t, "ada@example.com", "acme", nil)
		resp, err := authorizeEvent(t, authz, editEvent(t, "authorizer-request.json", setAuthorization("Bearer "+created.Token, "Bearer "+session)))
		wantUnauthorized(t, resp, err)
	})

	t.Run("revoke-leaked-tokens.json as written (a placeholder) is taken, and revokes nothing", func(t *testing.T) {
		resp := s.call(t, "RevokeLeakedTokensFunction", readEvent(t, feed("revoke-leaked-tokens.json")))
		if resp.StatusCode != http.StatusAccepted || resp.Body != api.LeakAnswer {
			t.Fatalf("got %d %s, want 202 %s", resp.StatusCode, resp.Body, api.LeakAnswer)
		}
		if got := s.list(t, readEvent(t, "list-tokens.json")); len(got) != 1 {
			t.Fatalf("got %d tokens listed, want the created one still there", len(got))
		}
	})

	t.Run("authorizer-no-bearer.json is denied", func(t *testing.T) {
		resp, err := authorizeEvent(t, authz, readEvent(t, feed("authorizer-no-bearer.json")))
		wantUnauthorized(t, resp, err)
	})

	t.Run("introspect-token.json as written (a placeholder) is inactive", func(t *testing.T) {
		resp := s.call(t, "IntrospectTokenFunction", readEvent(t, feed("introspect-token.json")))
		if resp.StatusCode != http.StatusOK || resp.Body != `{"active":false}` || resp.Headers["Cache-Control"] != "no-store" {
			t.Fatalf("got %d %v %s, want 200 no-store {\"active\":false}", resp.StatusCode, resp.Headers, resp.Body)
		}
	})

	t.Run("introspect-token.json with the created API token says it is active", func(t *testing.T) {
		resp := s.call(t, "IntrospectTokenFunction", editEvent(t, "introspect-token.json", func(e map[string]any) {
			e["body"] = "token=" + created.Token
		}))
		var got map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s, want 200 and JSON", resp.StatusCode, resp.Body)
		}
		if got["active"] != true || got["jti"] != created.ID || got["sub"] != "ada@example.com" || got["tenant"] != "acme" || got["token_type"] != "Bearer" {
			t.Errorf("got %v, want the created token, active", got)
		}
	})

	t.Run("public-keys.json gets the JWK Set of the trusted key", func(t *testing.T) {
		resp := s.call(t, "PublicKeysFunction", readEvent(t, feed("public-keys.json")))
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &set); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s, want 200 and a JWK Set", resp.StatusCode, resp.Body)
		}
		if len(set.Keys) != 1 || set.Keys[0]["kid"] != kmskey.KeyID(s.keyARN) || set.Keys[0]["alg"] != "ES256" {
			t.Errorf("got %v, want the one trusted key, kid %s", set.Keys, kmskey.KeyID(s.keyARN))
		}
		if cc := resp.Headers["Cache-Control"]; cc != "public, max-age=300" {
			t.Errorf("got Cache-Control %q, want public, max-age=300", cc)
		}
	})

	t.Run("delete-token.json as written finds no such token", func(t *testing.T) {
		resp := s.call(t, "DeleteTokenFunction", readEvent(t, feed("delete-token.json")))
		if resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "NOT_FOUND" {
			t.Fatalf("got %d %s, want 404 NOT_FOUND", resp.StatusCode, resp.Body)
		}
	})

	t.Run("delete-token.json with the created id deletes it", func(t *testing.T) {
		resp := s.call(t, "DeleteTokenFunction", editEvent(t, "delete-token.json", func(e map[string]any) {
			setTokenID(e, created.ID)
		}))
		if resp.StatusCode != http.StatusNoContent || resp.Body != "" {
			t.Fatalf("got %d %q, want 204 and no body", resp.StatusCode, resp.Body)
		}
		if got := s.list(t, readEvent(t, "list-tokens.json")); len(got) != 0 {
			t.Fatalf("got %v listed after the delete, want none", ids(got))
		}
	})

	t.Run("console-config.json gets the console's sign-in configuration, with its security headers", func(t *testing.T) {
		resp := s.call(t, "ConsoleFunction", readEvent(t, feed("console-config.json")))
		if resp.StatusCode != http.StatusOK || resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
			t.Fatalf("got %d %v %s, want 200 JSON, no-store", resp.StatusCode, resp.Headers, resp.Body)
		}
		var cfg map[string]string
		if err := json.Unmarshal([]byte(resp.Body), &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg["mode"] != "oidc" || cfg["clientId"] != oidcAudience || cfg["tokenEndpoint"] != consoleSignIn+"/oauth2/token" || cfg["origin"] != consoleOrigin {
			t.Errorf("got %v", cfg)
		}
		if csp := resp.Headers["Content-Security-Policy"]; !strings.Contains(csp, "connect-src 'self' "+consoleSignIn+";") {
			t.Errorf("got CSP %q, want fetches to the API and the token endpoint only", csp)
		}
		doc := s.call(t, "ConsoleFunction", editEvent(t, "console-config.json", func(e map[string]any) {
			e["path"], e["pathParameters"] = "/openapi.yaml", map[string]any{"proxy": "openapi.yaml"}
			e["requestContext"].(map[string]any)["path"] = "/v1/openapi.yaml"
		}))
		if doc.StatusCode != http.StatusOK || doc.Headers["Content-Type"] != "application/yaml" || doc.Body != string(dcsaccess.OpenAPI) {
			t.Errorf("GET /v1/openapi.yaml: got %d %v, want 200 application/yaml and openapi.yaml", doc.StatusCode, doc.Headers)
		}
		page := s.call(t, "ConsoleFunction", editEvent(t, "console-config.json", func(e map[string]any) {
			e["path"] = "/"
			e["requestContext"].(map[string]any)["path"] = "/v1/"
		}))
		if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, `<base href="/v1/">`) {
			t.Errorf("GET /v1/: got %d, want the page under the stage", page.StatusCode)
		}
	})

	t.Run("get-tenant-policy.json reads the default policy", func(t *testing.T) {
		resp := s.call(t, "TenantPolicyFunction", readEvent(t, feed("get-tenant-policy.json")))
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"maxLifespanDays":null`) || !strings.Contains(resp.Body, `"version":0`) {
			t.Fatalf("got %d %s, want 200 and the default policy", resp.StatusCode, resp.Body)
		}
	})

	s.feedPipelineSamples(t, feed)
	s.feedSecretsSamples(t, feed)
	s.feedExpirySample(t, feed)
	s.feedAuditSamples(t, feed, created.ID)

	for _, name := range eventFiles(t) {
		if !fed[name] {
			t.Errorf("events/%s is fed as written to no function: add a case here", name)
		}
	}
	for _, name := range Functions {
		t.Logf("%s: cold start under the emulator (process start to first response) %v", name, s.fns[name].ColdStart())
	}
}

// setTokenID points a delete-token.json event at id, as API Gateway would.
func setTokenID(e map[string]any, id string) {
	e["pathParameters"] = map[string]any{"id": id}
	e["path"] = "/api-tokens/" + id
	e["requestContext"].(map[string]any)["path"] = "/v1/api-tokens/" + id
}

func TestAuthorizerBinaryAllowsAndDenies(t *testing.T) {
	s := newStack(t).startAll(t)
	authz := s.fns["AuthorizerFunction"]
	live := s.createToken(t, `{"description":"ci job"}`)
	deleted := s.createToken(t, `{"description":"old laptop"}`)
	resp := s.call(t, "DeleteTokenFunction", editEvent(t, "delete-token.json", func(e map[string]any) { setTokenID(e, deleted.ID) }))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: got %d %s, want 204", resp.StatusCode, resp.Body)
	}

	// A token whose claims match a stored token exactly, signed by a KMS key the authorizer does not trust.
	untrustedKey := createSigningKey(t, s.kms)
	forged, err := apitoken.Minter{Issuer: tokenIssuer, Signer: kmskey.NewSigner(testenv.Moto(t, kmskey.Service), untrustedKey)}.Mint(t.Context(), apitoken.Grant{
		ID: live.ID, User: live.AssociatedUser, Tenant: "acme", IssuedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	stranger := newIDP(t) // another issuer's key, under the same kid

	arn := methodARN + "GET/api-tokens"
	cases := []struct {
		name          string
		authorization string
		want          map[string]any // nil: denied
	}{
		{"a session from the OIDC issuer is allowed", "Bearer " + s.idp.session(t, "grace@example.com", "globex", nil),
			principal("grace@example.com", "globex", "session", "")},
		{"a live API token is allowed", "Bearer " + live.Token, principal("ada@example.com", "acme", "api_token", live.ID)},
		// The template's AdminGroupClaim and AdminGroup, as the stack's Cognito pool sends them.
		{"a session of the administrators' group is a tenant administrator's", "Bearer " + s.idp.session(t, "grace@example.com", "globex", map[string]any{"cognito:groups": []string{"dcs-admins"}}),
			administrator("grace@example.com", "globex")},
		{"a garbage bearer is denied", "Bearer not-a-token", nil},
		{"a JWT-shaped garbage bearer is denied", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln", nil},
		{"a token without the Bearer scheme is denied", live.Token, nil},
		{"a deleted API token is denied", "Bearer " + deleted.Token, nil},
		{"an API token signed by an untrusted KMS key is denied", "Bearer " + forged, nil},
		{"a session signed by a key outside the issuer's JWKS is denied",
			"Bearer " + s.idp.sign(t, stranger.key, "grace@example.com", "globex", nil), nil},
		{"a session for another app client is denied",
			"Bearer " + s.idp.session(t, "grace@example.com", "globex", map[string]any{"aud": "another-client"}), nil},
		{"an expired session is denied",
			"Bearer " + s.idp.session(t, "grace@example.com", "globex", map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}), nil},
		{"a session without a tenant is denied",
			"Bearer " + s.idp.session(t, "grace@example.com", "globex", map[string]any{"custom:tenant": nil}), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := authorize(t, authz, c.authorization, arn)
			if c.want == nil {
				wantUnauthorized(t, resp, err)
				return
			}
			wantAllow(t, resp, err, arn, c.want)
		})
	}

	t.Run("a session is allowed when the issuer's JWKS URL is configured apart", func(t *testing.T) {
		// ExistingOidcJwksUrl: an issuer whose keys are not at <issuer>/.well-known/jwks.json.
		const issuer = "https://login.example.com/oauth2/default"
		env := s.env(t, "AuthorizerFunction")
		env["OIDC_ISSUER"], env["OIDC_JWKS_URL"] = issuer, s.idp.url+"/keys"
		other := s.start(t, "AuthorizerFunction", env)
		resp, err := authorize(t, other, "Bearer "+s.idp.session(t, "grace@example.com", "globex", map[string]any{"iss": issuer}), arn)
		wantAllow(t, resp, err, arn, principal("grace@example.com", "globex", "session", ""))
		resp, err = authorize(t, other, "Bearer "+s.idp.session(t, "grace@example.com", "globex", nil), arn)
		wantUnauthorized(t, resp, err) // the other issuer's sessions are not accepted
	})

	t.Run("a session whose issuer's keys cannot be fetched is a failure to decide, not a 401", func(t *testing.T) {
		env := s.env(t, "AuthorizerFunction")
		env["OIDC_JWKS_URL"] = s.idp.url + "/gone" // the issuer answers 404, as an outage or a misconfiguration would
		cut := s.start(t, "AuthorizerFunction", env)
		_, err := authorize(t, cut, "Bearer "+s.idp.session(t, "grace@example.com", "globex", nil), arn)
		var fe *FunctionError
		if !errors.As(err, &fe) || fe.Message != "authorizer failed" {
			t.Fatalf("got %v, want the function error \"authorizer failed\" (API Gateway's authorizer configuration error, answered 503)", err)
		}
		resp, err := authorize(t, cut, "Bearer "+live.Token, arn) // API tokens need no issuer
		wantAllow(t, resp, err, arn, principal("ada@example.com", "acme", "api_token", live.ID))
	})
}

// TestTokenLifecycleThroughTheBinaries goes create → authorize → delete →
// deny with nothing but the built functions, each request carrying the
// context the authorizer binary produced for it.
func TestTokenLifecycleThroughTheBinaries(t *testing.T) {
	s := newStack(t).startAll(t)
	authz := s.fns["AuthorizerFunction"]
	session := s.idp.session(t, "grace@example.com", "globex", nil)

	// A signed-in user creates a token.
	createARN := methodARN + "POST/api-tokens"
	asSession, err := authorize(t, authz, "Bearer "+session, createARN)
	wantAllow(t, asSession, err, createARN, principal("grace@example.com", "globex", "session", ""))
	resp := s.call(t, "CreateTokenFunction", editEvent(t, "create-token.json", func(e map[string]any) {
		setAuthorizer(e, asSession)
		setBearer(e, session)
		e["body"] = `{"description":"lifecycle","lifespanDays":1}`
	}))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: got %d %s, want 201", resp.StatusCode, resp.Body)
	}
	var tok createdToken
	if err := json.Unmarshal([]byte(resp.Body), &tok); err != nil {
		t.Fatal(err)
	}

	// The token authorizes a request, and the function sees who it is.
	whoamiARN := methodARN + "GET/whoami"
	asToken, err := authorize(t, authz, "Bearer "+tok.Token, whoamiARN)
	wantAllow(t, asToken, err, whoamiARN, principal("grace@example.com", "globex", "api_token", tok.ID))
	resp = s.call(t, "WhoAmIFunction", editEvent(t, "whoami.json", func(e map[string]any) {
		setAuthorizer(e, asToken)
		setBearer(e, tok.Token)
	}))
	every, _ := json.Marshal(access.AllScopes()) // a token created without scopes has each
	want := `{"user":"grace@example.com","tenant":"globex","authType":"api_token","tokenId":"` + tok.ID + `","scopes":` + string(every) + `,"admin":false}`
	if resp.StatusCode != http.StatusOK || resp.Body != want {
		t.Fatalf("whoami: got %d %s, want 200 %s", resp.StatusCode, resp.Body, want)
	}

	// A token cannot mint tokens.
	asToken, err = authorize(t, authz, "Bearer "+tok.Token, createARN)
	wantAllow(t, asToken, err, createARN, principal("grace@example.com", "globex", "api_token", tok.ID))
	resp = s.call(t, "CreateTokenFunction", editEvent(t, "create-token.json", func(e map[string]any) { setAuthorizer(e, asToken) }))
	if resp.StatusCode != http.StatusForbidden || errorCode(t, resp) != "SESSION_REQUIRED" {
		t.Fatalf("create with a token: got %d %s, want 403 SESSION_REQUIRED", resp.StatusCode, resp.Body)
	}

	// A token narrowed to running refreshes: the authorizer passes its one
	// scope on, and the list function refuses it, naming the scope it lacks.
	ci := s.createToken(t, `{"description":"ci","scopes":["sandbox-refreshes:run"]}`)
	listARN := methodARN + "GET/api-tokens"
	asCI, err := authorize(t, authz, "Bearer "+ci.Token, listARN)
	wantCI := principal("ada@example.com", "acme", "api_token", ci.ID)
	wantCI["scopes"] = "sandbox-refreshes:run"
	wantAllow(t, asCI, err, listARN, wantCI)
	resp = s.call(t, "ListTokensFunction", editEvent(t, "list-tokens.json", func(e map[string]any) {
		setAuthorizer(e, asCI)
		setBearer(e, ci.Token)
	}))
	if resp.StatusCode != http.StatusForbidden || errorCode(t, resp) != "INSUFFICIENT_SCOPE" || !strings.Contains(resp.Body, "tokens:read") {
		t.Fatalf("list with the CI token: got %d %s, want 403 INSUFFICIENT_SCOPE naming tokens:read", resp.StatusCode, resp.Body)
	}

	// The user deletes it...
	deleteARN := methodARN + "DELETE/api-tokens/" + tok.ID
	asSession, err = authorize(t, authz, "Bearer "+session, deleteARN)
	wantAllow(t, asSession, err, deleteARN, principal("grace@example.com", "globex", "session", ""))
	deleteEvent := editEvent(t, "delete-token.json", func(e map[string]any) {
		setAuthorizer(e, asSession)
		setBearer(e, session)
		setTokenID(e, tok.ID)
	})
	if resp = s.call(t, "DeleteTokenFunction", deleteEvent); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: got %d %s, want 204", resp.StatusCode, resp.Body)
	}

	// ...and the very next request with it is denied.
	denied, err := authorize(t, authz, "Bearer "+tok.Token, whoamiARN)
	wantUnauthorized(t, denied, err)
	if resp = s.call(t, "DeleteTokenFunction", deleteEvent); resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "NOT_FOUND" {
		t.Fatalf("second delete: got %d %s, want 404 NOT_FOUND", resp.StatusCode, resp.Body)
	}
}

// TestColdStartFailsWithoutItsConfiguration: a function missing a setting the
// template must give it fails at cold start, loudly, and serves nothing.
func TestColdStartFailsWithoutItsConfiguration(t *testing.T) {
	s := newStack(t)
	cases := []struct {
		function string
		unset    string
	}{
		{"CreateTokenFunction", "TABLE_NAME"},
		{"CreateTokenFunction", "TOKEN_ISSUER"},
		{"CreateTokenFunction", "SIGNING_KEY_ID"},
		{"ListTokensFunction", "TABLE_NAME"},
		{"DeleteTokenFunction", "TABLE_NAME"},
		{"TenantPolicyFunction", "TABLE_NAME"},
		{"RevokeLeakedTokensFunction", "TABLE_NAME"},
		{"RevokeLeakedTokensFunction", "TOKEN_ISSUER"},
		{"RevokeLeakedTokensFunction", "TRUSTED_KEY_IDS"},
		{"RevokeLeakedTokensFunction", "EVENT_BUS_NAME"},
		{"AuthorizerFunction", "TABLE_NAME"},
		{"AuthorizerFunction", "TOKEN_ISSUER"},
		{"AuthorizerFunction", "TRUSTED_KEY_IDS"},
		{"AuthorizerFunction", "OIDC_ISSUER"},
		{"AuthorizerFunction", "OIDC_AUDIENCE"},
		{"SandboxPlansFunction", "TABLE_NAME"},
		{"SandboxPlansFunction", "SCHEDULE_GROUP"},
		{"SandboxPlansFunction", "SCHEDULER_ROLE_ARN"},
		{"SandboxPlansFunction", "EVENT_BUS_ARN"},
		{"SandboxRefreshesFunction", "TABLE_NAME"},
		{"SandboxRefreshesFunction", "STATE_MACHINE_ARN"},
		{"SandboxRefreshEventsFunction", "TABLE_NAME"},
		{"SandboxRefreshEventsFunction", "STATE_MACHINE_ARN"},
		{"SandboxRefreshEventsFunction", "EVENT_BUS_NAME"},
		{"PipelineSecretsFunction", "TABLE_NAME"},
		{"PipelineSecretsFunction", "SIGNING_KEY_ID"},
		{"PipelineSecretsFunction", "ROTATION_FUNCTION_ARN"},
		{"PipelineSecretsFunction", "ROTATION_DAYS"},
		{"PipelineSecretsFunction", "ROTATION_OVERLAP_MINUTES"},
		{"DcsTokenRotationFunction", "API_URL"},
		{"DcsTokenRotationFunction", "OVERLAP_MINUTES"},
		{"ExpiryNoticesFunction", "TABLE_NAME"},
		{"ExpiryNoticesFunction", "EVENT_BUS_NAME"},
	}
	for _, c := range cases {
		t.Run(c.function+" without "+c.unset, func(t *testing.T) {
			t.Parallel()
			env := s.env(t, c.function)
			delete(env, c.unset)
			f := s.start(t, c.function, env)
			wantColdStartFailure(t, f, "environment variable "+c.unset+" must be set")
		})
	}
	t.Run("AuthorizerFunction trusting a key KMS does not have", func(t *testing.T) {
		t.Parallel()
		env := s.env(t, "AuthorizerFunction")
		env["TRUSTED_KEY_IDS"] = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000"
		f := s.start(t, "AuthorizerFunction", env)
		wantColdStartFailure(t, f, "kms get public key")
	})
}

func wantColdStartFailure(t *testing.T, f *Function, logged string) {
	t.Helper()
	for range 2 { // and it stays failed: the emulator retries init on the next invoke
		out, err := invoke(t, f, readEvent(t, "authorizer-no-bearer.json"))
		var ee *EmulatorError
		if !errors.As(err, &ee) || ee.StatusCode != http.StatusBadGateway {
			t.Fatalf("got %s, %v; want the emulator's 502 for a failed cold start", out, err)
		}
	}
	logs := f.Logs()
	if !strings.Contains(logs, `"msg":"cold start failed"`) || !strings.Contains(logs, logged) {
		t.Fatalf("the function did not log \"cold start failed\" with %q; output:\n%s", logged, logs)
	}
}

func TestFunctionErrorsAreToldFromAnswers(t *testing.T) {
	cases := []struct {
		name string
		body string
		want *FunctionError
	}{
		{"a handler error is a function error", `{"errorMessage":"Unauthorized","errorType":"errorString"}`,
			&FunctionError{Message: "Unauthorized", Type: "errorString"}},
		{"a panic with its stack trace is a function error", `{"errorMessage":"boom","errorType":"runtime.Error","stackTrace":[]}`,
			&FunctionError{Message: "boom", Type: "runtime.Error"}},
		{"a proxy response is an answer", `{"statusCode":401,"body":"{\"error\":{}}"}`, nil},
		{"an object with more than error fields is an answer", `{"errorMessage":"x","errorType":"y","user":"ada"}`, nil},
		{"a JSON string is an answer", `"errorMessage"`, nil},
		{"an empty body is an answer", ``, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := asFunctionError([]byte(c.body)); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// revokeEvent is revoke-leaked-tokens.json reporting raws.
func revokeEvent(t *testing.T, raws ...string) []byte {
	t.Helper()
	body, err := json.Marshal(map[string][]string{"tokens": raws})
	if err != nil {
		t.Fatal(err)
	}
	return editEvent(t, "revoke-leaked-tokens.json", func(e map[string]any) { e["body"] = string(body) })
}

// TestLastUseAndLeakRevocationThroughTheBinaries: the authorizer binary
// records a token's last use (its internal extension registers with the
// emulator and writes after the answer), and the revocation binary, with no
// authorizer in front, revokes a leaked token so that the authorizer binary
// refuses it, and announces it on the bus.
func TestLastUseAndLeakRevocationThroughTheBinaries(t *testing.T) {
	s := newStack(t).startAll(t)
	authz := s.fns["AuthorizerFunction"]
	leaked := s.createToken(t, `{"description":"in a CI log"}`)
	kept := s.createToken(t, `{"description":"kept"}`)
	if leaked.LastUsedAt != nil || leaked.LastUsedText != "Never used" {
		t.Fatalf("a new token: got %+v, want it never used", leaked)
	}

	arn := methodARN + "GET/whoami"
	event, err := json.Marshal(events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: arn, Resource: "/whoami", Path: "/whoami", HTTPMethod: "GET",
		Headers:           map[string]string{"Authorization": "Bearer " + leaked.Token},
		MultiValueHeaders: map[string][]string{"Authorization": {"Bearer " + leaked.Token}},
		RequestContext:    events.APIGatewayCustomAuthorizerRequestTypeRequestContext{Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: "198.51.100.23"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := authorizeEvent(t, authz, event)
	wantAllow(t, resp, err, arn, principal("ada@example.com", "acme", "api_token", leaked.ID))
	// The emulator answers an invoke once its extensions are done (Lambda
	// answers before), so the write is there now.
	var used createdToken
	for _, tk := range s.list(t, readEvent(t, "list-tokens.json")) {
		if tk.ID == leaked.ID {
			used = tk
		}
	}
	if used.LastUsedAt == nil || used.LastUsedIP == nil || *used.LastUsedIP != "198.51.100.23" || !strings.HasSuffix(used.LastUsedText, " from 198.51.100.23") {
		t.Fatalf("after one allowed request: got %+v, want it used from 198.51.100.23", used)
	}
	if logs := authz.Logs(); !strings.Contains(logs, "dcs-access-after-response") {
		t.Errorf("the emulator's log does not show the extension registered:\n%s", logs)
	}

	for _, report := range [][]string{{"junk"}, {leaked.Token, "junk", leaked.Token}, {leaked.Token}} {
		resp := s.call(t, "RevokeLeakedTokensFunction", revokeEvent(t, report...))
		if resp.StatusCode != http.StatusAccepted || resp.Body != api.LeakAnswer {
			t.Fatalf("report of %d: got %d %s, want 202 %s", len(report), resp.StatusCode, resp.Body, api.LeakAnswer)
		}
	}
	resp, err = authorize(t, authz, "Bearer "+leaked.Token, arn)
	wantUnauthorized(t, resp, err)
	resp, err = authorize(t, authz, "Bearer "+kept.Token, arn)
	wantAllow(t, resp, err, arn, principal("ada@example.com", "acme", "api_token", kept.ID))

	var got []map[string]string
	for _, e := range s.pipeline.published(t) {
		if e.DetailType != "API Token Revoked As Leaked" {
			continue
		}
		var d map[string]string
		if err := json.Unmarshal(e.Detail, &d); err != nil || e.Source != "dcs-access" {
			t.Fatalf("got an event from %q with detail %s (%v)", e.Source, e.Detail, err)
		}
		got = append(got, d)
	}
	want := map[string]string{"tokenId": leaked.ID, "tenant": "acme", "description": "in a CI log", "user": "ada@example.com"}
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("got events %v, want exactly one: %v", got, want)
	}

	bad := s.call(t, "RevokeLeakedTokensFunction", revokeEvent(t))
	if bad.StatusCode != http.StatusBadRequest || errorCode(t, bad) != "INVALID_TOKENS" {
		t.Fatalf("an empty report: got %d %s, want 400 INVALID_TOKENS", bad.StatusCode, bad.Body)
	}
}
