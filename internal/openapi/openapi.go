// Package openapi serves the API's description, openapi.yaml at the
// repository root, at /openapi.yaml: from the local server, and from the
// console function behind API Gateway's GET /{proxy+}. The console's own
// files stay the console's; this wraps it.
package openapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	dcsaccess "github.com/dcs-access/dcs-access"

	"github.com/dcs-access/dcs-access/internal/header"
)

// Path is where the description is served.
const Path = "/openapi.yaml"

// ContentType is YAML's media type, registered by RFC 9512.
const ContentType = "application/yaml"

// etag names this build's description: clients may keep it and ask again.
var etag = func() string {
	sum := sha256.Sum256(dcsaccess.OpenAPI)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}()

// headers are the description's: YAML, revalidated on every use (the file
// changes with each release), never run as a page.
func headers() map[string]string {
	return map[string]string{
		"Content-Type":            ContentType,
		"Cache-Control":           "no-cache",
		"ETag":                    etag,
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	}
}

// answer is the response to a GET or HEAD of Path.
func answer(method, ifNoneMatch string) (int, map[string]string, string) {
	h := headers()
	switch {
	case strings.TrimPrefix(ifNoneMatch, "W/") == etag:
		delete(h, "Content-Type")
		return http.StatusNotModified, h, ""
	case method == http.MethodHead:
		return http.StatusOK, h, ""
	}
	return http.StatusOK, h, string(dcsaccess.OpenAPI)
}

// Handler serves the description to the local server's "GET /openapi.yaml"
// (net/http answers HEAD through it too).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, h, body := answer(r.Method, r.Header.Get("If-None-Match"))
		for k, v := range h {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

// LambdaHandler is the shape of the console function's entry point.
type LambdaHandler = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// WithDocument answers GET and HEAD of Path itself and hands every other
// request to next (the console).
func WithDocument(next LambdaHandler) LambdaHandler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		if req.Path != Path || (req.HTTPMethod != http.MethodGet && req.HTTPMethod != http.MethodHead) {
			return next(ctx, req)
		}
		status, h, body := answer(req.HTTPMethod, header.Get(req.Headers, "If-None-Match"))
		return events.APIGatewayProxyResponse{StatusCode: status, Headers: h, Body: body}, nil
	}
}
