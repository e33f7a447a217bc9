// Package session verifies user sessions: OIDC ID tokens from the configured
// issuer (a Cognito user pool in AWS, the local development issuer under
// `make run`). coreos/go-oidc does the OIDC work: JWKS fetching and caching,
// refetching on an unknown kid, and the iss, aud and exp checks.
package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
)

// ErrInvalid is returned (wrapped) for every session that must not be accepted.
var ErrInvalid = errors.New("invalid session")

// Config names the issuer and the claims that carry the user, the tenant
// and the user's groups.
type Config struct {
	Issuer      string
	Audience    string // the app client id the ID token was issued to
	EmailClaim  string // default "email"
	TenantClaim string // default "custom:tenant", Cognito's name for a custom attribute
	// AdminGroupClaim holds the user's groups (default DefaultAdminGroupClaim),
	// and a user whose groups include AdminGroup (default DefaultAdminGroup)
	// is a tenant administrator of their tenant.
	AdminGroupClaim string
	AdminGroup      string
}

// The administrators of the stack's own Cognito user pool: Cognito lists a
// user's groups in the ID token's cognito:groups claim, an array of the
// groups' names (docs/security.md, "Tenant policy").
const (
	DefaultAdminGroupClaim = "cognito:groups"
	DefaultAdminGroup      = "dcs-admins"
)

// Verifier checks session tokens.
type Verifier struct {
	issuer      string
	v           *oidc.IDTokenVerifier
	emailClaim  string
	tenantClaim string
	groupsClaim string
	adminGroup  string
}

// NewVerifier verifies sessions signed by keys. In AWS keys is RemoteKeys
// on the issuer's JWKS URL.
func NewVerifier(cfg Config, keys oidc.KeySet, now func() time.Time) *Verifier {
	v := &Verifier{issuer: cfg.Issuer, emailClaim: cfg.EmailClaim, tenantClaim: cfg.TenantClaim}
	if v.emailClaim == "" {
		v.emailClaim = "email"
	}
	if v.tenantClaim == "" {
		v.tenantClaim = "custom:tenant"
	}
	v.groupsClaim, v.adminGroup = cmp.Or(cfg.AdminGroupClaim, DefaultAdminGroupClaim), cmp.Or(cfg.AdminGroup, DefaultAdminGroup)
	v.v = oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{
		ClientID:             cfg.Audience,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256},
		Now:                  now,
	})
	return v
}

// Verify returns the principal of a valid session token. A session it could
// not check (its issuer's keys could not be fetched) is an access.EUNAVAILABLE
// error wrapping ErrIssuerUnavailable; every session it refuses wraps ErrInvalid.
func (v *Verifier) Verify(ctx context.Context, raw string) (access.Principal, error) {
	// go-oidc checks the signature before the issuer and refetches the JWKS
	// whenever no cached key verifies: refuse foreign issuers first, so forged
	// bearers cannot make every request a fetch from the issuer.
	var peek jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &peek); err != nil || peek.Issuer != v.issuer {
		return access.Principal{}, fmt.Errorf("%w: not from issuer %s", ErrInvalid, v.issuer)
	}
	fetchFailed := false
	tok, err := v.v.Verify(context.WithValue(ctx, fetchFailedKey{}, &fetchFailed), raw)
	if err != nil && fetchFailed {
		return access.Principal{}, access.Unavailable(fmt.Errorf("%w: %w", ErrIssuerUnavailable, err))
	}
	if err != nil {
		return access.Principal{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return access.Principal{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, ok := claims[apitoken.TypeClaim]; ok {
		return access.Principal{}, fmt.Errorf("%w: an api token is not a session", ErrInvalid)
	}
	email, _ := claims[v.emailClaim].(string)
	tenant, _ := claims[v.tenantClaim].(string)
	if email == "" || tenant == "" {
		return access.Principal{}, fmt.Errorf("%w: missing %s or %s claim", ErrInvalid, v.emailClaim, v.tenantClaim)
	}
	if !access.TenantPattern.MatchString(tenant) {
		return access.Principal{}, fmt.Errorf("%w: tenant %q is not a valid tenant name", ErrInvalid, tenant)
	}
	return access.Principal{User: email, Tenant: tenant, AuthType: access.AuthSession, Admin: inGroup(claims[v.groupsClaim], v.adminGroup)}, nil
}

// inGroup reports whether a groups claim names group: a list of strings
// (Cognito's cognito:groups), or one string (what some other issuers send
// for a single group). Anything else names no group: not an administrator,
// and still a valid session.
func inGroup(claim any, group string) bool {
	switch c := claim.(type) {
	case string:
		return c == group
	case []any:
		for _, g := range c {
			if s, ok := g.(string); ok && s == group {
				return true
			}
		}
	}
	return false
}
