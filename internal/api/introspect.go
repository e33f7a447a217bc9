package api

import (
	"context"
	"mime"
	"net/http"
	"net/url"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/header"
)

// TokenChecker makes the authorizer's decision on an API token
// (authorizer.Authorizer.CheckAPIToken): introspection answers exactly
// what the authorizer would decide, with the same code.
type TokenChecker interface {
	CheckAPIToken(ctx context.Context, raw string) (*apitoken.Claims, []access.Scope, error)
}

// Introspection serves POST /oauth/introspect, OAuth 2.0 Token
// Introspection (RFC 7662): a service that received an API token asks
// whether it is active, and so honours a deletion at once without reading
// this stack's table.
type Introspection struct {
	Tokens TokenChecker
}

// BearerTokenType is the token_type of an active token: RFC 7662 section
// 2.2 takes it from the OAuth 2.0 token types (RFC 6749 section 7.1), and
// API tokens are bearer tokens (RFC 6750). It is not the token's own
// token_type claim (api_token), which tells API tokens from sessions.
const BearerTokenType = "Bearer"

// introspectionResponse is RFC 7662 section 2.2's answer. An inactive token
// gets {"active": false} and nothing else: the section's "MUST" for a token
// that is not active, and no hint of why (deleted, expired, forged, another
// tenant's) to whoever guesses tokens.
type introspectionResponse struct {
	Active bool   `json:"active"`
	Sub    string `json:"sub,omitempty"`
	// Tenant is this service's own member (section 2.2 allows them): the
	// tenant the token acts for.
	Tenant string `json:"tenant,omitempty"`
	// Scope is the token's scopes, space-separated (RFC 7662 section 2.2).
	Scope     string `json:"scope,omitempty"`
	Exp       *int64 `json:"exp,omitempty"` // absent: the token never expires
	Iat       int64  `json:"iat,omitempty"`
	JTI       string `json:"jti,omitempty"`
	TokenType string `json:"token_type,omitempty"`
}

// FormContentType is the media type RFC 7662 section 2.1 sends the request
// in.
const FormContentType = "application/x-www-form-urlencoded"

// Introspect handles POST /oauth/introspect (token=…, optionally
// token_type_hint=…). The caller is whoever the authorizer let through: a
// session or an API token of a tenant. It learns about its own tenant's
// tokens only: another tenant's token is as inactive as a forged one.
func (h *Introspection) Introspect(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		// serve has checked the caller's tokens:introspect (the route table).
		raw, err := introspectionToken(req)
		if err != nil {
			return Response{}, err
		}
		claims, scopes, err := h.Tokens.CheckAPIToken(ctx, raw)
		switch {
		case access.ErrorKind(err) == access.EUNAUTHORIZED:
			return JSON(http.StatusOK, introspectionResponse{Active: false}), nil
		case err != nil:
			// The store could not be read: a 5xx the caller may retry,
			// never an answer either way.
			return Response{}, err
		case claims.Tenant != p.Tenant:
			return JSON(http.StatusOK, introspectionResponse{Active: false}), nil
		}
		out := introspectionResponse{
			Active: true, Sub: claims.Subject, Tenant: claims.Tenant, JTI: claims.ID,
			Iat: claims.IssuedAt.Unix(), TokenType: BearerTokenType, Scope: access.FormatScopes(scopes),
		}
		if claims.ExpiresAt != nil {
			exp := claims.ExpiresAt.Unix()
			out.Exp = &exp
		}
		return JSON(http.StatusOK, out), nil
	})
}

// introspectionToken reads the token parameter of a form-encoded body. RFC
// 6749 section 3.1, which RFC 7662 builds on: a parameter without a value
// counts as absent, unknown parameters are ignored, and none may appear
// twice. token_type_hint is read for that rule only: RFC 7662 lets the
// server ignore it, and this one knows one kind of token.
func introspectionToken(req events.APIGatewayProxyRequest) (string, error) {
	const usage = "The body must be form-encoded (Content-Type: " + FormContentType + "): token=<the token to introspect>."
	if mt, _, err := mime.ParseMediaType(header.Get(req.Headers, "Content-Type")); err != nil || mt != FormContentType {
		return "", invalidBody(usage)
	}
	body, err := rawBody(req)
	if err != nil {
		return "", err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", invalidBody(usage)
	}
	for _, name := range []string{"token", "token_type_hint"} {
		if len(form[name]) > 1 {
			return "", invalidBody("Parameter %s appears more than once.", name)
		}
	}
	if form.Get("token") == "" {
		return "", invalidBody(usage)
	}
	return form.Get("token"), nil
}
