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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/dcs-access/dcs-access/internal/apitoken"
)

// SignAPI is the KMS call the signer uses.
type SignAPI interface {
	Sign(ctx context.Context, in *kms.SignInput, opts ...func(*kms.Options)) (*kms.SignOutput, error)
}

// PublicKeyAPI is the KMS call the verifier side uses.
type PublicKeyAPI interface {
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, opts ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// Signer signs token digests with one KMS key.
type Signer struct {
	client SignAPI
	keyARN string
	kid    string
}

var _ apitoken.Signer = (*Signer)(nil)

// NewSigner signs with the key keyARN (a key ARN or key id).
func NewSigner(client SignAPI, keyARN string) *Signer {
	return &Signer{client: client, keyARN: keyARN, kid: KeyID(keyARN)}
}

// KeyID returns the JWT kid of the key.
func (s *Signer) KeyID() string { return s.kid }

// SignDigest asks KMS to sign a SHA-256 digest; KMS returns a DER signature.
func (s *Signer) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	out, err := s.client.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.keyARN),
		Message:          digest,
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
	})
	if err != nil {
		return nil, fmt.Errorf("kms sign: %w", err)
	}
	return out.Signature, nil
}

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
func PublicKeys(ctx context.Context, client PublicKeyAPI, keyARNs []string) (map[string]*ecdsa.PublicKey, error) {
	keys := make(map[string]*ecdsa.PublicKey, len(keyARNs))
	for _, arn := range keyARNs {
		out, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(arn)})
		if err != nil {
			return nil, fmt.Errorf("kms get public key %s: %w", arn, err)
		}
		if out.KeyUsage != types.KeyUsageTypeSignVerify {
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
		keys[KeyID(aws.ToString(out.KeyId))] = ec
	}
	return keys, nil
}
