package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dcs-access/dcs-access/internal/api"
)

// theAPI returns the template's one REST API.
func theAPI(tpl *cfnTemplate) (resource, []string) {
	apis := tpl.ofType("AWS::Serverless::Api")
	if len(apis) != 1 {
		return resource{}, []string{fmt.Sprintf("the template has %d AWS::Serverless::Api resources, want 1", len(apis))}
	}
	return apis[0], nil
}

// apiAuth returns a setting of the API's Auth, or of Globals.Api.Auth when
// the API does not set it (SAM merges the two).
func apiAuth(tpl *cfnTemplate, api resource, path string) *yaml.Node {
	if n := api.prop("Auth." + path); n != nil {
		return n
	}
	return at(tpl.root, "Globals.Api.Auth."+path)
}

// checkAuthorizers checks every Lambda authorizer in the template: each
// runs a function of the template, is a REQUEST authorizer on the
// Authorization header (what the local gateway runs) and never caches a
// result (revocation must take effect on the next request), and the API's
// default authorizer is one of them.
func checkAuthorizers(tpl *cfnTemplate) []string {
	var problems []string
	lambdaAuthorizers := map[string]bool{}
	type source struct {
		where string
		node  *yaml.Node
	}
	sources := []source{{"Globals.Api.Auth.Authorizers", at(tpl.root, "Globals.Api.Auth.Authorizers")}}
	for _, api := range tpl.ofType("AWS::Serverless::Api") {
		sources = append(sources, source{api.ID + " Auth.Authorizers", api.prop("Auth.Authorizers")})
	}
	for _, src := range sources {
		for _, e := range entries(src.node) {
			if at(e.Value, "FunctionArn") == nil {
				continue // a Cognito or IAM authorizer: nothing to cache
			}
			lambdaAuthorizers[e.Key] = true
			name := src.where + "." + e.Key
			if fnID, _, ok := getAtt(at(e.Value, "FunctionArn")); !ok || !isFunction(tpl, fnID) {
				problems = append(problems, fmt.Sprintf("%s: FunctionArn is %s, want !GetAtt <Function>.Arn of a function in this template", name, render(at(e.Value, "FunctionArn"))))
			}
			// The local gateway is this authorizer's: REQUEST, identity source
			// the Authorization header (internal/localserver).
			if got := render(at(e.Value, "FunctionPayloadType")); got != "REQUEST" {
				problems = append(problems, fmt.Sprintf("%s: FunctionPayloadType is %s, want REQUEST: a TOKEN authorizer sees one Authorization value and cannot refuse a request with two", name, got))
			}
			if got := render(at(e.Value, "Identity.Headers")); got != "[Authorization]" {
				problems = append(problems, fmt.Sprintf("%s: Identity.Headers is %s, want [Authorization] (API Gateway answers 401 without it, as the local gateway does)", name, got))
			}
			switch ttl := at(e.Value, "Identity.ReauthorizeEvery"); {
			case ttl == nil:
				problems = append(problems, fmt.Sprintf("%s: Identity.ReauthorizeEvery is not set, so API Gateway caches results for 300 s; want 0", name))
			case render(ttl) != "0":
				problems = append(problems, fmt.Sprintf("%s: Identity.ReauthorizeEvery is %s, want 0 (no result caching)", name, render(ttl)))
			}
		}
	}
	for _, r := range tpl.resources() {
		switch r.Type {
		case "AWS::ApiGateway::Authorizer", "AWS::ApiGatewayV2::Authorizer":
			if typ, _ := plainScalar(r.prop("Type")); typ == "COGNITO_USER_POOLS" || typ == "JWT" {
				continue
			}
			lambdaAuthorizers[r.ID] = true
			if got := render(r.prop("AuthorizerResultTtlInSeconds")); got != "0" {
				problems = append(problems, fmt.Sprintf("%s: AuthorizerResultTtlInSeconds is %s, want 0 (no result caching; unset means 300)", r.ID, got))
			}
		}
	}
	if len(lambdaAuthorizers) == 0 {
		problems = append(problems, "the template defines no Lambda authorizer")
	}
	for _, api := range tpl.ofType("AWS::Serverless::Api") {
		if got := render(apiAuth(tpl, api, "DefaultAuthorizer")); !lambdaAuthorizers[got] {
			problems = append(problems, fmt.Sprintf("%s: DefaultAuthorizer is %q, want one of the Lambda authorizers %v", api.ID, got, slices.Sorted(maps.Keys(lambdaAuthorizers))))
		}
	}
	return problems
}

func isFunction(tpl *cfnTemplate, id string) bool {
	r, ok := tpl.resource(id)
	return ok && r.Type == "AWS::Serverless::Function"
}

// checkRoutes checks that every API event of every function is a route of
// the one REST API, behind its default authorizer unless its row needs no
// authentication (then Auth.Authorizer: NONE), and that the routes are
// exactly the route table's, each with its row's function.
func checkRoutes(tpl *cfnTemplate, table []api.Route) []string {
	want := map[string]string{} // "METHOD /path" → logical id of the function
	public := map[string]bool{} // the rows served without the authorizer
	for _, r := range table {
		want[r.Key()] = r.Function
		public[r.Key()] = !r.Needs.Authenticated()
	}
	restAPI, problems := theAPI(tpl)
	if problems != nil {
		return problems
	}
	for _, key := range []string{"DefinitionBody", "DefinitionUri"} {
		if restAPI.prop(key) != nil {
			problems = append(problems, fmt.Sprintf("%s: %s defines routes this check cannot see; route through function events", restAPI.ID, key))
		}
	}
	for _, r := range tpl.resources() {
		switch r.Type {
		case "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Resource", "AWS::ApiGateway::Method",
			"AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Route":
			problems = append(problems, fmt.Sprintf("%s (%s) defines routes outside %s's function events", r.ID, r.Type, restAPI.ID))
		}
	}
	defaultAuthorizer := render(apiAuth(tpl, restAPI, "DefaultAuthorizer"))
	got := map[string]string{}
	for _, fn := range tpl.functions() {
		for _, e := range entries(fn.prop("Events")) {
			where := fn.ID + " event " + e.Key
			switch typ, _ := plainScalar(at(e.Value, "Type")); typ {
			case "Api":
			case "HttpApi":
				problems = append(problems, fmt.Sprintf("%s is an HttpApi route, outside %s", where, restAPI.ID))
				continue
			default:
				continue // not a route (a queue, a schedule...)
			}
			props := at(e.Value, "Properties")
			if id, ok := ref(at(props, "RestApiId")); !ok || id != restAPI.ID {
				problems = append(problems, fmt.Sprintf("%s: RestApiId is %s, want !Ref %s (without it SAM creates an API with no authorizer)", where, render(at(props, "RestApiId")), restAPI.ID))
			}
			method, _ := plainScalar(at(props, "Method"))
			path, _ := plainScalar(at(props, "Path"))
			route := strings.ToUpper(method) + " " + path
			authorizer := at(props, "Auth.Authorizer")
			switch public := public[route] && want[route] == fn.ID; {
			case public && render(authorizer) != "NONE":
				problems = append(problems, fmt.Sprintf("%s: route %s needs no authentication (its row): Auth.Authorizer is %s, want NONE", where, route, render(authorizer)))
			case !public && authorizer != nil && render(authorizer) != defaultAuthorizer:
				problems = append(problems, fmt.Sprintf("%s: Auth.Authorizer is %s, want %s (the default) or unset", where, render(authorizer), defaultAuthorizer))
			}
			if other, dup := got[route]; dup {
				problems = append(problems, fmt.Sprintf("%s: route %s is also %s's", where, route, other))
			}
			got[route] = fn.ID
		}
	}
	for _, route := range slices.Sorted(maps.Keys(got)) {
		switch w, ok := want[route]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("route %s → %s is not in the route table", route, got[route]))
		case w != got[route]:
			problems = append(problems, fmt.Sprintf("route %s goes to %s, want %s", route, got[route], w))
		}
	}
	for _, route := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[route]; !ok {
			problems = append(problems, fmt.Sprintf("route %s → %s is in the route table but not in the template", route, want[route]))
		}
	}
	return problems
}

// checkValue checks that the value at path (from the top of the template)
// renders as want.
func checkValue(tpl *cfnTemplate, path, want string) []string {
	if got := render(at(tpl.root, path)); got != want {
		return []string{fmt.Sprintf("%s is %s, want %s", path, got, want)}
	}
	return nil
}

// keyTypes renders a list of {AttributeName, <field>} mappings (KeySchema,
// AttributeDefinitions) as a map from name to field.
func keyTypes(n *yaml.Node, field string) map[string]string {
	out := map[string]string{}
	for _, it := range items(n) {
		name, _ := plainScalar(at(it, "AttributeName"))
		out[name] = render(at(it, field))
	}
	return out
}
