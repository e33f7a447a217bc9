// Command authorizer is the API Gateway Lambda (REQUEST) authorizer of every route.
package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/dcs-access/dcs-access/internal/afterresponse"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/session"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	// Registered before the runtime starts, as Lambda requires; it records
	// tokens' last use after each decision has been answered.
	after, afterErr := afterresponse.Register(context.Background())
	a, err := wire(context.Background())
	if err != nil || afterErr != nil {
		start.Lambda(nil, errors.Join(err, afterErr))
		return
	}
	a.AfterResponse = after.After
	start.Lambda(afterresponse.Wrap(after, a.Handle), nil)
}

// wire fetches the trusted public keys from KMS once, after every setting
// has been read; the OIDC issuer's JWKS is fetched lazily, on first use.
func wire(ctx context.Context) (*authorizer.Authorizer, error) {
	store, err := dynamo.FromEnv()
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, name := range []string{"TOKEN_ISSUER", "OIDC_ISSUER", "OIDC_AUDIENCE"} {
		if vars[name], err = env.Must(name); err != nil {
			return nil, err
		}
	}
	verifier, err := kmskey.VerifierFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	jwksURL := env.Or("OIDC_JWKS_URL", vars["OIDC_ISSUER"]+"/.well-known/jwks.json")
	sessions := session.NewVerifier(session.Config{
		Issuer:      vars["OIDC_ISSUER"],
		Audience:    vars["OIDC_AUDIENCE"],
		EmailClaim:  env.Or("OIDC_EMAIL_CLAIM", "email"),
		TenantClaim: env.Or("OIDC_TENANT_CLAIM", "custom:tenant"),
		// The tenant administrators: a group of the session's groups claim.
		AdminGroupClaim: env.Or("OIDC_ADMIN_GROUP_CLAIM", session.DefaultAdminGroupClaim),
		AdminGroup:      env.Or("OIDC_ADMIN_GROUP", session.DefaultAdminGroup),
	}, session.RemoteKeys(jwksURL), time.Now)
	return &authorizer.Authorizer{
		TokenIssuer: vars["TOKEN_ISSUER"],
		APITokens:   verifier,
		Sessions:    sessions,
		Store:       store,
		Uses:        store,
		Now:         time.Now,
		Log:         slog.Default(),
	}, nil
}
