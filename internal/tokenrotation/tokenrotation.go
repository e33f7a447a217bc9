// Package tokenrotation is the Secrets Manager rotation function of the
// sandbox-refresh pipeline's DCS API tokens (docs/pipeline.md, "The
// pipeline's token rotates itself"). Secrets Manager calls it four times per
// rotation, one step each, with the labels AWSPENDING (the version being
// made) and AWSCURRENT (the one readers get):
//
//   - createSecret: rotate the current token through the API with the token
//     itself (POST /api-tokens/{id}/rotate, the rotation's ClientRequestToken
//     as its Idempotency-Key) and store the new token as the AWSPENDING
//     version. The old token keeps working for the overlap.
//   - setSecret: nothing left to do: the service made the new token itself.
//   - testSecret: the new token must pass the authorizer (GET /whoami).
//   - finishSecret: move AWSCURRENT to the new version.
//
// Secrets Manager repeats steps and whole rotations when one fails, so
// every step may run again: createSecret after the rotate call but before
// the new version was stored asks the API again with the same key, which
// answers with the same new token (signed again), so the family is never
// locked and no second token is made. The steps, their checks and the
// event: https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
// and the generic template of aws-samples/aws-secrets-manager-rotation-lambdas
// (SecretsManagerRotationTemplate/lambda_function.py).
package tokenrotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apiclient"
	"github.com/dcs-access/dcs-access/internal/secretversions"
)

// Secrets is the part of Secrets Manager a rotation uses
// (internal/secrets: Manager in AWS, Memory locally).
type Secrets interface {
	Describe(ctx context.Context, id string) (secretversions.Description, error)
	Version(ctx context.Context, id, versionID, stage string) (string, error)
	PutPending(ctx context.Context, id, versionID, value, rotationToken string) error
	Promote(ctx context.Context, id, versionID, from string) error
}

// API is this service's API, called with a token as the bearer.
type API interface {
	WhoAmI(ctx context.Context, bearer string) (apiclient.Caller, error)
	Rotate(ctx context.Context, bearer, id string, overlapMinutes int, key string) (apiclient.Rotated, error)
}

// The steps, as Secrets Manager names them in the event.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// Rotator rotates the token of the secret named in each event.
type Rotator struct {
	Secrets Secrets
	API     API
	// OverlapMinutes is how long the replaced token keeps working: the
	// runs that read it before finishSecret finish with it, and a rotation
	// that fails after createSecret has that long to be retried before
	// the AWSCURRENT token stops working.
	OverlapMinutes int
	Log            *slog.Logger // slog.Default() when nil
}

// Handle runs one step of a rotation. An error fails the step, which
// Secrets Manager retries; no error ever holds a token.
func (r *Rotator) Handle(ctx context.Context, e events.SecretsManagerSecretRotationEvent) error {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("secret", e.SecretID, "step", e.Step, "version", e.ClientRequestToken)
	d, err := r.Secrets.Describe(ctx, e.SecretID)
	if err != nil {
		return err
	}
	// The template's checks: a secret set up for rotation, and a version
	// that Secrets Manager made for this rotation.
	stages, ok := d.Stages[e.ClientRequestToken]
	switch {
	case !d.RotationEnabled:
		return fmt.Errorf("secret %s is not set up for rotation", e.SecretID)
	case e.ClientRequestToken == "" || !ok:
		return fmt.Errorf("secret %s has no version %q to rotate to", e.SecretID, e.ClientRequestToken)
	case slices.Contains(stages, secretversions.Current):
		log.InfoContext(ctx, "the version is already AWSCURRENT: nothing to do")
		return nil
	case !slices.Contains(stages, secretversions.Pending):
		return fmt.Errorf("secret %s version %s is not AWSPENDING", e.SecretID, e.ClientRequestToken)
	}
	switch e.Step {
	case StepCreate:
		return r.create(ctx, log, e)
	case StepSet:
		// The API made the new token in createSecret; there is nothing to
		// set, but there must be a new token to have been set.
		_, err := r.Secrets.Version(ctx, e.SecretID, e.ClientRequestToken, secretversions.Pending)
		return err
	case StepTest:
		return r.test(ctx, log, e)
	case StepFinish:
		return r.finish(ctx, log, e, d)
	}
	return fmt.Errorf("unknown rotation step %q", e.Step)
}

// create rotates the current token and stores the new one as AWSPENDING,
// unless an earlier attempt already did.
func (r *Rotator) create(ctx context.Context, log *slog.Logger, e events.SecretsManagerSecretRotationEvent) error {
	current, err := r.Secrets.Version(ctx, e.SecretID, "", secretversions.Current)
	if err != nil {
		return err
	}
	_, err = r.Secrets.Version(ctx, e.SecretID, e.ClientRequestToken, secretversions.Pending)
	if err == nil {
		log.InfoContext(ctx, "the new token is already stored")
		return nil
	}
	if access.ErrorKind(err) != access.ENOTFOUND {
		return err
	}
	// The current token must work (and says which token it is) before it
	// is replaced: the docs' check that AWSCURRENT is valid.
	caller, err := r.API.WhoAmI(ctx, current)
	if err != nil {
		return fmt.Errorf("the current token does not work: %w", err)
	}
	if caller.AuthType != "api_token" || caller.TokenID == "" {
		return fmt.Errorf("the current value of secret %s is not an API token", e.SecretID)
	}
	rotated, err := r.API.Rotate(ctx, current, caller.TokenID, r.OverlapMinutes, e.ClientRequestToken)
	if err != nil {
		return fmt.Errorf("rotate token %s: %w", caller.TokenID, err)
	}
	if err := r.Secrets.PutPending(ctx, e.SecretID, e.ClientRequestToken, rotated.Token, e.RotationToken); err != nil {
		// The API has made the new token: a repeat of this step asks it
		// again with the same key and gets the same token back.
		return err
	}
	log.InfoContext(ctx, "rotated", "tokenId", caller.TokenID, "newTokenId", rotated.ID, "oldWorksUntil", rotated.Previous.WorksUntil)
	return nil
}

// test checks that the new token passes the authorizer as an API token.
// Secrets Manager also calls this step alone, on a version without a
// value, to check a rotation's configuration when rotation is turned on
// without rotating (RotateImmediately false): then the current token is
// what can be tested.
func (r *Rotator) test(ctx context.Context, log *slog.Logger, e events.SecretsManagerSecretRotationEvent) error {
	token, err := r.Secrets.Version(ctx, e.SecretID, e.ClientRequestToken, secretversions.Pending)
	if access.ErrorKind(err) == access.ENOTFOUND {
		log.InfoContext(ctx, "no new token yet: testing the current one (a configuration check)")
		token, err = r.Secrets.Version(ctx, e.SecretID, "", secretversions.Current)
	}
	if err != nil {
		return err
	}
	caller, err := r.API.WhoAmI(ctx, token)
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) {
		return fmt.Errorf("the new token does not work: %w", err)
	}
	if err != nil {
		return err
	}
	if caller.AuthType != "api_token" || caller.TokenID == "" {
		return fmt.Errorf("the new value of secret %s is not an API token", e.SecretID)
	}
	log.InfoContext(ctx, "the token works", "tokenId", caller.TokenID)
	return nil
}

// finish makes the new version AWSCURRENT, never a version without a token.
func (r *Rotator) finish(ctx context.Context, log *slog.Logger, e events.SecretsManagerSecretRotationEvent, d secretversions.Description) error {
	if _, err := r.Secrets.Version(ctx, e.SecretID, e.ClientRequestToken, secretversions.Pending); err != nil {
		return fmt.Errorf("no new token to make current: %w", err)
	}
	from := d.CurrentVersion()
	if err := r.Secrets.Promote(ctx, e.SecretID, e.ClientRequestToken, from); err != nil {
		return err
	}
	log.InfoContext(ctx, "the new token is AWSCURRENT", "previousVersion", from)
	return nil
}
