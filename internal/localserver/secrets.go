package localserver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apiclient"
	"github.com/dcs-access/dcs-access/internal/pipelinesecrets"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/tokenrotation"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// LocalRotation is how the local stack's pipeline token secrets rotate: on
// the template's default schedule (which nothing here runs: POST
// /local/secrets/rotate does one rotation when asked) with a shorter
// overlap.
var LocalRotation = pipelinesecrets.Rotation{
	FunctionARN:    "arn:aws:lambda:us-east-1:000000000000:function:local-dcs-token-rotation",
	Days:           30,
	OverlapMinutes: 60,
}

// pipelineSecrets is the local stack's PipelineSecretsFunction: the
// write-only routes that store a plan's secrets, in memory.
func (s *Server) pipelineSecrets(tokenService *tokens.Service) *api.PipelineSecrets {
	return &api.PipelineSecrets{Service: &pipelinesecrets.Service{Secrets: s.Secrets, Tokens: tokenService, Plans: s.Store, Policies: s.Store, Rotation: LocalRotation}, Now: time.Now}
}

// localRotation serves the local stand-in for a Secrets Manager rotation of
// the pipeline's token, which calls this server's API at baseURL.
func (s *Server) localRotation(g *Gateway, baseURL string) error {
	if baseURL == "" {
		return nil // no server to call back: no local rotation
	}
	client, err := apiclient.New(baseURL, 10*time.Second)
	if err != nil {
		return err
	}
	rotator := &tokenrotation.Rotator{Secrets: s.Secrets, API: client, OverlapMinutes: LocalRotation.OverlapMinutes}
	g.Route("POST", "/local/secrets/rotate", rotateRoute(s.Secrets, rotator))
	return nil
}

// rotateRoute is POST /local/secrets/rotate {"secretArn"}: what Secrets
// Manager does when a rotation is due (or when an operator runs aws
// secretsmanager rotate-secret): it starts the rotation (a version without
// a value, labelled AWSPENDING) and calls the rotation function once per
// step, here in this process, against this server's API. Only the caller's
// tenant's secrets, and only secrets with rotation turned on.
func rotateRoute(mem *secrets.Memory, rotator *tokenrotation.Rotator) api.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest) (api.Response, error) {
		p, err := api.Principal(req)
		if err != nil {
			return api.Error(ctx, err), nil
		}
		var body struct {
			SecretARN string `json:"secretArn"`
		}
		if err := api.Decode(req, &body); err != nil {
			return api.Error(ctx, err), nil
		}
		d, err := mem.Describe(ctx, body.SecretARN)
		if err != nil || !strings.HasPrefix(d.Name, plans.SecretPrefix+p.Tenant+"/") {
			return api.Error(ctx, access.Errorf(access.ENOTFOUND, "SECRET_NOT_FOUND", "Your tenant has no secret with this ARN.")), nil
		}
		token, err := mem.StartRotation(ctx, d.ARN)
		if err != nil {
			return api.Error(ctx, err), nil
		}
		for _, step := range []string{tokenrotation.StepCreate, tokenrotation.StepSet, tokenrotation.StepTest, tokenrotation.StepFinish} {
			e := events.SecretsManagerSecretRotationEvent{Step: step, SecretID: d.ARN, ClientRequestToken: token}
			if err := rotator.Handle(ctx, e); err != nil {
				// As in AWS, the rotation stays pending; asking again retries
				// it. The API's refusal (a token the tenant policy no longer
				// allows, say) is what the caller can act on: it holds no token.
				msg := "The rotation failed at " + step + "; see the server's log."
				var refused *apiclient.Error
				if errors.As(err, &refused) {
					msg = "The rotation failed at " + step + ": " + refused.Error()
				}
				return api.Error(ctx, &access.Error{Kind: access.ECONFLICT, Code: "ROTATION_FAILED", Message: msg, Err: err}), nil
			}
		}
		return api.JSON(http.StatusOK, map[string]string{"secretArn": d.ARN, "versionId": token}), nil
	}
}
