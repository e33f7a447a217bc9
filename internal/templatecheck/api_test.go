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

// methodThrottle is a route's own throttle on the stage: its rate and burst
// limits as the template writes them.
type methodThrottle struct{ Rate, Burst string }

// decodeResourcePath turns a MethodSettings ResourcePath into the route's
// path: the leading slash, then the path with each "/" written "~1"
// (AWS::ApiGateway::Stage MethodSetting). ok is false for anything else.
func decodeResourcePath(p string) (path string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok || rest == "" || strings.Contains(rest, "/") || !strings.HasPrefix(rest, "~1") {
		return "", false
	}
	return strings.ReplaceAll(rest, "~1", "/"), true
}

// checkMethodThrottles checks the API's MethodSettings: the stage default
// (/* and *), and one entry for each route of want and no other, each a
// route of routes, with want's limits; and that none logs request data
// (data tracing would write request bodies, the leaked tokens among them,
// to CloudWatch).
func checkMethodThrottles(tpl *cfnTemplate, want map[string]methodThrottle, table []api.Route) []string {
	routes := map[string]bool{}
	for _, r := range table {
		routes[r.Key()] = true
	}
	api, problems := theAPI(tpl)
	if problems != nil {
		return problems
	}
	got := map[string]methodThrottle{}
	hasDefault := false
	for i, ms := range items(api.prop("MethodSettings")) {
		where := fmt.Sprintf("%s MethodSettings %d", api.ID, i)
		if v := render(at(ms, "DataTraceEnabled")); v != "false" {
			problems = append(problems, fmt.Sprintf("%s: DataTraceEnabled is %s, want false: it would log request bodies", where, v))
		}
		if v := at(ms, "LoggingLevel"); v != nil && render(v) != "OFF" {
			problems = append(problems, fmt.Sprintf("%s: LoggingLevel is %s, want it unset or OFF", where, render(v)))
		}
		resourcePath, _ := plainScalar(at(ms, "ResourcePath"))
		method, _ := plainScalar(at(ms, "HttpMethod"))
		if resourcePath == "/*" && method == "*" {
			hasDefault = true
			continue
		}
		path, ok := decodeResourcePath(resourcePath)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: ResourcePath %q is not a resource path with each / written ~1 (so /a/b is /~1a~1b): API Gateway would apply it to no method", where, resourcePath))
			continue
		}
		route := strings.ToUpper(method) + " " + path
		if !routes[route] {
			problems = append(problems, fmt.Sprintf("%s: %s is no route of the route table", where, route))
		}
		got[route] = methodThrottle{Rate: render(at(ms, "ThrottlingRateLimit")), Burst: render(at(ms, "ThrottlingBurstLimit"))}
	}
	if !hasDefault {
		problems = append(problems, fmt.Sprintf("%s: MethodSettings has no default for every method (ResourcePath /*, HttpMethod *)", api.ID))
	}
	for _, route := range slices.Sorted(maps.Keys(got)) {
		switch w, ok := want[route]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s has its own throttle, which methodThrottles does not list", route))
		case got[route] != w:
			problems = append(problems, fmt.Sprintf("%s: throttle rate %s burst %s, want rate %s burst %s", route, got[route].Rate, got[route].Burst, w.Rate, w.Burst))
		}
	}
	for _, route := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[route]; !ok {
			problems = append(problems, fmt.Sprintf("%s has no throttle of its own in %s's MethodSettings, which methodThrottles requires", route, api.ID))
		}
	}
	return problems
}

// checkVerifiersAgree checks that each of others verifies API tokens
// exactly as verifier (the authorizer) does: the same TOKEN_ISSUER and
// TRUSTED_KEY_IDS, as the template writes them.
func checkVerifiersAgree(tpl *cfnTemplate, verifier string, others ...string) []string {
	v, ok := tpl.resource(verifier)
	if !ok {
		return []string{"no resource " + verifier}
	}
	var problems []string
	for _, id := range others {
		fn, ok := tpl.resource(id)
		if !ok {
			problems = append(problems, "no resource "+id)
			continue
		}
		for _, name := range []string{"TOKEN_ISSUER", "TRUSTED_KEY_IDS"} {
			if got, want := render(envValue(tpl, fn, name)), render(envValue(tpl, v, name)); got != want {
				problems = append(problems, fmt.Sprintf("%s: %s is %s, want %s's %s", id, name, got, verifier, want))
			}
		}
	}
	return problems
}
