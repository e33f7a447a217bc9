// Package authorizer decides, for every API request, who the caller is. It
// accepts API tokens minted by this service (checked against the store on
// every call, so a deletion revokes at once) and user sessions from the OIDC
// issuer. It fails closed: any error while deciding is never an allow.
package authorizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/header"
)

// MaxHeaderBytes bounds the Authorization header; larger ones are rejected
// before any parsing work.
const MaxHeaderBytes = 8 << 10

// TokenStore reads token metadata with a strongly consistent read.
type TokenStore interface {
	Get(ctx context.Context, tenant, id string) (access.Token, error)
}

// SessionVerifier verifies user sessions.
type SessionVerifier interface {
	Verify(ctx context.Context, raw string) (access.Principal, error)
}

// Authorizer authenticates bearer tokens.
type Authorizer struct {
	TokenIssuer string // the iss of API tokens; routes a bearer to its verifier
	APITokens   *apitoken.Verifier
	Sessions    SessionVerifier
	Store       TokenStore
	Now         func() time.Time
	Log         *slog.Logger
	// Uses records when and from where each API token was last used
	// (lastused.go); nil records nothing. AfterResponse runs that write once
	// the decision has been answered (internal/afterresponse in Lambda);
	// nil runs it before answering.
	Uses          UseStore
	AfterResponse func(work func(context.Context))
}

// errUnauthorized is every reason to answer 401; the reason is logged, never returned.
var errUnauthorized = errors.New("unauthorized")

// Authenticate returns the principal of the bearer in an Authorization header
// value. Errors are access errors: EUNAUTHORIZED for a bad bearer, EINTERNAL
// or EUNAVAILABLE when the decision could not be made.
func (a *Authorizer) Authenticate(ctx context.Context, header string) (access.Principal, error) {
	p, _, err := a.authenticate(ctx, header)
	return p, err
}

// authenticate is Authenticate, and returns an API token's record too.
func (a *Authorizer) authenticate(ctx context.Context, header string) (access.Principal, access.Token, error) {
	raw, err := bearer(header)
	if err != nil {
		return access.Principal{}, access.Token{}, a.deny(ctx, err)
	}
	var peek jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &peek); err != nil {
		return access.Principal{}, access.Token{}, a.deny(ctx, err)
	}
	// The unverified iss only picks the verifier; each verifier pins its own
	// issuer, keys and algorithms.
	if peek.Issuer != a.TokenIssuer {
		p, err := a.Sessions.Verify(ctx, raw)
		if access.ErrorKind(err) == access.EUNAVAILABLE { // its issuer's keys could not be fetched: no verdict
			a.Log.WarnContext(ctx, "session not checked", "error", err.Error())
			return access.Principal{}, access.Token{}, err
		}
		if err != nil {
			return access.Principal{}, access.Token{}, a.deny(ctx, err)
		}
		p.Scopes = access.AllScopes() // a signed-in person may do everything
		return p, access.Token{}, nil // p.Admin as the session's group claim says
	}
	claims, t, scopes, err := a.checkAPIToken(ctx, raw)
	if err != nil {
		return access.Principal{}, access.Token{}, err
	}
	return access.Principal{User: claims.Subject, Tenant: claims.Tenant, AuthType: access.AuthAPIToken, TokenID: claims.ID, Scopes: scopes}, t, nil
}

// CheckAPIToken is the whole decision on an API token (raw, without its
// "Bearer " scheme): minted by this service (apitoken.Verifier: algorithm,
// issuer, trusted keys, claims), and still there, unexpired and unchanged in
// the store, with the same scopes. Authenticate makes it for every request
// that carries one, and token introspection (api.Introspection) for the
// token it is asked about, so both answer alike. It returns the token's
// claims and the scopes it grants. Errors are access errors: EUNAUTHORIZED
// for a token that must not be accepted, EINTERNAL or EUNAVAILABLE when the
// decision could not be made.
func (a *Authorizer) CheckAPIToken(ctx context.Context, raw string) (*apitoken.Claims, []access.Scope, error) {
	claims, _, scopes, err := a.checkAPIToken(ctx, raw)
	return claims, scopes, err
}

// checkAPIToken is CheckAPIToken, and returns the token's record too (its
// last use, which the authorizer records).
func (a *Authorizer) checkAPIToken(ctx context.Context, raw string) (*apitoken.Claims, access.Token, []access.Scope, error) {
	if len(raw) > MaxHeaderBytes {
		return nil, access.Token{}, nil, a.deny(ctx, errors.New("token too large"))
	}
	claims, err := a.APITokens.Verify(raw)
	if err != nil {
		return nil, access.Token{}, nil, a.deny(ctx, err)
	}
	t, err := a.Store.Get(ctx, claims.Tenant, claims.ID)
	switch {
	case access.ErrorKind(err) == access.ENOTFOUND:
		return nil, access.Token{}, nil, a.deny(ctx, fmt.Errorf("token %s was deleted", claims.ID))
	case err != nil:
		a.Log.ErrorContext(ctx, "token lookup failed: denying", "tokenId", claims.ID, "error", err)
		return nil, access.Token{}, nil, err
	case t.Expired(a.Now()):
		// TTL purges days late: the stored expiry is checked here too.
		return nil, access.Token{}, nil, a.deny(ctx, fmt.Errorf("token %s expired", claims.ID))
	case t.CutOff(a.Now()):
		// A rotation replaced it and its overlap is over.
		return nil, access.Token{}, nil, a.deny(ctx, fmt.Errorf("token %s was replaced by %s and its overlap ended", claims.ID, t.Rotation.Replaced.By))
	case t.AssociatedUser != claims.Subject:
		return nil, access.Token{}, nil, a.deny(ctx, fmt.Errorf("token %s does not match its record", claims.ID))
	}
	scopes, err := grantedScopes(claims, t)
	if err != nil {
		return nil, access.Token{}, nil, a.deny(ctx, fmt.Errorf("token %s: %w", claims.ID, err))
	}
	return claims, t, scopes, nil
}

// grantedScopes are the scopes of an API token: its signed scope claim,
// which must name scopes of the set and be the list its record holds. A
// token minted before tokens had scopes has neither, and is granted
// access.LegacyScopes: it was issued to do everything.
func grantedScopes(claims *apitoken.Claims, t access.Token) ([]access.Scope, error) {
	switch {
	case claims.Scope == nil && t.Scopes == nil:
		return access.LegacyScopes(), nil
	case claims.Scope == nil || t.Scopes == nil:
		return nil, errors.New("its scope claim and its record disagree on whether it has scopes")
	}
	scopes, err := access.ParseScopeList(*claims.Scope)
	if err != nil {
		return nil, fmt.Errorf("scope claim: %w", err)
	}
	if !slices.Equal(scopes, t.Scopes) {
		return nil, fmt.Errorf("scope claim %q does not match its record's %q", *claims.Scope, access.FormatScopes(t.Scopes))
	}
	return scopes, nil
}

func (a *Authorizer) deny(ctx context.Context, why error) error {
	a.Log.InfoContext(ctx, "request denied", "reason", why.Error())
	return &access.Error{Kind: access.EUNAUTHORIZED, Code: "UNAUTHORIZED", Message: "A valid bearer token is required.", Err: errUnauthorized}
}

// compactJWS is the form of a bearer: three base64url segments, nothing else.
var compactJWS = regexp.MustCompile(`^[-_A-Za-z0-9]+\.[-_A-Za-z0-9]+\.[-_A-Za-z0-9]+$`)

// bearer extracts the token from "Bearer <token>": the scheme in any case
// (RFC 7235), one space, a compact JWS. Oversized headers and anything else
// are rejected before the token is parsed, so each token has one spelling.
func bearer(header string) (string, error) {
	if len(header) > MaxHeaderBytes {
		return "", errors.New("authorization header too large")
	}
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errors.New("not a bearer authorization")
	}
	if !compactJWS.MatchString(raw) {
		return "", errors.New("bearer is not a compact JWS")
	}
	return raw, nil
}

// authorization returns the request's one Authorization header. API Gateway
// passes header names as the client spelled them, the last value of each in
// headers and every value in multiValueHeaders: any spelling of the name
// counts, and more than one value (or two that disagree) is no answer.
func authorization(req events.APIGatewayCustomAuthorizerRequestTypeRequest) (string, error) {
	var multi, single []string
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, "Authorization") {
			multi = append(multi, vs...)
		}
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, "Authorization") {
			single = append(single, v)
		}
	}
	switch {
	case len(multi) > 1 || len(single) > 1:
		return "", fmt.Errorf("%d Authorization headers", max(len(multi), len(single)))
	case len(multi) == 1 && len(single) == 1 && multi[0] != single[0]:
		return "", errors.New("headers and multiValueHeaders disagree on Authorization")
	case len(multi) == 1:
		return multi[0], nil
	case len(single) == 1:
		return single[0], nil
	}
	return "", errors.New("no Authorization header")
}

// Context keys passed to the functions through API Gateway.
const (
	ContextUser     = "user"
	ContextTenant   = "tenant"
	ContextAuthType = "authType"
	ContextTokenID  = "tokenId"
	// ContextScopes holds the caller's scopes space-separated, as the scope
	// claim does: API Gateway passes on only strings, numbers and booleans.
	ContextScopes = "scopes"
	// ContextAdmin is true for a tenant administrator's session, false for
	// everyone else and every API token (a boolean, which API Gateway
	// passes on as the string "true" or "false").
	ContextAdmin = "admin"
)

// Handle is the Lambda entry point for a REST API REQUEST authorizer (a
// TOKEN authorizer sees one Authorization value, so it could not refuse
// two; see docs/security.md). A bad bearer returns the error "Unauthorized",
// which API Gateway turns into 401; a failure to decide returns another
// error, which API Gateway turns into 500.
func (a *Authorizer) Handle(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	bearerHeader, err := authorization(req)
	if err != nil {
		_ = a.deny(ctx, err)
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	p, t, err := a.authenticate(ctx, bearerHeader)
	if err != nil {
		if access.ErrorKind(err) == access.EUNAUTHORIZED {
			return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
		}
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("authorizer failed")
	}
	if p.AuthType == access.AuthAPIToken {
		a.recordUse(t, audit.NewRequest(req.RequestContext.Identity.SourceIP, header.Get(req.Headers, "User-Agent"), req.RequestContext.RequestID))
	}
	return Allow(p, req.MethodArn), nil
}

// Allow is the policy that lets p call exactly the method it asked for;
// with result caching off it is never reused for another request.
func Allow(p access.Principal, methodARN string) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: p.User,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{methodARN},
			}},
		},
		Context: map[string]any{
			ContextUser: p.User, ContextTenant: p.Tenant, ContextAuthType: string(p.AuthType), ContextTokenID: p.TokenID,
			ContextScopes: access.FormatScopes(p.Scopes), ContextAdmin: p.TenantAdmin(),
		},
	}
}
