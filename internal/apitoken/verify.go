package apitoken

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalid is returned (wrapped) for every token that must not be accepted.
var ErrInvalid = errors.New("invalid api token")

// Verifier checks API tokens with the algorithm, issuer and key-id set pinned.
// It proves only that this service minted the token; whether the token still
// exists (was not revoked) is the caller's check.
type Verifier struct {
	keys   map[string]*ecdsa.PublicKey
	parser *jwt.Parser
}

// NewVerifier trusts the given public keys by key id. Several keys may be
// trusted at once so the signing key can be rotated.
func NewVerifier(issuer string, keys map[string]*ecdsa.PublicKey, now func() time.Time) *Verifier {
	return &Verifier{
		keys: keys,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(30*time.Second),
			jwt.WithStrictDecoding(), // one spelling per signature: no base64 padding-bit variants
			jwt.WithTimeFunc(now),
		),
	}
}

// Verify returns the claims of a valid API token, or an error wrapping ErrInvalid.
func (v *Verifier) Verify(raw string) (*Claims, error) {
	claims := new(Claims)
	_, err := v.parser.ParseWithClaims(raw, claims, v.keyFor)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch {
	case claims.TokenType != TypeValue:
		return nil, fmt.Errorf("%w: not an api token", ErrInvalid)
	case claims.ID == "" || claims.Subject == "" || claims.Tenant == "":
		return nil, fmt.Errorf("%w: missing jti, sub or tenant", ErrInvalid)
	case claims.IssuedAt == nil:
		return nil, fmt.Errorf("%w: missing iat", ErrInvalid)
	}
	return claims, nil
}

// keyFor returns the key that verifies t, once t passes the checks that
// golang-jwt does not make. It runs after the signature is decoded and
// before it is verified.
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	if err := checkLowS(t.Signature); err != nil {
		return nil, err
	}
	kid, _ := t.Header["kid"].(string)
	key, ok := v.keys[kid]
	if !ok {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	return key, nil
}
