// Command create-token is the Lambda function behind POST /api-tokens and
// POST /api-tokens/{id}/rotate: the API's minting function, so one of the two
// with the issuer and the KMS key (pipeline-secrets, which mints the
// pipeline's token straight into its secret, is the other).
package main

import (
	"errors"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	api.AllowOrigin(env.Or("CONSOLE_ORIGIN", ""))
	store, storeErr := dynamo.FromEnv()
	issuer, issuerErr := env.Must("TOKEN_ISSUER")
	signer, signerErr := kmskey.SignerFromEnv()
	minter := apitoken.Minter{Issuer: issuer, Signer: signer}
	start.Lambda(api.NewTokens(store, minter).Routes().Handle, errors.Join(storeErr, issuerErr, signerErr))
}
