// Package apitoken defines the wire format of DCS API tokens: ES256 JWTs that
// this service mints and that the authorizer verifies. It knows nothing of
// storage; revocation is the authorizer's job.
package apitoken

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TypeClaim is the claim that marks an API token (Claims.TokenType).
const TypeClaim = "token_type"

// TypeValue is the value of the token_type claim that marks an API token, so
// a user session can never pass as an API token, nor the reverse.
const TypeValue = "api_token"

// ScopeClaim is the claim that lists what the token may do: the OAuth
// "scope" claim, a space-separated list (RFC 8693 section 4.2, which RFC 9068
// section 2.2.3 uses for JWT access tokens).
const ScopeClaim = "scope"

// Claims are the claims of an API token. exp is present only when the token
// expires; scope is absent only from tokens minted before tokens had scopes.
type Claims struct {
	jwt.RegisteredClaims
	Tenant    string  `json:"tenant"`
	TokenType string  `json:"token_type"`
	Scope     *string `json:"scope,omitempty"`
}

// Signer signs a SHA-256 digest with an ECDSA P-256 private key and returns
// the ASN.1 DER signature, which is what both AWS KMS and crypto/ecdsa give.
// S may be high or low; Mint turns it into the one form the verifier accepts.
type Signer interface {
	KeyID() string
	SignDigest(ctx context.Context, digest []byte) ([]byte, error)
}

// Minter issues API tokens signed by Signer.
type Minter struct {
	Issuer string
	Signer Signer
}

// Grant is what one API token says about its holder.
type Grant struct {
	ID        string // becomes jti
	User      string // becomes sub
	Tenant    string
	IssuedAt  time.Time
	ExpiresAt *time.Time // nil: no exp claim
	// Scopes become the scope claim, space-separated; none: no scope claim
	// (what tokens minted before scopes existed look like).
	Scopes []string
}

// Mint returns a signed token for g. golang-jwt builds the header and claims;
// the signature is made by Signer, because a KMS key cannot be handed to
// golang-jwt's ECDSA method (it wants the private key in process).
func (m Minter) Mint(ctx context.Context, g Grant) (string, error) {
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:   m.Issuer,
			Subject:  g.User,
			ID:       g.ID,
			IssuedAt: jwt.NewNumericDate(g.IssuedAt),
		},
		Tenant:    g.Tenant,
		TokenType: TypeValue,
	}
	if g.ExpiresAt != nil {
		claims.ExpiresAt = jwt.NewNumericDate(*g.ExpiresAt)
	}
	if len(g.Scopes) > 0 {
		for _, s := range g.Scopes {
			if strings.Contains(s, " ") || !validScope(s) {
				return "", fmt.Errorf("encode token: %q is not a scope", s)
			}
		}
		scope := strings.Join(g.Scopes, " ")
		claims.Scope = &scope
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["typ"] = HeaderType // golang-jwt's default too; set here, as the verifier requires it
	t.Header["kid"] = m.Signer.KeyID()
	signingString, err := t.SigningString()
	if err != nil {
		return "", fmt.Errorf("encode token: %w", err)
	}
	digest := sha256.Sum256([]byte(signingString))
	der, err := m.Signer.SignDigest(ctx, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	sig, err := joseSignature(der)
	if err != nil {
		return "", err
	}
	return signingString + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
