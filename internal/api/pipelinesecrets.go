package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/pipelinesecrets"
)

// PipelineSecrets serves the write-only routes that store a plan's secrets.
type PipelineSecrets struct {
	Service *pipelinesecrets.Service
	Now     func() time.Time
}

// Routes are the self-service secret routes of /sandbox-plans.
func (h *PipelineSecrets) Routes() Router {
	return Router{
		"PUT /sandbox-plans/{sandbox}/salesforce-key": h.PutSalesforceKey,
		"POST /sandbox-plans/{sandbox}/dcs-token":     h.NewDCSToken,
	}
}

// storedView is what a self-service route answers: where the secret is,
// never what it holds.
type storedView struct {
	Sandbox     string     `json:"sandbox"`
	SecretARN   string     `json:"secretArn"`
	PlanUpdated bool       `json:"planUpdated"`
	Token       *tokenView `json:"token,omitempty"`
	Rotated     *bool      `json:"rotated,omitempty"`
	Rotation    *struct {
		EveryDays      int `json:"everyDays"`
		OverlapMinutes int `json:"overlapMinutes"`
	} `json:"rotation,omitempty"`
}

// PutSalesforceKey handles PUT /sandbox-plans/{sandbox}/salesforce-key
// {"privateKey": "<PEM>"}: 201 when the secret is new, else 200. Whatever
// is wrong with the body, the answer never quotes it.
func (h *PipelineSecrets) PutSalesforceKey(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		var body struct {
			PrivateKey *string `json:"privateKey"`
		}
		if err := Decode(req, &body); err != nil || body.PrivateKey == nil {
			// Decode's messages name members, and a member's name could be
			// the key itself: this route answers one fixed message.
			return Response{}, invalidBody(`The body must be {"privateKey": "<the PEM private key>"} and nothing else.`)
		}
		sandbox := req.PathParameters["sandbox"]
		stored, err := h.Service.PutSalesforceKey(ctx, p, sandbox, *body.PrivateKey)
		if err != nil {
			return Response{}, err
		}
		return JSON(createdOrOK(stored.Created), storedView{Sandbox: sandbox, SecretARN: stored.SecretARN, PlanUpdated: stored.PlanUpdated}), nil
	})
}

// NewDCSToken handles POST /sandbox-plans/{sandbox}/dcs-token
// {"lifespanDays"?}: 201 with the new token's metadata when it was created,
// 200 when it rotated the one the secret held. The token is in the secret
// only.
func (h *PipelineSecrets) NewDCSToken(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		var body struct {
			LifespanDays json.RawMessage `json:"lifespanDays"`
		}
		if err := Decode(req, &body); err != nil {
			return Response{}, err
		}
		days, err := lifespan(body.LifespanDays)
		if err != nil {
			return Response{}, err
		}
		sandbox := req.PathParameters["sandbox"]
		stored, err := h.Service.NewDCSToken(ctx, p, sandbox, days)
		if err != nil {
			return Response{}, err
		}
		view := (&Tokens{Now: h.Now}).view(*stored.Token)
		out := storedView{Sandbox: sandbox, SecretARN: stored.SecretARN, PlanUpdated: stored.PlanUpdated, Token: &view, Rotated: &stored.Rotated}
		out.Rotation = &struct {
			EveryDays      int `json:"everyDays"`
			OverlapMinutes int `json:"overlapMinutes"`
		}{h.Service.Rotation.Days, h.Service.Rotation.OverlapMinutes}
		return JSON(createdOrOK(!stored.Rotated), out), nil
	})
}

func createdOrOK(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}
