// Package access holds the domain of dcs-access: who is calling (Principal),
// what an API token's record is (Token), and the one application error type
// that every adapter turns into an HTTP status in a single place.
package access

import (
	"regexp"
	"time"
)

// AuthType says how a caller proved who they are.
type AuthType string

const (
	// AuthSession is a person signed in through the OIDC issuer (Cognito in AWS).
	AuthSession AuthType = "session"
	// AuthAPIToken is a script presenting an API token issued by this service.
	AuthAPIToken AuthType = "api_token"
)

// TenantPattern is what a tenant name may be. Tenants name storage keys and
// the secrets a tenant's plans may read (dcs-access/<tenant>/…), so a tenant
// such as "acme/prod" must never exist alongside "acme".
var TenantPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Principal is the verified caller. The authorizer builds it from the bearer
// token; functions read it from the authorizer context and never from input.
type Principal struct {
	User     string   // e-mail address
	Tenant   string   // DCS tenant
	AuthType AuthType // session or api_token
	TokenID  string   // the API token's id (jti) when AuthType is AuthAPIToken
	// Scopes are what the caller may do, in the documented order: a
	// session's are every scope, an API token's those it was created with.
	Scopes []Scope
	// Admin is set for a tenant administrator: a session whose group claim
	// names the administrators' group (internal/session). Never for an API
	// token, whoever created it (docs/security.md, "Tenant policy"); read
	// it through TenantAdmin.
	Admin bool
}

// TenantAdmin reports whether p is a tenant administrator: a signed-in
// session of the administrators' group, never an API token.
func (p Principal) TenantAdmin() bool { return p.Admin && p.AuthType == AuthSession }

// Token is the stored metadata of an API token. The token string itself is
// never part of it: only its id (the JWT's jti) is kept.
type Token struct {
	ID             string
	Tenant         string
	Description    string
	AssociatedUser string
	CreatedAt      time.Time
	ExpiresAt      *time.Time // nil: never expires
	Rotation       Rotation   // its place in a rotation family (rotation.go)
	// LastUsedAt and LastUsedIP are when and from which source IP the
	// authorizer last allowed a request with the token, recorded at most
	// once per authorizer.UseRecordInterval; nil and "" for a token never used.
	LastUsedAt *time.Time
	LastUsedIP string
	// RecentIPs are the source IPs the token was used from lately, with
	// when each was last seen (to within authorizer.UseRecordInterval): at
	// most MaxRecentIPs, the least recently seen leaving first. A use from
	// an address not among them is a first use from a new source IP, which
	// the audit trail records. nil for a token never used since they were.
	RecentIPs map[string]time.Time
	// Scopes are the token's scopes, as its scope claim lists them; nil for
	// a token created before tokens had scopes (see GrantedScopes).
	Scopes []Scope
}

// MaxRecentIPs bounds Token.RecentIPs: the token item stays small (some
// 50 bytes an address) whatever the number of addresses it is used from.
const MaxRecentIPs = 20

// UsedFrom reports whether ip is among the token's recent source IPs.
func (t Token) UsedFrom(ip string) bool {
	_, ok := t.RecentIPs[ip]
	return ok
}

// GrantedScopes are what the token may do: its scopes, or LegacyScopes for
// a token created before tokens had scopes.
func (t Token) GrantedScopes() []Scope {
	if t.Scopes == nil {
		return LegacyScopes()
	}
	return t.Scopes
}

// Expired reports whether the token has passed its expiry at now. DynamoDB TTL
// deletes items days late, so every reader checks expiry in code too.
func (t Token) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}
