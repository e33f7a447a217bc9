package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/openapi/openapitest"
)

// undescribedRoutes are the template's routes that openapi.yaml leaves out:
// the web console's pages and files (its /openapi.yaml among them), which
// are not API operations.
var undescribedRoutes = map[string]string{
	"GET /":         "ConsoleFunction",
	"GET /{proxy+}": "ConsoleFunction",
}

// templateRoutes returns every API event of the template's functions as
// "METHOD /path" → function: what API Gateway serves.
func templateRoutes(tpl *cfnTemplate) map[string]string {
	routes := map[string]string{}
	for _, fn := range tpl.functions() {
		for _, e := range entries(fn.prop("Events")) {
			if typ, _ := plainScalar(at(e.Value, "Type")); typ != "Api" {
				continue
			}
			method, _ := plainScalar(at(e.Value, "Properties.Method"))
			path, _ := plainScalar(at(e.Value, "Properties.Path"))
			routes[strings.ToUpper(method)+" "+path] = fn.ID
		}
	}
	return routes
}

// checkOpenAPIRoutes checks that openapi.yaml describes exactly the
// template's routes, undescribedRoutes aside, naming each one missing or extra.
func checkOpenAPIRoutes(tpl *cfnTemplate, described []string) []string {
	var problems []string
	routes := templateRoutes(tpl)
	for _, r := range slices.Sorted(maps.Keys(routes)) {
		if undescribedRoutes[r] == routes[r] {
			continue
		}
		if !slices.Contains(described, r) {
			problems = append(problems, fmt.Sprintf("route %s (%s) is in template.yaml but not in openapi.yaml: describe it there (its request, responses and error codes)", r, routes[r]))
		}
	}
	for _, r := range described {
		if _, ok := routes[r]; !ok || undescribedRoutes[r] != "" {
			problems = append(problems, fmt.Sprintf("openapi.yaml describes %s, which template.yaml does not route to any function", r))
		}
	}
	return problems
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc, err := openapitest.Load(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	report(t, checkOpenAPIRoutes(loadTemplate(t), doc.Operations()))
}

func TestOpenAPIRouteCheckCatchesMutations(t *testing.T) {
	doc, err := openapitest.Load(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	check := func(tpl *cfnTemplate) []string { return checkOpenAPIRoutes(tpl, doc.Operations()) }
	runMutations(t, []mutation{
		{"a template route that openapi.yaml does not describe is caught, by name",
			setTo("Resources.CreateTokenFunction.Properties.Events.Renew", "{Type: Api, Properties: {RestApiId: !Ref Api, Path: '/api-tokens/{id}/renew', Method: post}}"), check,
			"route POST /api-tokens/{id}/renew (CreateTokenFunction) is in template.yaml but not in openapi.yaml"},
		{"a described route that the template no longer has is caught, by name",
			removeAt("Resources.WhoAmIFunction.Properties.Events.WhoAmI"), check,
			"openapi.yaml describes GET /whoami, which template.yaml does not route"},
		{"a route whose method changed is caught both ways",
			setTo("Resources.WhoAmIFunction.Properties.Events.WhoAmI.Properties.Method", "POST"), check,
			"route POST /whoami (WhoAmIFunction) is in template.yaml but not in openapi.yaml"},
	})
	t.Run("an operation the template does not have is caught, by name", func(t *testing.T) {
		got := checkOpenAPIRoutes(loadTemplate(t), append(doc.Operations(), "GET /api-tokens/{id}/history"))
		if !hasProblem(got, "openapi.yaml describes GET /api-tokens/{id}/history, which template.yaml does not route") {
			t.Errorf("got problems %q, want one naming GET /api-tokens/{id}/history", got)
		}
	})
}

// checkOpenAPIScopes checks that openapi.yaml says of each operation what
// the route table (api.Routes) says of its route: no security for a row
// that needs no authentication, the bearer scheme naming the row's scope
// for a scoped row, and naming none for a row any caller may call.
func checkOpenAPIScopes(security map[string]openapitest.Security, routes []api.Route) []string {
	var problems []string
	for _, r := range routes {
		got, ok := security[r.Key()]
		if !ok {
			continue // undescribed (the console): checkOpenAPIRoutes
		}
		want := openapitest.Security{Public: !r.Needs.Authenticated(), Scopes: []string{}}
		if s, ok := r.Needs.Scope(); ok {
			want.Scopes = []string{string(s)}
		}
		if want.Public {
			want.Scopes = nil
		}
		if got.Public != want.Public || !slices.Equal(got.Scopes, want.Scopes) {
			problems = append(problems, fmt.Sprintf("openapi.yaml: %s has security %+v, want %+v: the route table's row needs %s", r.Key(), got, want, r.Needs))
		}
	}
	return problems
}

func TestOpenAPINamesTheScopeOfEachRoute(t *testing.T) {
	doc, err := openapitest.Load(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	security, err := doc.Security()
	if err != nil {
		t.Fatal(err)
	}
	report(t, checkOpenAPIScopes(security, api.Routes()))

	t.Run("another scope, a missing one, or a public operation behind the bearer is caught", func(t *testing.T) {
		for route, mutated := range map[string]openapitest.Security{
			"GET /api-tokens":            {Scopes: []string{"tokens:write"}},
			"POST /sandbox-refreshes":    {Scopes: []string{}},
			"GET /.well-known/jwks.json": {Scopes: []string{}},
			"GET /whoami":                {Public: true},
		} {
			changed := maps.Clone(security)
			changed[route] = mutated
			if got := checkOpenAPIScopes(changed, api.Routes()); !hasProblem(got, "openapi.yaml: "+route+" has security") {
				t.Errorf("%s as %+v: got problems %q, want one naming it", route, mutated, got)
			}
		}
	})
}
