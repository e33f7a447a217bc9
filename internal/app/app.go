// Package app wires the Lambda functions from their environment, once per
// cold start, so each functions/<name>/main.go stays a few lines.
package app

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/session"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// Start runs handler as the Lambda function, or exits when wiring failed, so
// a misconfigured function fails its cold start loudly instead of serving.
func Start(handler any, err error) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	if err != nil {
		slog.Error("cold start failed", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}

// NewID returns a new token id: a UUIDv7, time-ordered so listings sort newest first.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

func store(ctx context.Context) (*dynamo.Store, aws.Config, error) {
	cfg, err := awsconfig.Load()
	if err != nil {
		return nil, cfg, err
	}
	table, err := env.Must("TABLE_NAME")
	if err != nil {
		return nil, cfg, err
	}
	return dynamo.New(dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = awsconfig.Endpoint("DynamoDB") }), table, time.Now), cfg, nil
}

// CreateToken wires POST /api-tokens: the only function that mints, so the
// only one that needs the issuer and the KMS key.
func CreateToken(ctx context.Context) (*api.Tokens, error) {
	st, cfg, err := store(ctx)
	if err != nil {
		return nil, err
	}
	issuer, err := env.Must("TOKEN_ISSUER")
	if err != nil {
		return nil, err
	}
	keyARN, err := env.Must("SIGNING_KEY_ID")
	if err != nil {
		return nil, err
	}
	minter := apitoken.Minter{Issuer: issuer, Signer: kmskey.NewSigner(kmsClient(cfg), keyARN)}
	return tokenAPI(st, minter), nil
}

// ListTokens wires GET /api-tokens.
func ListTokens(ctx context.Context) (*api.Tokens, error) {
	st, _, err := store(ctx)
	if err != nil {
		return nil, err
	}
	return tokenAPI(st, nil), nil
}

// DeleteToken wires DELETE /api-tokens/{id}.
func DeleteToken(ctx context.Context) (*api.Tokens, error) { return ListTokens(ctx) }

func tokenAPI(st tokens.Store, minter tokens.Minter) *api.Tokens {
	return &api.Tokens{Service: &tokens.Service{Store: st, Minter: minter, Now: time.Now, NewID: NewID}, Now: time.Now}
}

// Authorizer wires the authorizer: the trusted public keys are fetched from
// KMS here, once, and the OIDC issuer's JWKS lazily on first use.
func Authorizer(ctx context.Context) (*authorizer.Authorizer, error) {
	st, cfg, err := store(ctx)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, name := range []string{"TOKEN_ISSUER", "TRUSTED_KEY_IDS", "OIDC_ISSUER", "OIDC_AUDIENCE"} {
		if vars[name], err = env.Must(name); err != nil {
			return nil, err
		}
	}
	keys, err := kmskey.PublicKeys(ctx, kmsClient(cfg), env.List(vars["TRUSTED_KEY_IDS"]))
	if err != nil {
		return nil, err
	}
	jwksURL := env.Or("OIDC_JWKS_URL", vars["OIDC_ISSUER"]+"/.well-known/jwks.json")
	sessions := session.NewVerifier(session.Config{
		Issuer:      vars["OIDC_ISSUER"],
		Audience:    vars["OIDC_AUDIENCE"],
		EmailClaim:  env.Or("OIDC_EMAIL_CLAIM", "email"),
		TenantClaim: env.Or("OIDC_TENANT_CLAIM", "custom:tenant"),
	}, oidc.NewRemoteKeySet(context.Background(), jwksURL), time.Now)
	return &authorizer.Authorizer{
		TokenIssuer: vars["TOKEN_ISSUER"],
		APITokens:   apitoken.NewVerifier(vars["TOKEN_ISSUER"], keys, time.Now),
		Sessions:    sessions,
		Store:       st,
		Now:         time.Now,
		Log:         slog.Default(),
	}, nil
}

func kmsClient(cfg aws.Config) *kms.Client {
	return kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = awsconfig.Endpoint("KMS") })
}
