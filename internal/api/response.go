// Package api translates API Gateway REST proxy events into calls on the
// domain services and their results back into responses. It decides nothing:
// rules live in the services, and the caller comes from the authorizer context.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
)

// Response is a handler's answer.
type Response = events.APIGatewayProxyResponse

// Handler is the shape of every function's entry point.
type Handler func(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error)

// allowedOrigin is the console origin allowed to call the API from a
// browser (CORS); "" allows none. Set once at cold start.
var allowedOrigin string

// AllowOrigin lets a browser console at origin read the API's responses.
func AllowOrigin(origin string) { allowedOrigin = origin }

// headers go on every response: JSON, never cached (a create response holds a secret).
func headers() map[string]string {
	h := map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	if allowedOrigin != "" {
		h["Access-Control-Allow-Origin"] = allowedOrigin
		h["Vary"] = "Origin"
	}
	return h
}

// JSON returns status with v as the body.
func JSON(status int, v any) Response {
	body, err := json.Marshal(v)
	if err != nil {
		return Error(context.Background(), access.Internal(err))
	}
	return Response{StatusCode: status, Headers: headers(), Body: string(body)}
}

// NoContent is a 204.
func NoContent() Response {
	return Response{StatusCode: http.StatusNoContent, Headers: headers()}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Error turns any error into the project's error shape. It is the one place
// where kinds become statuses, and it logs only what is not the client's fault.
func Error(ctx context.Context, err error) Response {
	e := access.AsError(err)
	status := StatusOf(e.Kind)
	if status >= 500 {
		slog.ErrorContext(ctx, "request failed", "code", e.Code, "error", err)
	}
	h := headers()
	if status == http.StatusUnauthorized {
		h["WWW-Authenticate"] = "Bearer" // as API Gateway's own 401 (GatewayResponses)
	}
	var missing *access.MissingScopeError
	if errors.As(err, &missing) {
		h["WWW-Authenticate"] = missing.Challenge()
	}
	return Response{StatusCode: status, Headers: h, Body: errorJSON(e.Code, e.Message)}
}

// errorJSON is the project's error body, written as the template's Gateway
// Responses write it (no HTML escaping: "<token>" stays as it is).
func errorJSON(code, message string) string {
	var body errorBody
	body.Error.Code, body.Error.Message = code, message
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
	return strings.TrimSuffix(b.String(), "\n")
}

// StatusOf maps an error kind to its HTTP status.
func StatusOf(k access.Kind) int {
	switch k {
	case access.EINVALID:
		return http.StatusBadRequest
	case access.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case access.EFORBIDDEN:
		return http.StatusForbidden
	case access.ENOTFOUND:
		return http.StatusNotFound
	case access.ECONFLICT:
		return http.StatusConflict
	case access.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}
