package apitoken

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalid is returned (wrapped) for every token that must not be accepted.
var ErrInvalid = errors.New("invalid api token")

// HeaderType is the typ header of every API token, and the only one the
// verifier accepts. It is golang-jwt's default, which every token minted so
// far carries: a project-specific value would have split the tokens in use
// into two kinds. API tokens and sessions are told apart by token_type, the
// issuer and the key set, not by typ.
const HeaderType = "JWT"

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
	if i := strings.IndexFunc(raw, notCompactJWS); i >= 0 {
		return nil, fmt.Errorf("%w: character %q at %d is not base64url or a dot", ErrInvalid, raw[i], i)
	}
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
	case claims.Scope != nil && !validScope(*claims.Scope):
		return nil, fmt.Errorf("%w: scope claim is not a space-separated list of scopes", ErrInvalid)
	}
	return claims, nil
}

// validScope reports whether s is the value of a scope claim as RFC 6749
// section 3.3 writes it: scope-tokens of the characters %x21 / %x23-5B /
// %x5D-7E, separated by single spaces, at least one. Which scopes it names
// is the authorizer's check.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			return false
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
				return false
			}
		}
	}
	return true
}

// notCompactJWS reports a character that no compact JWS contains. Go's
// base64 decoders skip \r and \n even in strict mode, so without this check a
// line break inside the signature segment would be a second spelling of the
// token.
func notCompactJWS(r rune) bool {
	return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.')
}

// keyFor returns the key that verifies t, once t passes the checks that
// golang-jwt does not make. It runs after the token is decoded and before its
// signature is verified.
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	if typ, ok := t.Header["typ"].(string); !ok || typ != HeaderType {
		return nil, fmt.Errorf("typ header is not %q", HeaderType)
	}
	// RFC 7515 section 4.1.11: a recipient must refuse a token whose crit
	// lists an extension it does not understand. This verifier understands
	// none, and an empty or malformed crit is invalid too, so any crit is
	// refused; golang-jwt ignores the header.
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("crit header is not supported")
	}
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

// UnmarshalJSON decodes the claims, refusing exp, iat and nbf that are
// present but not JSON numbers (RFC 7519 NumericDate): golang-jwt's
// NumericDate takes a string that holds a number ("exp":"1700000000") as
// well, and null as absent. A scope that is present must be a string (RFC
// 8693 section 4.2): encoding/json reads null as absent. encoding/json matches
// names case-insensitively, so "EXP" would land in ExpiresAt too and is held
// to the same rule.
func (c *Claims) UnmarshalJSON(data []byte) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return err
	}
	for name, value := range members {
		for _, date := range []string{"exp", "iat", "nbf"} {
			if strings.EqualFold(name, date) && !isJSONNumber(value) {
				return fmt.Errorf("claim %s is not a number", name)
			}
		}
		// null would read as no scope claim: the token of every scope.
		if strings.EqualFold(name, ScopeClaim) && (len(value) == 0 || value[0] != '"') {
			return fmt.Errorf("claim %s is not a string", name)
		}
	}
	type plain Claims // without this method
	return json.Unmarshal(data, (*plain)(c))
}

// isJSONNumber reports whether a valid JSON value is a number: only numbers
// start with a minus sign or a digit.
func isJSONNumber(v json.RawMessage) bool {
	return len(v) > 0 && (v[0] == '-' || '0' <= v[0] && v[0] <= '9')
}
