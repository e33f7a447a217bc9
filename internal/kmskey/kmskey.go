// Package kmskey signs and verifies API tokens with an AWS KMS asymmetric key
// (ECC_NIST_P256): the private key never leaves KMS.
package kmskey

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/awsjson"
)

// Service is KMS, which this package calls through awsjson (Sign and
// GetPublicKey) rather than the SDK's client: that client, for two calls of
// fixed shape, cost the authorizer and create-token 0.39 MB each
// (docs/performance.md). internal/templatecheck reads it to know what a
// function calls.
var Service = awsjson.Service{ID: "KMS", EndpointPrefix: "kms", SigningName: "kms", TargetPrefix: "TrentService", Protocol: awsjson.JSON11}

// API is how this package calls KMS: an *awsjson.Client of Service, or a
// test's fake.
type API interface {
	Call(ctx context.Context, operation string, in, out any) error
}

// Signer signs token digests with one KMS key.
type Signer struct {
	client API
	keyARN string
	kid    string
}

var _ apitoken.Signer = (*Signer)(nil)

// NewSigner signs with the key keyARN (a key ARN or key id).
func NewSigner(client API, keyARN string) *Signer {
	return &Signer{client: client, keyARN: keyARN, kid: KeyID(keyARN)}
}

// KeyID returns the JWT kid of the key.
func (s *Signer) KeyID() string { return s.kid }

// SignDigest asks KMS to sign a SHA-256 digest; KMS returns a DER signature.
func (s *Signer) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	var out signOutput
	in := signInput{KeyID: s.keyARN, Message: digest, MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256"}
	if err := s.client.Call(ctx, "Sign", in, &out); err != nil {
		return nil, fmt.Errorf("kms sign: %w", err)
	}
	if len(out.Signature) == 0 {
		return nil, fmt.Errorf("kms sign: KMS returned no signature")
	}
	return out.Signature, nil
}

// The members of the KMS shapes that are sent and read, by their wire
// names; blobs ([]byte) travel as base64.
type (
	signInput struct {
		KeyID            string `json:"KeyId"`
		Message          []byte
		MessageType      string
		SigningAlgorithm string
	}
	signOutput struct {
		Signature []byte // DER
	}
	getPublicKeyInput struct {
		KeyID string `json:"KeyId"`
	}
	getPublicKeyOutput struct {
		KeyID     string `json:"KeyId"` // the key's ARN, whatever alias or id was asked for
		KeyUsage  string
		PublicKey []byte // DER SubjectPublicKeyInfo
	}
)

// KeyID is the kid for a KMS key: its key id, the last part of its ARN. Short,
// stable across aliases, and the same on the signing and verifying side.
func KeyID(keyARNOrID string) string {
	if _, id, ok := strings.Cut(keyARNOrID, ":key/"); ok {
		return id
	}
	return keyARNOrID
}

// PublicKeys fetches the public keys of the trusted keys, by kid. The
// authorizer calls it once per cold start and verifies locally after that.
func PublicKeys(ctx context.Context, client API, keyARNs []string) (map[string]*ecdsa.PublicKey, error) {
	keys := make(map[string]*ecdsa.PublicKey, len(keyARNs))
	for _, arn := range keyARNs {
		var out getPublicKeyOutput
		if err := client.Call(ctx, "GetPublicKey", getPublicKeyInput{KeyID: arn}, &out); err != nil {
			return nil, fmt.Errorf("kms get public key %s: %w", arn, err)
		}
		if out.KeyUsage != "SIGN_VERIFY" {
			return nil, fmt.Errorf("kms key %s is for %s, want SIGN_VERIFY", arn, out.KeyUsage)
		}
		pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("kms key %s: %w", arn, err)
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok || ec.Curve != elliptic.P256() {
			return nil, fmt.Errorf("kms key %s is not a P-256 key", arn)
		}
		keys[KeyID(out.KeyID)] = ec
	}
	return keys, nil
}
