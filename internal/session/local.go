package session

import (
	"crypto"
	"crypto/ecdsa"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
)

// LocalIssuer is the development sign-in of `make run`: it signs sessions that
// look like Cognito ID tokens. It exists in no Lambda and no template.
type LocalIssuer struct {
	Issuer   string
	Audience string
	Key      *ecdsa.PrivateKey
	Now      func() time.Time
}

// Issue returns a session for email in tenant, valid for ttl.
func (l *LocalIssuer) Issue(email, tenant string, ttl time.Duration) (string, error) {
	return l.issue(email, tenant, ttl, nil)
}

// IssueAdmin returns a session of a tenant administrator: as Cognito does
// for a member of the administrators' group, its cognito:groups claim
// lists DefaultAdminGroup.
func (l *LocalIssuer) IssueAdmin(email, tenant string, ttl time.Duration) (string, error) {
	return l.issue(email, tenant, ttl, []string{DefaultAdminGroup})
}

func (l *LocalIssuer) issue(email, tenant string, ttl time.Duration, groups []string) (string, error) {
	now := l.Now()
	claims := jwt.MapClaims{
		"iss":           l.Issuer,
		"aud":           l.Audience,
		"sub":           email,
		"email":         email,
		"custom:tenant": tenant,
		"iat":           now.Unix(),
		"exp":           now.Add(ttl).Unix(),
	}
	if groups != nil {
		claims[DefaultAdminGroupClaim] = groups
	}
	return jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(l.Key)
}

// KeySet returns the keys that verify this issuer's sessions.
func (l *LocalIssuer) KeySet() oidc.KeySet {
	return &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&l.Key.PublicKey}}
}
