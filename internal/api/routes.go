package api

import (
	"fmt"
	"slices"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
)

// Route is one route of the API: what API Gateway matches, the function of
// template.yaml that serves it, and what it asks of the caller.
type Route struct {
	Method   string // GET, PUT, POST, DELETE
	Path     string // API Gateway's resource path: /api-tokens/{id}
	Function string // the logical id of the function in template.yaml
	Needs    Need
}

// Key is how API Gateway names the route in a proxy event: "METHOD resource".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Need is what a route asks of its caller. The zero Need is no answer, and
// a request to a route that has it is refused: every row must say.
type Need struct {
	kind  needKind
	scope access.Scope
}

type needKind int

const (
	needUnset needKind = iota
	needScope
	needCaller
	needNothing
)

// NeedsScope is the Need of a route for callers with scope s.
func NeedsScope(s access.Scope) Need { return Need{kind: needScope, scope: s} }

// AnyCaller is the Need of a route that every verified caller may call,
// whatever its scopes (GET /whoami only says who the caller is).
var AnyCaller = Need{kind: needCaller}

// NoAuthentication is the Need of a route served without the authorizer
// (Auth.Authorizer: NONE in template.yaml).
var NoAuthentication = Need{kind: needNothing}

// Scope is the scope the route needs, if it needs one.
func (n Need) Scope() (access.Scope, bool) { return n.scope, n.kind == needScope }

// Authenticated reports whether the route is behind the authorizer.
func (n Need) Authenticated() bool { return n.kind != needNothing }

func (n Need) String() string {
	switch n.kind {
	case needScope:
		return string(n.scope)
	case needCaller:
		return "any caller"
	case needNothing:
		return "no authentication"
	}
	return "unset"
}

// routes is every route of the API, by function: the one table that the
// request path (serve), the local gateway and the template check read. A
// route that is not here is refused, and templatecheck fails for a route
// of template.yaml that is not here, so a new route comes with its scope.
var routes = []Route{
	{"POST", "/api-tokens", "CreateTokenFunction", NeedsScope(access.ScopeTokensWrite)},
	{"GET", "/api-tokens", "ListTokensFunction", NeedsScope(access.ScopeTokensRead)},
	{"DELETE", "/api-tokens/{id}", "DeleteTokenFunction", NeedsScope(access.ScopeTokensWrite)},
	{"GET", "/whoami", "WhoAmIFunction", AnyCaller},
	// Anyone who finds a token may revoke it (GitHub's credential
	// revocation API does the same): the token is the proof.
	{"POST", "/api-tokens/revoke", "RevokeLeakedTokensFunction", NoAuthentication},
	// Any caller: a token may rotate only itself, into a token of the same
	// scopes, so it gains nothing a scope would guard; a session only its
	// own tokens (tokens.Service.Rotate). The pipeline's DCS token, which
	// has compliance-jobs:run alone, rotates itself this way.
	{"POST", "/api-tokens/{id}/rotate", "CreateTokenFunction", AnyCaller},

	// The tenant's token policy: anyone of the tenant may read what it
	// allows; only a signed-in tenant administrator may change it
	// (tenantpolicy.MayChange), so no API token ever can.
	{"GET", "/tenant-policy", "TenantPolicyFunction", NeedsScope(access.ScopeTokensRead)},
	{"PUT", "/tenant-policy", "TenantPolicyFunction", NeedsScope(access.ScopeTokensWrite)},

	// Tokens for other services: RFC 7662 introspection, and the trusted
	// keys' JWK Set (public keys only, so no authentication).
	{"POST", "/oauth/introspect", "IntrospectTokenFunction", NeedsScope(access.ScopeTokensIntrospect)},
	{"GET", "/.well-known/jwks.json", "PublicKeysFunction", NoAuthentication},

	// The web console's static files: they hold no data (the page signs the
	// user in and calls the API with the session).
	{"GET", "/", "ConsoleFunction", NoAuthentication},
	{"GET", "/{proxy+}", "ConsoleFunction", NoAuthentication},

	{"PUT", "/sandbox-plans/{sandbox}", "SandboxPlansFunction", NeedsScope(access.ScopeSandboxPlansWrite)},
	{"GET", "/sandbox-plans/{sandbox}", "SandboxPlansFunction", NeedsScope(access.ScopeSandboxPlansRead)},
	{"DELETE", "/sandbox-plans/{sandbox}", "SandboxPlansFunction", NeedsScope(access.ScopeSandboxPlansWrite)},
	{"GET", "/sandbox-plans", "SandboxPlansFunction", NeedsScope(access.ScopeSandboxPlansRead)},
	// A plan's secrets, write-only (and for a signed-in user only).
	{"PUT", "/sandbox-plans/{sandbox}/salesforce-key", "PipelineSecretsFunction", NeedsScope(access.ScopeSandboxPlansWrite)},
	{"POST", "/sandbox-plans/{sandbox}/dcs-token", "PipelineSecretsFunction", NeedsScope(access.ScopeSandboxPlansWrite)},

	{"POST", "/sandbox-refreshes", "SandboxRefreshesFunction", NeedsScope(access.ScopeSandboxRefreshesRun)},
	{"GET", "/sandbox-refreshes", "SandboxRefreshesFunction", NeedsScope(access.ScopeSandboxRefreshesRead)},
	{"GET", "/sandbox-refreshes/{id}", "SandboxRefreshesFunction", NeedsScope(access.ScopeSandboxRefreshesRead)},
	{"POST", "/sandbox-refreshes/{id}/redrive", "SandboxRefreshesFunction", NeedsScope(access.ScopeSandboxRefreshesRun)},

	// The tenant's audit trail: every change, who made it and from where.
	{"GET", "/audit-events", "ListAuditEventsFunction", NeedsScope(access.ScopeAuditRead)},
}

// routeIndex finds a row by its Key.
var routeIndex = indexRoutes(routes)

func indexRoutes(rs []Route) map[string]Route {
	index := make(map[string]Route, len(rs))
	for _, r := range rs {
		if _, dup := index[r.Key()]; dup {
			panic("api: route " + r.Key() + " is in the route table twice")
		}
		index[r.Key()] = r
	}
	return index
}

// Routes returns the route table.
func Routes() []Route { return slices.Clone(routes) }

// permit is nil when the route table lets p make req: the route's scope,
// when it needs one. A request whose route has no row, or a row that does
// not say what it needs, or needs no caller at all (its handler should not
// have asked for one), is an internal error: refused, never allowed.
func permit(req events.APIGatewayProxyRequest, p access.Principal) error {
	key := req.HTTPMethod + " " + req.Resource
	r, ok := routeIndex[key]
	if !ok {
		return access.Internal(fmt.Errorf("route %s has no row in the route table: refused", key))
	}
	switch r.Needs.kind {
	case needScope:
		return p.RequireScope(r.Needs.scope)
	case needCaller:
		return nil
	}
	return access.Internal(fmt.Errorf("route %s needs %s in the route table, but its handler reads the caller: refused", key, r.Needs))
}
