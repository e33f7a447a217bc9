package kmskey

import (
	"context"
	"crypto/ecdsa"
	"time"

	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/env"
)

// SignerFromEnv returns the signer of the create function: the key
// SIGNING_KEY_ID, on KMS in the function's region (or AWS_ENDPOINT_URL_KMS's
// stand-in).
func SignerFromEnv() (*Signer, error) {
	keyARN, err := env.Must("SIGNING_KEY_ID")
	if err != nil {
		return nil, err
	}
	client, err := awsjson.FromEnv(Service)
	if err != nil {
		return nil, err
	}
	return NewSigner(client, keyARN), nil
}

// TrustedKeysFromEnv fetches the public keys of TRUSTED_KEY_IDS (a
// comma-separated list of key ARNs), by kid: what the authorizer verifies
// API tokens with.
func TrustedKeysFromEnv(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	ids, err := env.Must("TRUSTED_KEY_IDS")
	if err != nil {
		return nil, err
	}
	client, err := awsjson.FromEnv(Service)
	if err != nil {
		return nil, err
	}
	return PublicKeys(ctx, client, env.List(ids))
}

// VerifierFromEnv returns the API token verifier of a function that accepts
// API tokens as the authorizer does (the authorizer, leak revocation): the
// issuer TOKEN_ISSUER, and the public keys of TRUSTED_KEY_IDS fetched once.
func VerifierFromEnv(ctx context.Context) (*apitoken.Verifier, error) {
	issuer, err := env.Must("TOKEN_ISSUER")
	if err != nil {
		return nil, err
	}
	keys, err := TrustedKeysFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	return apitoken.NewVerifier(issuer, keys, time.Now), nil
}
