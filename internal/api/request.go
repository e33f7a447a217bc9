package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/header"
	"github.com/dcs-access/dcs-access/internal/strictjson"
)

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 64 << 10

// Principal reads the caller that the authorizer verified. Without it the
// request did not pass the authorizer, which must never happen behind API
// Gateway; it is refused all the same.
func Principal(req events.APIGatewayProxyRequest) (access.Principal, error) {
	ctx := req.RequestContext.Authorizer
	str := func(k string) string { s, _ := ctx[k].(string); return s }
	p := access.Principal{
		User: str(authorizer.ContextUser), Tenant: str(authorizer.ContextTenant),
		AuthType: access.AuthType(str(authorizer.ContextAuthType)), TokenID: str(authorizer.ContextTokenID),
	}
	scopes, scopesErr := access.ParseScopeList(str(authorizer.ContextScopes))
	if p.User == "" || p.Tenant == "" || (p.AuthType != access.AuthSession && p.AuthType != access.AuthAPIToken) || scopesErr != nil {
		return access.Principal{}, access.Errorf(access.EUNAUTHORIZED, "UNAUTHORIZED", MissingBearerMessage)
	}
	p.Scopes = scopes
	// API Gateway passes every context value on as a string ("true"); a
	// boolean is taken too. Only a session is ever an administrator.
	admin := ctx[authorizer.ContextAdmin]
	p.Admin = p.AuthType == access.AuthSession && (admin == "true" || admin == true)
	return p, nil
}

// serve runs fn for the verified caller of req, once the route table says
// the caller may make the request, and turns any error, the caller's, the
// table's or fn's, into the error response. Every handler behind the
// authorizer goes through here: it is the one place scopes are enforced.
func serve(ctx context.Context, req events.APIGatewayProxyRequest, fn func(context.Context, access.Principal) (Response, error)) (Response, error) {
	ctx = withAuditRequest(ctx, req)
	p, err := Principal(req)
	if err != nil {
		return Error(ctx, err), nil
	}
	if err := permit(req, p); err != nil {
		return Error(ctx, err), nil
	}
	resp, err := fn(ctx, p)
	if err != nil {
		return Error(ctx, err), nil
	}
	return resp, nil
}

// withAuditRequest is ctx carrying where req came from, which the audit
// events of the changes it asks for record (audit.WithRequest).
func withAuditRequest(ctx context.Context, req events.APIGatewayProxyRequest) context.Context {
	rc := req.RequestContext
	return audit.WithRequest(ctx, audit.NewRequest(rc.Identity.SourceIP, header.Get(req.Headers, "User-Agent"), rc.RequestID))
}

func invalidBody(format string, args ...any) *access.Error {
	return access.Errorf(access.EINVALID, "INVALID_BODY", format, args...)
}

// Decode reads a JSON object body into v strictly: at most 64 KiB of valid
// UTF-8, one object, every member name exactly one of v's fields (at any
// depth: "DESCRIPTION" is not "description"), no name twice in an object, no
// trailing data. An empty body decodes as {}.
func Decode(req events.APIGatewayProxyRequest, v any) error {
	body, err := rawBody(req)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return invalidBody("The request body must be valid UTF-8.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if bytes.TrimSpace(body)[0] != '{' {
		return invalidBody("The request body must be a JSON object.")
	}
	if err := strictjson.Unmarshal(body, v); err != nil {
		return decodeError(err)
	}
	return nil
}

// rawBody is the request's body as the client sent it (API Gateway passes
// a binary one base64 encoded), at most MaxBodyBytes.
func rawBody(req events.APIGatewayProxyRequest) ([]byte, error) {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBodyBytes+3 {
			return nil, invalidBody("The request body must be at most 64 KiB.")
		}
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return nil, invalidBody("The request body is not valid base64.")
		}
	}
	if len(body) > MaxBodyBytes {
		return nil, invalidBody("The request body must be at most 64 KiB.")
	}
	return body, nil
}

func decodeError(err error) error {
	var memberErr *strictjson.MemberError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &memberErr) && memberErr.Duplicate:
		return invalidBody("Field %q appears more than once.", memberErr.Path)
	case errors.As(err, &memberErr) && memberErr.Want != "":
		return invalidBody("Unknown field %q: field names are case-sensitive (did you mean %q?).", memberErr.Path, memberErr.Want)
	case errors.As(err, &memberErr):
		return invalidBody("Unknown field %q.", memberErr.Path)
	case errors.Is(err, strictjson.ErrTrailingData):
		return invalidBody("The request body must hold a single JSON object.")
	case errors.As(err, &typeErr):
		return invalidBody("Field %q has the wrong type: expected %s.", typeErr.Field, typeErr.Type)
	case errors.As(err, &syntaxErr):
		return invalidBody("The request body is not valid JSON (at byte %d).", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidBody("The request body is not valid JSON (it ends too early).")
	default:
		return invalidBody("The request body is not valid JSON.")
	}
}
