package api

import "strings"

// GatewayResponse is an answer that API Gateway gives by itself, before or
// instead of a function (no bearer, a denial, an unknown route, a failed
// authorizer...): one of the template's Gateway Responses. The local server
// answers with the same ones, and templatecheck keeps template.yaml's
// GatewayResponses equal to GatewayResponses, so both say the same.
type GatewayResponse struct {
	// Status is the HTTP status; 0 keeps the status of the error that
	// API Gateway met (DEFAULT_4XX, DEFAULT_5XX).
	Status int
	Code   string
	// Message is the text a person reads. One that starts with "$context."
	// is a context variable, which API Gateway renders as a JSON string.
	Message string
	// Headers are the response's headers besides Content-Type and the
	// console's CORS origin, which every one of them carries.
	Headers map[string]string
}

// Body is the response template: the project's error shape, with API
// Gateway's $context variables in it unrendered.
func (g GatewayResponse) Body() string {
	if strings.HasPrefix(g.Message, "$context.") {
		return `{"error":{"code":"` + g.Code + `","message":` + g.Message + `}}`
	}
	return errorJSON(g.Code, g.Message)
}

// MissingBearerMessage is what a 401 says, whoever answers it.
const MissingBearerMessage = "A valid bearer token is required: send Authorization: Bearer <token>."

// notFound is API Gateway's answer to a method or path it has no route for.
var notFound = GatewayResponse{Status: 404, Code: "NOT_FOUND", Message: "No such route: check the method and the path."}

// AuthorizerFailed is the response type API Gateway gives a request whose
// Lambda authorizer returned an error other than "Unauthorized": a 500 with
// x-amzn-ErrorType AuthorizerConfigurationException, the "Authorizer
// Configuration Error" Gateway Response (docs/security.md cites the
// sources). The local server answers a failed authorizer with it.
const AuthorizerFailed = "AUTHORIZER_CONFIGURATION_ERROR"

var authorizerFailed = GatewayResponse{Status: 503, Code: "UNAVAILABLE", Message: "The bearer token could not be checked just now; retry in a few seconds (request id $context.requestId).", Headers: map[string]string{"Retry-After": "5"}}

// GatewayResponses are the template's Gateway Responses, by response type.
var GatewayResponses = map[string]GatewayResponse{
	// RFC 7235: a 401 names the scheme the client should use.
	"UNAUTHORIZED":  {Status: 401, Code: "UNAUTHORIZED", Message: MissingBearerMessage, Headers: map[string]string{"WWW-Authenticate": "Bearer"}},
	"ACCESS_DENIED": {Status: 403, Code: "ACCESS_DENIED", Message: "The bearer token does not allow this request."},
	// API Gateway answers an unknown method or path with "Missing
	// Authentication Token"; say what it means instead.
	"MISSING_AUTHENTICATION_TOKEN": notFound,
	"RESOURCE_NOT_FOUND":           notFound,
	"REQUEST_TOO_LARGE":            {Status: 413, Code: "REQUEST_TOO_LARGE", Message: "The request is too large."},
	"THROTTLED":                    {Status: 429, Code: "THROTTLED", Message: "Too many requests: wait a little and retry."},
	// The authorizer could not decide (its store throttled or down, its
	// session issuer unreachable, a timeout): it never allows then, and the
	// client may retry, as with a function's 503. AuthorizerFailed is the
	// type its errors get; AUTHORIZER_FAILURE, "when a custom or Amazon
	// Cognito authorizer failed to authenticate the caller", says the same
	// so that no authorizer fault reaches a client as DEFAULT_5XX.
	AuthorizerFailed:     authorizerFailed,
	"AUTHORIZER_FAILURE": authorizerFailed,
	"DEFAULT_4XX":        {Code: "BAD_REQUEST", Message: "$context.error.messageString"},
	// An authorizer or function that failed (500, 502), a timeout (504).
	"DEFAULT_5XX": {Code: "INTERNAL_ERROR", Message: "Something went wrong on our side; try again later (request id $context.requestId)."},
}
