// Command public-keys is the Lambda function behind GET
// /.well-known/jwks.json, without the authorizer: the JWK Set of the trusted
// signing keys, fetched from KMS once per cold start, as the authorizer
// fetches the keys it verifies with (the same TRUSTED_KEY_IDS).
package main

import (
	"context"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	start.Lambda(wire(context.Background()))
}

func wire(ctx context.Context) (api.Handler, error) {
	keys, err := kmskey.TrustedKeysFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	return api.PublicKeys(keys)
}
