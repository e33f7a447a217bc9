// Command introspect-token is the Lambda function behind POST
// /oauth/introspect (RFC 7662): it makes the authorizer's own decision on
// the API token it is asked about, with the authorizer's code, table read
// and trusted keys, and answers whether that token is active.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	api.AllowOrigin(env.Or("CONSOLE_ORIGIN", ""))
	h, err := wire(context.Background())
	start.Lambda(h, err)
}

// wire builds the authorizer without sessions: introspection answers for
// API tokens only (a session is not this service's token: inactive).
func wire(ctx context.Context) (api.Handler, error) {
	store, err := dynamo.FromEnv()
	if err != nil {
		return nil, err
	}
	issuer, err := env.Must("TOKEN_ISSUER")
	if err != nil {
		return nil, err
	}
	keys, err := kmskey.TrustedKeysFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	tokens := &authorizer.Authorizer{
		TokenIssuer: issuer,
		APITokens:   apitoken.NewVerifier(issuer, keys, time.Now),
		Store:       store,
		Now:         time.Now,
		Log:         slog.Default(),
	}
	return (&api.Introspection{Tokens: tokens}).Introspect, nil
}
