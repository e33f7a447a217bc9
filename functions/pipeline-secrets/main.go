// Command pipeline-secrets is the Lambda function behind the write-only
// routes that store a refresh plan's secrets: PUT
// /sandbox-plans/{sandbox}/salesforce-key and POST
// /sandbox-plans/{sandbox}/dcs-token. The second mints the pipeline's API
// token straight into its secret, so this is the one function besides
// create-token with the issuer and the signing key.
package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/pipelinesecrets"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/start"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

func main() {
	api.AllowOrigin(env.Or("CONSOLE_ORIGIN", ""))
	store, storeErr := dynamo.FromEnv()
	issuer, issuerErr := env.Must("TOKEN_ISSUER")
	signer, signerErr := kmskey.SignerFromEnv()
	sm, smErr := secrets.FromEnv()
	rotation, rotationErr := rotationFromEnv()
	service := &pipelinesecrets.Service{
		Secrets: sm, Plans: store, Policies: store, Rotation: rotation,
		Tokens: &tokens.Service{Store: store, Rotations: store, Minter: apitoken.Minter{Issuer: issuer, Signer: signer}, Now: time.Now, NewID: tokens.NewID},
	}
	h := &api.PipelineSecrets{Service: service, Now: time.Now}
	start.Lambda(h.Routes().Handle, errors.Join(storeErr, issuerErr, signerErr, smErr, rotationErr))
}

// rotationFromEnv is how the pipeline's token secrets rotate: by the
// function ROTATION_FUNCTION_ARN, every ROTATION_DAYS days, the replaced
// token working ROTATION_OVERLAP_MINUTES more.
func rotationFromEnv() (pipelinesecrets.Rotation, error) {
	arn, arnErr := env.Must("ROTATION_FUNCTION_ARN")
	days, daysErr := env.Must("ROTATION_DAYS")
	overlap, overlapErr := env.Must("ROTATION_OVERLAP_MINUTES")
	if err := errors.Join(arnErr, daysErr, overlapErr); err != nil {
		return pipelinesecrets.Rotation{}, err
	}
	r := pipelinesecrets.Rotation{FunctionARN: arn}
	var err error
	if r.Days, err = wholeNumber("ROTATION_DAYS", days); err != nil {
		return r, err
	}
	r.OverlapMinutes, err = wholeNumber("ROTATION_OVERLAP_MINUTES", overlap)
	return r, err
}

func wholeNumber(name, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a whole number", name, v)
	}
	return n, nil
}
