// Package app wires the Lambda functions from their environment, once per
// cold start, so each functions/<name>/main.go stays a few lines.
package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/pipeline"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/schedules"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/session"
	"github.com/dcs-access/dcs-access/internal/stepfunctions"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// Start runs handler as the Lambda function, or exits when wiring failed, so
// a misconfigured function fails its cold start loudly instead of serving.
func Start(handler any, err error) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	api.AllowOrigin(env.Or("CONSOLE_ORIGIN", ""))
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

// Plans wires the /sandbox-plans routes (one function).
func Plans(ctx context.Context) (api.Router, error) {
	st, cfg, err := store(ctx)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, name := range []string{"SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN", "EVENT_BUS_ARN"} {
		if vars[name], err = env.Must(name); err != nil {
			return nil, err
		}
	}
	sched := schedules.Scheduler{
		API:   scheduler.NewFromConfig(cfg, func(o *scheduler.Options) { o.BaseEndpoint = awsconfig.Endpoint("Scheduler") }),
		Group: vars["SCHEDULE_GROUP"], RoleARN: vars["SCHEDULER_ROLE_ARN"], BusARN: vars["EVENT_BUS_ARN"],
	}
	steps := pipelineSteps(cfg)
	return PlanRoutes(st, sched, steps.Validator, steps), nil
}

// PlanRoutes serves plans on store, each checked against Salesforce by
// checker before it is stored. The local stack shares it.
func PlanRoutes(st *dynamo.Store, sched plans.Schedules, v plans.Validator, checker plans.Checker) api.Router {
	h := &api.Plans{Service: &plans.Service{Store: st, Schedules: sched, Validator: v, Checker: checker, Now: time.Now}}
	return api.Router{
		"PUT /sandbox-plans/{sandbox}":    h.Put,
		"GET /sandbox-plans/{sandbox}":    h.Get,
		"GET /sandbox-plans":              h.List,
		"DELETE /sandbox-plans/{sandbox}": h.Delete,
	}
}

// Refreshes wires the /sandbox-refreshes routes and the "Sandbox Refresh
// Requested" events (one function, as an EventBridge target cannot name the
// execution: the function does).
func Refreshes(ctx context.Context) (func(context.Context, json.RawMessage) (any, error), error) {
	st, cfg, err := store(ctx)
	if err != nil {
		return nil, err
	}
	machineARN, err := env.Must("STATE_MACHINE_ARN")
	if err != nil {
		return nil, err
	}
	busName, err := env.Must("EVENT_BUS_NAME")
	if err != nil {
		return nil, err
	}
	client := sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = awsconfig.Endpoint("SFN") })
	bus := eventbus.Bus{Name: busName, API: eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = awsconfig.Endpoint("EventBridge") })}
	return api.EventOrRequest(RunRoutes(st, stepfunctions.New(client, machineARN), bus)), nil
}

// RunRoutes serves runs on store and machine: the routes, and the handler of
// "Sandbox Refresh Requested" events. The local stack shares it.
func RunRoutes(st *dynamo.Store, machine runs.Machine, bus runs.Publisher) (api.Router, func(context.Context, events.EventBridgeEvent) error) {
	h := &api.Runs{Service: &runs.Service{Store: st, Plans: st, Machine: machine, Publisher: bus, Now: time.Now, RandomID: RandomSuffix}}
	return api.Router{
		"POST /sandbox-refreshes":              h.Start,
		"GET /sandbox-refreshes":               h.List,
		"GET /sandbox-refreshes/{id}":          h.Get,
		"POST /sandbox-refreshes/{id}/redrive": h.Redrive,
	}, h.HandleEvent
}

// RandomSuffix is six random lower-case hex digits, for run ids.
func RandomSuffix() string { return strings.ReplaceAll(uuid.NewString(), "-", "")[:6] }

// PipelineSteps wires the state machine's task handler.
func PipelineSteps(_ context.Context) (*pipeline.Steps, error) {
	cfg, err := awsconfig.Load()
	if err != nil {
		return nil, err
	}
	return pipelineSteps(cfg), nil
}

// pipelineSteps are the steps on Secrets Manager and the real Salesforce and
// DCS: the pipeline's, and the plans function's checks.
func pipelineSteps(cfg aws.Config) *pipeline.Steps {
	client := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = awsconfig.Endpoint("Secrets Manager") })
	return &pipeline.Steps{
		Secrets: secrets.Manager{API: client},
		Connect: func(ctx context.Context, c salesforce.Config) (pipeline.Org, error) {
			return salesforce.Connect(ctx, c)
		},
		NewDCS:    func(c dcs.Config) (pipeline.MaskingJobs, error) { return dcs.New(c) },
		Validator: plans.Validator{SecretPrefix: plans.SecretPrefix},
		Now:       time.Now,
	}
}
