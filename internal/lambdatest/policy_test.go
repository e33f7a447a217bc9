package lambdatest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
)

// The tenant policy through the built functions: the policy function stores
// what an administrator sets (the authorizer's context as API Gateway passes
// it on, every value a string), the create and list functions read it, and
// the authorizer still lets a token from before the policy in.
func TestTenantPolicyThroughTheBinaries(t *testing.T) {
	s := newStack(t)
	for _, name := range []string{"TenantPolicyFunction", "CreateTokenFunction", "ListTokensFunction", "AuthorizerFunction"} {
		s.fns[name] = s.start(t, name, s.env(t, name))
	}
	old := s.createToken(t, `{"description":"made before the policy"}`) // never expires
	put := func(admin string) events.APIGatewayProxyResponse {
		return s.call(t, "TenantPolicyFunction", editEvent(t, "get-tenant-policy.json", func(e map[string]any) {
			e["httpMethod"] = "PUT"
			e["requestContext"].(map[string]any)["httpMethod"] = "PUT"
			e["requestContext"].(map[string]any)["authorizer"].(map[string]any)["admin"] = admin
			body, _ := json.Marshal(map[string]any{"maxLifespanDays": 7, "requireExpiry": true, "allowedScopes": access.AllScopes(), "ownerOnlyDelete": false})
			e["body"] = string(body)
		}))
	}
	if resp := put("false"); resp.StatusCode != http.StatusForbidden || errorCode(t, resp) != "ADMIN_REQUIRED" {
		t.Fatalf("a user's session: got %d %s, want 403 ADMIN_REQUIRED", resp.StatusCode, resp.Body)
	}
	if resp := put("true"); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"version":1`) {
		t.Fatalf("an administrator's session: got %d %s, want 200, version 1", resp.StatusCode, resp.Body)
	}
	resp := s.call(t, "CreateTokenFunction", editEvent(t, "create-token.json", func(e map[string]any) { e["body"] = `{"lifespanDays":30}` }))
	if resp.StatusCode != http.StatusBadRequest || errorCode(t, resp) != "POLICY_VIOLATION" || !strings.Contains(resp.Body, "(maxLifespanDays)") {
		t.Fatalf("create over the maximum: got %d %s, want 400 POLICY_VIOLATION", resp.StatusCode, resp.Body)
	}
	resp = s.call(t, "ListTokensFunction", readEvent(t, "list-tokens.json"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, old.ID) || !strings.Contains(resp.Body, `"outsidePolicy":["never expires"]`) {
		t.Fatalf("list: got %d %s, want the old token flagged", resp.StatusCode, resp.Body)
	}
	listARN := methodARN + "GET/api-tokens"
	allowed, err := authorize(t, s.fns["AuthorizerFunction"], "Bearer "+old.Token, listARN)
	wantAllow(t, allowed, err, listARN, principal("ada@example.com", "acme", "api_token", old.ID))
}
