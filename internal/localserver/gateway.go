// Package localserver is the Docker-free stand-in for `sam local start-api`:
// an HTTP server that turns requests into the same API Gateway events, runs
// the same authorizer entry point and the same handlers as the Lambdas, and
// answers as API Gateway's Gateway Responses would.
package localserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
type AuthorizeFunc func(context.Context, events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Gateway routes requests like a REST API with a default TOKEN authorizer.
type Gateway struct {
	Authorize  AuthorizeFunc
	mux        *http.ServeMux
	simulators []string // path prefixes of the simulated outside APIs
}

// NewGateway returns a gateway with no routes.
func NewGateway(authorize AuthorizeFunc) *Gateway {
	return &Gateway{Authorize: authorize, mux: http.NewServeMux()}
}

// Route serves method and resource (API Gateway syntax, "/api-tokens/{id}")
// with handler behind the authorizer.
func (g *Gateway) Route(method, resource string, handler api.Handler) {
	g.mux.HandleFunc(method+" "+resource, func(w http.ResponseWriter, r *http.Request) {
		g.serve(w, r, resource, handler)
	})
}

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
		gatewayResponse(w, http.StatusNotFound, "NOT_FOUND", "No such route.")
		return
	}
	g.mux.ServeHTTP(w, r)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, resource string, handler api.Handler) {
	ctx := r.Context()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		gatewayResponse(w, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE", "The request is too large.")
		return
	}
	event := proxyEvent(r, resource, body)

	// A TOKEN authorizer is not even called without its identity source.
	header := r.Header.Get("Authorization")
	if header == "" {
		gatewayResponse(w, http.StatusUnauthorized, "UNAUTHORIZED", "A valid bearer token is required.")
		return
	}
	methodARN := fmt.Sprintf("arn:aws:execute-api:us-east-1:000000000000:local/%s/%s%s", event.RequestContext.Stage, r.Method, r.URL.Path)
	policy, err := g.Authorize(ctx, events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: header, MethodArn: methodARN})
	switch {
	case err != nil && err.Error() == "Unauthorized":
		gatewayResponse(w, http.StatusUnauthorized, "UNAUTHORIZED", "A valid bearer token is required.")
		return
	case err != nil:
		slog.ErrorContext(ctx, "authorizer failed", "error", err)
		gatewayResponse(w, http.StatusInternalServerError, "AUTHORIZER_FAILURE", "The request could not be authorized. Try again later.")
		return
	case !allows(policy, methodARN):
		gatewayResponse(w, http.StatusForbidden, "ACCESS_DENIED", "You are not allowed to call this route.")
		return
	}
	event.RequestContext.Authorizer = policy.Context

	resp, err := handler(ctx, event)
	if err != nil {
		slog.ErrorContext(ctx, "handler failed", "error", err)
		gatewayResponse(w, http.StatusBadGateway, "INTERNAL", "Internal server error.")
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.WriteString(w, resp.Body)
}

// proxyEvent builds the REST API proxy event API Gateway would send.
func proxyEvent(r *http.Request, resource string, body []byte) events.APIGatewayProxyRequest {
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[k] = strings.Join(v, ",")
	}
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, v := range q {
			query[k] = v[len(v)-1] // API Gateway keeps the last value
		}
	}
	var params map[string]string
	for _, name := range pathParams(resource) {
		if params == nil {
			params = map[string]string{}
		}
		params[name] = r.PathValue(name)
	}
	return events.APIGatewayProxyRequest{
		Resource: resource, Path: r.URL.Path, HTTPMethod: r.Method,
		Headers: headers, MultiValueHeaders: r.Header, QueryStringParameters: query, MultiValueQueryStringParameters: r.URL.Query(),
		PathParameters: params, Body: string(body),
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: uuid.NewString(), Stage: "local", HTTPMethod: r.Method, ResourcePath: resource,
			Path: r.URL.Path, RequestTimeEpoch: time.Now().UnixMilli(),
			Identity: events.APIGatewayRequestIdentity{SourceIP: r.RemoteAddr, UserAgent: r.UserAgent()},
		},
	}
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

// gatewayResponse answers as the template's Gateway Responses do.
func gatewayResponse(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}
