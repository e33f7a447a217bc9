// Command revoke-leaked-tokens is the Lambda function behind POST
// /api-tokens/revoke, the route without the authorizer: it verifies tokens
// as the authorizer does (the same issuer and trusted keys), deletes the
// valid ones as DELETE /api-tokens/{id} does, and announces each on the
// stack's bus.
package main

import (
	"context"
	"errors"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	store, storeErr := dynamo.FromEnv()
	verifier, verifierErr := kmskey.VerifierFromEnv(context.Background())
	bus, busErr := eventbus.FromEnv()
	start.Lambda(api.NewLeaks(verifier, store, bus).Revoke, errors.Join(storeErr, verifierErr, busErr))
}
