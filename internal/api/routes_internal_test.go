package api

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
)

// A row that does not say what it needs refuses every caller, a session
// included: a forgotten Needs is never an allow.
func TestARowWithoutANeedRefusesEveryone(t *testing.T) {
	saved := routeIndex
	t.Cleanup(func() { routeIndex = saved })
	routeIndex = indexRoutes([]Route{
		{Method: "GET", Path: "/unset", Function: "WhoAmIFunction"},
		{Method: "GET", Path: "/stated", Function: "WhoAmIFunction", Needs: AnyCaller},
	})
	session := access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthSession, Scopes: access.AllScopes()}
	if err := permit(events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: "/unset"}, session); err == nil || access.ErrorKind(err) != access.EINTERNAL {
		t.Fatalf("got %v, want an internal error", err)
	}
	if err := permit(events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: "/stated"}, session); err != nil {
		t.Fatalf("the control, a row that says AnyCaller: got %v, want it permitted", err)
	}
}

func TestATableWithARouteTwiceDoesNotLoad(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("got no panic, want one for a route in the table twice")
		}
	}()
	indexRoutes([]Route{{"GET", "/x", "A", AnyCaller}, {"GET", "/x", "B", AnyCaller}})
}
