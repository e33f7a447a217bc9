package localserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/ddb"
)

// The tenant policy through the local stack (gateway, authorizer, DynamoDB
// Local, handlers): who may set it, what it refuses, what it flags.

// everyScope is the closed set of scopes as a JSON list.
var everyScope = func() string {
	b, _ := json.Marshal(access.AllScopes())
	return string(b)
}()

// policyBody is a PUT body: maxLifespanDays ("null" for none), whether
// tokens must expire, the allowed scopes (a JSON list), ownerOnlyDelete.
func policyBody(max string, requireExpiry bool, scopes string, ownerOnlyDelete bool) string {
	return fmt.Sprintf(`{"maxLifespanDays":%s,"requireExpiry":%v,"allowedScopes":%s,"ownerOnlyDelete":%v}`, max, requireExpiry, scopes, ownerOnlyDelete)
}

// setPolicy sets the tenant's policy as its administrator.
func (s *pipelineStack) setPolicy(t *testing.T, body string) {
	t.Helper()
	if status, out := call(t, s.http, "PUT", "/tenant-policy", s.admin, body); status != 200 {
		t.Fatalf("set the policy %s: got %d %v", body, status, out)
	}
}

// clearPolicy removes the tenant's policy item, which no route does: the
// tenant is back to the default policy, at version 0.
func (s *pipelineStack) clearPolicy(t *testing.T) {
	t.Helper()
	_, err := s.client.DeleteItem(context.Background(), &ddb.DeleteItemInput{TableName: &s.table, Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "TENANT#acme"}, "sk": &types.AttributeValueMemberS{Value: "POLICY"},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *pipelineStack) policy(t *testing.T) map[string]any {
	t.Helper()
	status, out := call(t, s.http, "GET", "/tenant-policy", s.session, "")
	if status != 200 {
		t.Fatalf("get the policy: got %d %v", status, out)
	}
	return out
}

// create makes a token with bearer and body, and returns the answer.
func (s *pipelineStack) create(t *testing.T, bearer, body string) map[string]any {
	t.Helper()
	status, out := call(t, s.http, "POST", "/api-tokens", bearer, body)
	if status != 201 {
		t.Fatalf("create %s: got %d %v", body, status, out)
	}
	return out
}

func (s *pipelineStack) works(t *testing.T, token string) bool {
	t.Helper()
	status, _ := call(t, s.http, "GET", "/whoami", token, "")
	return status == 200
}

func TestOnlyATenantAdministratorsSessionSetsThePolicy(t *testing.T) {
	s := newPipelineStack(t)
	// An API token made by the administrator, with every scope: not an administrator.
	adminsToken := s.create(t, s.admin, `{"description":"made by an administrator"}`)["token"].(string)
	reader := createToken(t, s, []access.Scope{access.ScopeTokensRead})
	unread := createToken(t, s, but(access.ScopeTokensRead))
	tight := policyBody("30", true, everyScope, true)

	for _, tc := range []struct {
		name, bearer, wantCode string
	}{
		{"a user's session", s.session, "ADMIN_REQUIRED"},
		{"an API token the administrator made", adminsToken, "SESSION_REQUIRED"},
		{"an API token without tokens:write", reader, access.CodeInsufficientScope},
	} {
		status, out := call(t, s.http, "PUT", "/tenant-policy", tc.bearer, tight)
		if code, _ := errorOf(out); status != 403 || code != tc.wantCode {
			t.Errorf("%s: got %d %v, want 403 %s", tc.name, status, out, tc.wantCode)
		}
	}
	if got := s.policy(t); got["version"] != float64(0) || got["maxLifespanDays"] != nil {
		t.Fatalf("after the refusals: got %v, want the default policy, version 0", got)
	}
	// whoami says who administers; a token never does.
	for bearer, want := range map[string]bool{s.admin: true, s.session: false, adminsToken: false} {
		if _, who := call(t, s.http, "GET", "/whoami", bearer, ""); who["admin"] != want {
			t.Errorf("whoami: got %v, want admin %v", who, want)
		}
	}

	if status, out := call(t, s.http, "PUT", "/tenant-policy", s.admin, tight); status != 200 || out["version"] != float64(1) || out["maxLifespanDays"] != float64(30) {
		t.Fatalf("the administrator: got %d %v, want 200 and version 1", status, out)
	}
	// Anyone of the tenant reads it, a token with tokens:read too; another tenant has its own.
	for _, bearer := range []string{s.session, reader, adminsToken} {
		if status, out := call(t, s.http, "GET", "/tenant-policy", bearer, ""); status != 200 || out["maxLifespanDays"] != float64(30) || out["ownerOnlyDelete"] != true {
			t.Errorf("read: got %d %v, want the policy just set", status, out)
		}
	}
	other := signIn(t, s.http, "ada@globex.example", "globex")
	if _, out := call(t, s.http, "GET", "/tenant-policy", other, ""); out["version"] != float64(0) {
		t.Errorf("another tenant: got %v, want its own default policy", out)
	}
	if status, out := call(t, s.http, "GET", "/tenant-policy", unread, ""); status != 403 {
		t.Errorf("a token without tokens:read: got %d %v, want 403", status, out)
	}
}

func TestABadPolicyIs400NamingTheFieldAndChangesNothing(t *testing.T) {
	s := newPipelineStack(t)
	s.setPolicy(t, policyBody("90", true, everyScope, false))
	before := s.policy(t)
	for body, want := range map[string]string{
		`{"maxLifespanDays":90,"requireExpiry":true,"allowedScopes":["tokens:read"]}`:                                         "ownerOnlyDelete is required",
		`{"maxLifespanDays":90,"requireExpiry":true,"allowedScopes":["tokens:read"],"ownerOnlyDelete":false,"owner":1}`:       `"owner"`,
		`{"maxLifespanDays":90,"requireExpiry":true,"allowedScopes":["tokens:read"],"ownerOnlyDelete":"no"}`:                  `"ownerOnlyDelete"`,
		`{"maxLifespanDays":"90","requireExpiry":true,"allowedScopes":["tokens:read"],"ownerOnlyDelete":false}`:               "maxLifespanDays",
		`{"maxLifespanDays":4000,"requireExpiry":true,"allowedScopes":["tokens:read"],"ownerOnlyDelete":false}`:               "maxLifespanDays",
		`{"maxLifespanDays":30,"requireExpiry":false,"allowedScopes":["tokens:read"],"ownerOnlyDelete":false}`:                "requireExpiry",
		`{"maxLifespanDays":null,"requireExpiry":false,"allowedScopes":["tokens:everything"],"ownerOnlyDelete":false}`:        `"tokens:everything"`,
		`{"maxLifespanDays":null,"requireExpiry":false,"allowedScopes":[],"ownerOnlyDelete":false}`:                           "allowedScopes",
		`{"MaxLifespanDays":null,"requireExpiry":false,"allowedScopes":["tokens:read"],"ownerOnlyDelete":false}`:              `"maxLifespanDays"`,
		`{"maxLifespanDays":null,"maxLifespanDays":null,"requireExpiry":false,"allowedScopes":["x"],"ownerOnlyDelete":false}`: `"maxLifespanDays"`,
	} {
		status, out := call(t, s.http, "PUT", "/tenant-policy", s.admin, body)
		if code, msg := errorOf(out); status != 400 || (code != "INVALID_POLICY" && code != "INVALID_BODY") || !strings.Contains(msg, want) {
			t.Errorf("%s: got %d %v, want 400 naming %s", body, status, out, want)
		}
	}
	if after := s.policy(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("got %v after the refusals, want %v", after, before)
	}
	// A change made from an older version is refused; from the current one it is made.
	stale := `{"maxLifespanDays":null,"requireExpiry":false,"allowedScopes":["tokens:read"],"ownerOnlyDelete":false,"version":0}`
	if status, out := call(t, s.http, "PUT", "/tenant-policy", s.admin, stale); status != 409 || out["error"].(map[string]any)["code"] != "POLICY_CHANGED" {
		t.Fatalf("a stale version: got %d %v, want 409 POLICY_CHANGED", status, out)
	}
	current := strings.Replace(stale, `"version":0`, `"version":1`, 1)
	if status, out := call(t, s.http, "PUT", "/tenant-policy", s.admin, current); status != 200 || out["version"] != float64(2) {
		t.Fatalf("the current version: got %d %v, want 200, version 2", status, out)
	}
}

// Each limit on creation and on rotation, against DynamoDB Local: what the
// tenant policy refuses is a 400 POLICY_VIOLATION naming the limit, and
// writes nothing; what it allows is made.
func TestPolicyLimitsOnCreateAndRotate(t *testing.T) {
	s := newPipelineStack(t)
	tests := []struct {
		name      string
		policy    string
		body      string // of the token created (and of the one rotated, made before the policy)
		wantLimit string
	}{
		{"the default policy allows a token that never expires", "", `{}`, ""},
		{"a lifespan of the maximum", policyBody("30", true, everyScope, false), `{"lifespanDays":30}`, ""},
		{"a lifespan over the maximum", policyBody("30", true, everyScope, false), `{"lifespanDays":31}`, "maxLifespanDays"},
		{"no lifespan when tokens must expire", policyBody("null", true, everyScope, false), `{}`, "requireExpiry"},
		{"any lifespan when tokens must expire", policyBody("null", true, everyScope, false), `{"lifespanDays":3650}`, ""},
		{"an allowed scope", policyBody("null", false, `["sandbox-refreshes:run"]`, false), `{"scopes":["sandbox-refreshes:run"]}`, ""},
		{"a scope that is not allowed", policyBody("null", false, `["sandbox-refreshes:run"]`, false), `{"scopes":["sandbox-refreshes:run","tokens:read"]}`, "allowedScopes"},
		{"every scope, by leaving scopes out", policyBody("null", false, `["sandbox-refreshes:run"]`, false), `{}`, "allowedScopes"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.clearPolicy(t)
			body := strings.Replace(tc.body, "{", fmt.Sprintf(`{"description":"rotated %d",`, i), 1)
			body = strings.Replace(body, ",}", "}", 1)
			old := s.create(t, s.session, body) // before the policy
			if tc.policy != "" {
				s.setPolicy(t, tc.policy)
			}
			_, list := call(t, s.http, "GET", "/api-tokens?limit=100", s.session, "")
			before := len(list["items"].([]any))

			created, createdOut := call(t, s.http, "POST", "/api-tokens", s.session, tc.body)
			rotated, rotatedOut := call(t, s.http, "POST", "/api-tokens/"+old["id"].(string)+"/rotate", old["token"].(string), `{"overlapMinutes":5}`)
			_, list = call(t, s.http, "GET", "/api-tokens?limit=100", s.session, "")
			after := len(list["items"].([]any))
			if tc.wantLimit == "" {
				if created != 201 || rotated != 201 || after != before+2 {
					t.Fatalf("got create %d %v, rotate %d %v, %d tokens more; want both made", created, createdOut, rotated, rotatedOut, after-before)
				}
				return
			}
			for what, got := range map[string]struct {
				status int
				out    map[string]any
			}{"create": {created, createdOut}, "rotate": {rotated, rotatedOut}} {
				if code, msg := errorOf(got.out); got.status != 400 || code != access.CodePolicyViolation || !strings.Contains(msg, "("+tc.wantLimit+")") {
					t.Errorf("%s: got %d %v, want 400 POLICY_VIOLATION naming %s", what, got.status, got.out, tc.wantLimit)
				}
			}
			if after != before {
				t.Errorf("got %d tokens more, want none: a refused create or rotation writes nothing", after-before)
			}
			// The token the rotation refused still works, and is not replaced.
			if !s.works(t, old["token"].(string)) {
				t.Error("the token whose rotation was refused no longer works")
			}
		})
	}
}

func TestTokensMadeBeforeATighterPolicyKeepWorkingAndAreFlagged(t *testing.T) {
	s := newPipelineStack(t)
	forever := s.create(t, s.session, `{"description":"forever"}`)
	yearly := s.create(t, s.session, `{"description":"yearly","lifespanDays":365,"scopes":["tokens:read","sandbox-refreshes:run"]}`)
	weekly := s.create(t, s.session, `{"description":"weekly","lifespanDays":7,"scopes":["sandbox-refreshes:run"]}`)
	s.setPolicy(t, policyBody("90", true, `["sandbox-refreshes:run","compliance-jobs:run"]`, false))

	_, list := call(t, s.http, "GET", "/api-tokens?limit=100", s.session, "")
	flags := map[string]string{}
	for _, it := range list["items"].([]any) {
		tok := it.(map[string]any)
		flags[tok["description"].(string)] = fmt.Sprint(tok["outsidePolicy"])
	}
	for desc, want := range map[string]string{
		"forever": "[never expires scopes tokens:read, tokens:write, tokens:introspect, sandbox-plans:read, sandbox-plans:write, sandbox-refreshes:read, audit:read are not allowed]",
		"yearly":  "[lifespan of 365 days exceeds the maximum of 90 scope tokens:read is not allowed]",
		"weekly":  "<nil>", // within the policy: no flag at all
	} {
		if flags[desc] != want {
			t.Errorf("%s: got outsidePolicy %s, want %s", desc, flags[desc], want)
		}
	}
	for _, tok := range []map[string]any{forever, yearly, weekly} {
		if !s.works(t, tok["token"].(string)) {
			t.Errorf("%s: no longer works, want it working", tok["description"])
		}
	}
	// The flag follows the policy: relaxed, nothing is flagged.
	s.setPolicy(t, policyBody("null", false, everyScope, false))
	_, list = call(t, s.http, "GET", "/api-tokens?limit=100", s.session, "")
	for _, it := range list["items"].([]any) {
		if tok := it.(map[string]any); tok["outsidePolicy"] != nil {
			t.Errorf("%s: got outsidePolicy %v under the default-like policy, want none", tok["description"], tok["outsidePolicy"])
		}
	}
}

func TestOwnerOnlyDeleteLetsOnlyTheOwnerOrAnAdministratorDelete(t *testing.T) {
	s := newPipelineStack(t)
	colleague := signIn(t, s.http, "bob@acme.example", "acme")
	adas := func(desc string) map[string]any { return s.create(t, s.session, `{"description":"`+desc+`"}`) }
	del := func(bearer string, tok map[string]any) (int, map[string]any) {
		return call(t, s.http, "DELETE", "/api-tokens/"+tok["id"].(string), bearer, "")
	}
	// Before the rule, a colleague may delete Ada's token.
	if status, out := del(colleague, adas("before the rule")); status != 204 {
		t.Fatalf("a colleague before ownerOnlyDelete: got %d %v, want 204", status, out)
	}
	s.setPolicy(t, policyBody("null", false, everyScope, true))

	target := adas("Ada's")
	bobsToken := s.create(t, colleague, `{"description":"Bob's"}`)
	for name, bearer := range map[string]string{"a colleague's session": colleague, "a colleague's token": bobsToken["token"].(string)} {
		if status, out := del(bearer, target); status != 403 || out["error"].(map[string]any)["code"] != "NOT_TOKEN_OWNER" {
			t.Errorf("%s: got %d %v, want 403 NOT_TOKEN_OWNER", name, status, out)
		}
	}
	if !s.works(t, target["token"].(string)) {
		t.Fatal("the refused deletes deleted the token")
	}
	// Rotation was the owner's alone already.
	if status, out := call(t, s.http, "POST", "/api-tokens/"+target["id"].(string)+"/rotate", colleague, `{}`); status != 403 || out["error"].(map[string]any)["code"] != "NOT_TOKEN_OWNER" {
		t.Errorf("a colleague's rotation: got %d %v, want 403 NOT_TOKEN_OWNER", status, out)
	}
	// One of Ada's own tokens may delete another of hers; so may she.
	if status, out := del(adas("Ada's helper")["token"].(string), target); status != 204 {
		t.Fatalf("Ada's own token: got %d %v, want 204", status, out)
	}
	if status, out := del(s.session, adas("Ada's second")); status != 204 {
		t.Fatalf("Ada: got %d %v, want 204", status, out)
	}
	// An administrator may delete anyone's.
	if status, out := del(s.admin, bobsToken); status != 204 || s.works(t, bobsToken["token"].(string)) {
		t.Fatalf("the administrator: got %d %v, want 204 and the token revoked", status, out)
	}
	// Leak revocation needs no owner: the token is the proof.
	leaked := adas("leaked")
	if status, _ := call(t, s.http, "POST", "/api-tokens/revoke", "", `{"tokens":["`+leaked["token"].(string)+`"]}`); status != 202 || s.works(t, leaked["token"].(string)) {
		t.Fatalf("leak revocation under ownerOnlyDelete: got %d, want 202 and the token revoked", status)
	}
}

// The pipeline's own token, minted by POST /sandbox-plans/{sandbox}/dcs-token
// and rotated by the rotation function, meets the policy or fails saying why.
func TestThePipelinesTokenMeetsThePolicyOrFailsClearly(t *testing.T) {
	s := newPipelineStack(t)
	mint := func(sandbox string) (int, map[string]any) {
		return call(t, s.http, "POST", "/sandbox-plans/"+sandbox+"/dcs-token", s.session, "")
	}
	// Left to itself the token lives three rotations (90 days); under a
	// shorter maximum it gets the maximum.
	s.setPolicy(t, policyBody("60", true, everyScope, false))
	status, out := mint("uat2")
	if status != 201 {
		t.Fatalf("under a 60-day maximum: got %d %v, want 201", status, out)
	}
	if tok := out["token"].(map[string]any); !strings.Contains(fmt.Sprint(tok), "statusText:Enabled - Expires on") || s.lifespanDays(t, tok) != 60 {
		t.Fatalf("got token %v, want a 60-day token", tok)
	}
	// A maximum not longer than the rotation period (30 days) cannot be met.
	s.setPolicy(t, policyBody("30", true, everyScope, false))
	status, out = mint("uat3")
	if code, msg := errorOf(out); status != 400 || code != access.CodePolicyViolation || !strings.Contains(msg, "(maxLifespanDays)") || !strings.Contains(msg, "rotation period (30 days)") {
		t.Fatalf("under a 30-day maximum: got %d %v, want 400 POLICY_VIOLATION saying the rotation period is too long", status, out)
	}
	// Its one scope must be allowed.
	s.setPolicy(t, policyBody("null", false, `["tokens:read"]`, false))
	status, out = mint("uat3")
	if code, msg := errorOf(out); status != 400 || code != access.CodePolicyViolation || !strings.Contains(msg, "compliance-jobs:run is not allowed (allowedScopes)") || !strings.Contains(msg, "ask a tenant administrator") {
		t.Fatalf("without compliance-jobs:run: got %d %v, want 400 POLICY_VIOLATION naming the scope", status, out)
	}

	// A token made under a longer maximum cannot be rotated under a shorter
	// one: neither by asking the route again, nor by the rotation function.
	s.setPolicy(t, policyBody("null", false, everyScope, false))
	if status, out = mint("uat4"); status != 201 {
		t.Fatalf("under no maximum: got %d %v", status, out)
	}
	held, arn := out["token"].(map[string]any)["id"].(string), out["secretArn"].(string)
	s.setPolicy(t, policyBody("60", true, everyScope, false))
	status, out = mint("uat4")
	if code, msg := errorOf(out); status != 400 || code != access.CodePolicyViolation || !strings.Contains(msg, "lifespan of 90 days exceeds the maximum of 60") || !strings.Contains(msg, "DELETE /api-tokens/"+held) {
		t.Fatalf("asked again: got %d %v, want 400 POLICY_VIOLATION saying to delete token %s", status, out, held)
	}
	status, out = call(t, s.http, "POST", "/local/secrets/rotate", s.session, `{"secretArn":"`+arn+`"}`)
	if code, msg := errorOf(out); status != 409 || code != "ROTATION_FAILED" || !strings.Contains(msg, "400 POLICY_VIOLATION") || !strings.Contains(msg, "(maxLifespanDays)") {
		t.Fatalf("the rotation function: got %d %v, want 409 ROTATION_FAILED naming the API's POLICY_VIOLATION", status, out)
	}
	current, _ := s.srv.Secrets.Version(context.Background(), arn, "", "AWSCURRENT")
	if !s.works(t, current) {
		t.Fatal("the secret's token stopped working after the refused rotation")
	}
	// As the message says: delete it, ask again, and the new one is within the policy.
	if status, _ := call(t, s.http, "DELETE", "/api-tokens/"+held, s.session, ""); status != 204 {
		t.Fatalf("delete the held token: got %d", status)
	}
	if status, out = mint("uat4"); status != 201 || out["rotated"] != false || s.lifespanDays(t, out["token"].(map[string]any)) != 60 {
		t.Fatalf("asked again after deleting it: got %d %v, want a new 60-day token", status, out)
	}
}

// lifespanDays is a token view's lifespan, from its createdAt and expiresAt.
func (s *pipelineStack) lifespanDays(t *testing.T, tok map[string]any) int {
	t.Helper()
	created, _ := time.Parse(time.RFC3339, tok["createdAt"].(string))
	exp, err := time.Parse(time.RFC3339, fmt.Sprint(tok["expiresAt"]))
	if err != nil {
		return 0
	}
	return int(exp.Sub(created).Hours() / 24)
}
