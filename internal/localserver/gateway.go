// Package localserver is the Docker-free stand-in for `sam local start-api`:
// an HTTP server that turns requests into the same API Gateway events, runs
// the same authorizer entry point and the same handlers as the Lambdas, and
// answers as API Gateway's Gateway Responses would.
package localserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/api"
)

// maxRequestBytes is what the stand-in reads of a body; handlers enforce
// their own, smaller limit so that they answer as they would in AWS.
const maxRequestBytes = 1 << 20

// AuthorizeFunc is the Lambda authorizer's entry point.
type AuthorizeFunc func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Gateway routes requests like a REST API with a default REQUEST authorizer
// whose identity source is the Authorization header (template.yaml).
type Gateway struct {
	Authorize  AuthorizeFunc
	mux        *http.ServeMux
	simulators []string // path prefixes of the simulated outside APIs
	routes     []string // "METHOD /resource" of every Route and PublicRoute
}

// NewGateway returns a gateway with no routes.
func NewGateway(authorize AuthorizeFunc) *Gateway {
	return &Gateway{Authorize: authorize, mux: http.NewServeMux()}
}

// Route serves method and resource (API Gateway syntax, "/api-tokens/{id}")
// with handler behind the authorizer.
func (g *Gateway) Route(method, resource string, handler api.Handler) {
	g.route(method, resource, handler, true)
}

// PublicRoute serves method and resource with handler without the
// authorizer, as a template route with Auth.Authorizer NONE.
func (g *Gateway) PublicRoute(method, resource string, handler api.Handler) {
	g.route(method, resource, handler, false)
}

func (g *Gateway) route(method, resource string, handler api.Handler, authorize bool) {
	g.routes = append(g.routes, method+" "+resource)
	g.mux.HandleFunc(method+" "+resource, func(w http.ResponseWriter, r *http.Request) {
		g.serve(w, r, resource, handler, authorize)
	})
}

// Functions serves the rows of the route table whose function is in
// handlers, each with its function's handler: behind the authorizer, or
// without it for a row that needs no authentication, as template.yaml
// routes them. A row whose function is not wired here is not served (the
// console has its own static route, the pipeline's routes need the Step
// Functions stand-in); a handler that no row names is an error.
func (g *Gateway) Functions(routes []api.Route, handlers map[string]api.Handler) error {
	routed := map[string]bool{}
	for _, r := range routes {
		handler, ok := handlers[r.Function]
		if !ok {
			continue
		}
		routed[r.Function] = true
		g.route(r.Method, r.Path, handler, r.Needs.Authenticated())
	}
	for name := range handlers {
		if !routed[name] {
			return fmt.Errorf("function %s has no row in the route table", name)
		}
	}
	return nil
}

// Routes are the API routes the gateway serves as "METHOD /resource" (API
// Gateway's syntax), in the order they were added: the template's, and the
// local server's own under /local/. Public http.Handlers (the console, the
// sign-in, the simulators) are not among them.
func (g *Gateway) Routes() []string { return slices.Clone(g.routes) }

// Public serves an http.Handler without the authorizer (local-only routes).
func (g *Gateway) Public(pattern string, h http.Handler) { g.mux.Handle(pattern, h) }

// Simulator serves a simulated outside API under prefix ("/local/dcs/"),
// which h sees stripped. It speaks that API's own content types.
func (g *Gateway) Simulator(prefix string, h http.Handler) {
	g.simulators = append(g.simulators, prefix)
	g.mux.Handle(prefix, http.StripPrefix(strings.TrimSuffix(prefix, "/"), h))
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.guard(w, r) {
		return
	}
	if _, pattern := g.mux.Handler(r); pattern == "" {
		gatewayResponse(w, "MISSING_AUTHENTICATION_TOKEN", 0, "")
		return
	}
	g.mux.ServeHTTP(w, r)
}

// stage is the local API's stage, as API Gateway puts it in the method ARN
// and in requestContext.path.
const stage = "local"

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, resource string, handler api.Handler, authorize bool) {
	ctx := r.Context()
	requestID := uuid.NewString()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		gatewayResponse(w, "REQUEST_TOO_LARGE", 0, requestID)
		return
	}
	event := proxyEvent(r, resource, body, requestID)

	if authorize && !g.authorize(w, r, &event) {
		return
	}

	resp, err := handler(ctx, event)
	if err != nil {
		slog.ErrorContext(ctx, "handler failed", "requestId", requestID, "error", err)
		gatewayResponse(w, "DEFAULT_5XX", http.StatusBadGateway, requestID)
		return
	}
	// As API Gateway merges them: multiValueHeaders win over headers.
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		w.Header().Del(k)
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.WriteString(w, resp.Body)
}

// authorize runs the authorizer for r as API Gateway does and puts its
// context in event; when it does not allow the request it answers with the
// Gateway Response and returns false.
func (g *Gateway) authorize(w http.ResponseWriter, r *http.Request, event *events.APIGatewayProxyRequest) bool {
	ctx, requestID := r.Context(), event.RequestContext.RequestID
	// The authorizer is not even called without its identity source: an
	// Authorization header that is present and not empty.
	if event.Headers["Authorization"] == "" {
		gatewayResponse(w, "UNAUTHORIZED", 0, requestID)
		return false
	}
	methodARN := fmt.Sprintf("arn:aws:execute-api:us-east-1:000000000000:local/%s/%s%s", stage, r.Method, r.URL.Path)
	policy, err := g.Authorize(ctx, authorizerRequest(*event, methodARN))
	switch {
	case err != nil && err.Error() == "Unauthorized":
		gatewayResponse(w, "UNAUTHORIZED", 0, requestID)
		return false
	case err != nil:
		slog.ErrorContext(ctx, "authorizer failed", "requestId", requestID, "error", err)
		gatewayResponse(w, api.AuthorizerFailed, 0, requestID)
		return false
	case !allows(policy, methodARN):
		gatewayResponse(w, "ACCESS_DENIED", 0, requestID)
		return false
	}
	if event.RequestContext.Authorizer, err = authorizerContext(policy); err != nil {
		// AUTHORIZER_CONFIGURATION_ERROR, also left to DEFAULT_5XX.
		slog.ErrorContext(ctx, "authorizer answered a context API Gateway cannot pass on", "requestId", requestID, "error", err)
		gatewayResponse(w, "DEFAULT_5XX", http.StatusInternalServerError, requestID)
		return false
	}
	return true
}

// authorizerContext is requestContext.authorizer as API Gateway builds it
// from the authorizer's answer: the principalId, and each context value as a
// string (its JSON text for a number or a boolean). An object or an array is
// the authorizer's misconfiguration.
func authorizerContext(p events.APIGatewayCustomAuthorizerResponse) (map[string]any, error) {
	raw, err := json.Marshal(p.Context) // what the Lambda runtime hands API Gateway
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var values map[string]any
	if err := dec.Decode(&values); err != nil {
		return nil, err
	}
	out := map[string]any{"principalId": p.PrincipalID}
	for k, v := range values {
		switch v := v.(type) {
		case string:
			out[k] = v
		case json.Number, bool:
			out[k] = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("context value %q is a %T: only strings, numbers and booleans can be passed on", k, v)
		}
	}
	return out, nil
}

// authorizerRequest is the REQUEST authorizer event API Gateway sends for
// the request whose proxy event is e.
func authorizerRequest(e events.APIGatewayProxyRequest, methodARN string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	rc := e.RequestContext
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodARN, Resource: e.Resource, Path: e.Path, HTTPMethod: e.HTTPMethod,
		Headers: e.Headers, MultiValueHeaders: e.MultiValueHeaders,
		QueryStringParameters: e.QueryStringParameters, MultiValueQueryStringParameters: e.MultiValueQueryStringParameters,
		PathParameters: e.PathParameters, StageVariables: e.StageVariables,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path: rc.Path, AccountID: rc.AccountID, ResourceID: rc.ResourceID, Stage: rc.Stage, RequestID: rc.RequestID,
			Identity:     events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: rc.Identity.SourceIP},
			ResourcePath: rc.ResourcePath, HTTPMethod: rc.HTTPMethod, APIID: rc.APIID,
		},
	}
}

// proxyEvent builds the REST API proxy event API Gateway would send: a
// repeated header or query parameter is its last value in headers and
// queryStringParameters, and every value, in order, in the multi-value maps.
func proxyEvent(r *http.Request, resource string, body []byte, requestID string) events.APIGatewayProxyRequest {
	multi := r.Header.Clone()
	multi.Set("Host", r.Host) // net/http keeps it apart; API Gateway passes it on
	headers := lastValues(multi)
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = lastValues(q)
	}
	var params map[string]string
	for _, name := range pathParams(resource) {
		if params == nil {
			params = map[string]string{}
		}
		params[name] = r.PathValue(name)
	}
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	now := time.Now()
	return events.APIGatewayProxyRequest{
		Resource: resource, Path: r.URL.Path, HTTPMethod: r.Method,
		Headers: headers, MultiValueHeaders: multi, QueryStringParameters: query, MultiValueQueryStringParameters: r.URL.Query(),
		PathParameters: params, Body: string(body),
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: "000000000000", ResourceID: "local", Stage: stage, DomainName: r.Host, DomainPrefix: "local",
			RequestID: requestID, ExtendedRequestID: requestID, Protocol: r.Proto, HTTPMethod: r.Method, ResourcePath: resource,
			Path: "/" + stage + r.URL.Path, RequestTime: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), RequestTimeEpoch: now.UnixMilli(),
			APIID: "local", Identity: events.APIGatewayRequestIdentity{SourceIP: sourceIP, UserAgent: r.UserAgent()},
		},
	}
}

func lastValues(m map[string][]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v[len(v)-1]
	}
	return out
}

func pathParams(resource string) []string {
	var names []string
	for _, seg := range strings.Split(resource, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.Trim(seg, "{}"))
		}
	}
	return names
}

// allows reports whether the policy allows methodARN. The authorizer names
// the exact method ARN, so an exact match (or a "*") is all this needs.
func allows(p events.APIGatewayCustomAuthorizerResponse, methodARN string) bool {
	allowed := false
	for _, st := range p.PolicyDocument.Statement {
		for _, res := range st.Resource {
			if res == methodARN || res == "*" {
				if st.Effect == "Deny" {
					return false
				}
				allowed = allowed || st.Effect == "Allow"
			}
		}
	}
	return allowed
}

// gatewayResponse answers as API Gateway does with the Gateway Response of
// type typ (api.GatewayResponses, which are the template's), with status
// when the response type keeps the error's own (DEFAULT_5XX).
func gatewayResponse(w http.ResponseWriter, typ string, status int, requestID string) {
	g, ok := api.GatewayResponses[typ]
	if !ok {
		panic("no Gateway Response " + typ)
	}
	if g.Status != 0 {
		status = g.Status
	}
	for k, v := range g.Headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, strings.ReplaceAll(g.Body(), "$context.requestId", requestID))
}

// writeError answers a local-only route (sign-in, the event bus, the
// simulated Lambda) with the project's error shape.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}
