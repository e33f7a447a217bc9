package apitoken

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// KeySigner signs with an in-process P-256 key: the local stack's key file
// and tests. In AWS the key lives in KMS instead (package kmskey).
type KeySigner struct {
	key *ecdsa.PrivateKey
	kid string
}

// NewKeySigner returns a signer whose key id is the key's RFC 7638 thumbprint.
func NewKeySigner(key *ecdsa.PrivateKey) (*KeySigner, error) {
	if key.Curve != elliptic.P256() {
		return nil, errors.New("signing key must be P-256")
	}
	kid, err := Thumbprint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &KeySigner{key: key, kid: kid}, nil
}

// KeyID returns the key's thumbprint.
func (s *KeySigner) KeyID() string { return s.kid }

// Public returns the public half, for a Verifier.
func (s *KeySigner) Public() *ecdsa.PublicKey { return &s.key.PublicKey }

// SignDigest signs digest and returns an ASN.1 DER signature.
func (s *KeySigner) SignDigest(_ context.Context, digest []byte) ([]byte, error) {
	return ecdsa.SignASN1(rand.Reader, s.key, digest)
}

// Thumbprint returns the RFC 7638 JWK thumbprint of a P-256 public key,
// base64url encoded: a stable key id that needs no registry.
func Thumbprint(pub *ecdsa.PublicKey) (string, error) {
	x, y, err := coordinates(pub)
	if err != nil {
		return "", err
	}
	// Members in lexicographic order with no white space, as RFC 7638 requires.
	jwk := `{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	sum := sha256.Sum256([]byte(jwk))
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
