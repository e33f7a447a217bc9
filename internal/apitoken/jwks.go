package apitoken

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
)

// JWK is a public key of a trusted signing key as RFC 7517 writes it: an
// elliptic-curve key (RFC 7518 section 6.2.1) with its key id, the one
// algorithm it verifies and its use, so that a client picks it by kid and
// verifies nothing else with it.
type JWK struct {
	KeyType   string `json:"kty"` // "EC"
	Curve     string `json:"crv"` // "P-256"
	X         string `json:"x"`   // base64url, the full 32 bytes of the coordinate
	Y         string `json:"y"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"` // "ES256"
	Use       string `json:"use"` // "sig"
}

// JWKSet is a JWK Set (RFC 7517 section 5): {"keys": [...]}.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// PublicJWKS is the JWK Set of the trusted keys, by kid, in kid order: the
// keys a Verifier built on the same map accepts, and no other.
func PublicJWKS(keys map[string]*ecdsa.PublicKey) (JWKSet, error) {
	set := JWKSet{Keys: make([]JWK, 0, len(keys))}
	for kid, pub := range keys {
		x, y, err := coordinates(pub)
		if err != nil {
			return JWKSet{}, fmt.Errorf("key %s: %w", kid, err)
		}
		set.Keys = append(set.Keys, JWK{KeyType: "EC", Curve: "P-256", X: x, Y: y, KeyID: kid, Algorithm: "ES256", Use: "sig"})
	}
	slices.SortFunc(set.Keys, func(a, b JWK) int { return cmp.Compare(a.KeyID, b.KeyID) })
	return set, nil
}

// coordinates returns a P-256 key's x and y, base64url encoded, each the
// full 32 bytes with leading zeros kept, as RFC 7518 section 6.2.1.2
// requires (a big.Int would drop them).
func coordinates(pub *ecdsa.PublicKey) (x, y string, err error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return "", "", errors.New("not a P-256 key")
	}
	ecdh, err := pub.ECDH()
	if err != nil {
		return "", "", err
	}
	point := ecdh.Bytes() // 0x04 || X || Y
	enc := base64.RawURLEncoding.EncodeToString
	return enc(point[1:33]), enc(point[33:]), nil
}
