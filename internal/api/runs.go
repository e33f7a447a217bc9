package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/header"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// Runs serves the /sandbox-refreshes routes.
type Runs struct {
	Service *runs.Service
}

// Start handles POST /sandbox-refreshes {"sandbox"}: 202 with the run. An
// Idempotency-Key header makes a retried request return the same run.
func (h *Runs) Start(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		var body struct {
			Sandbox string `json:"sandbox"`
		}
		if err := Decode(req, &body); err != nil {
			return Response{}, err
		}
		if body.Sandbox == "" {
			return Response{}, access.Errorf(access.EINVALID, "INVALID_BODY", `The body must name the sandbox: {"sandbox": "uat1"}.`)
		}
		key := header.Get(req.Headers, "Idempotency-Key")
		if len(key) > 128 {
			return Response{}, access.Errorf(access.EINVALID, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be at most 128 characters.")
		}
		run, _, err := h.Service.Start(ctx, runs.Request{Tenant: p.Tenant, Sandbox: body.Sandbox, By: p.User, Actor: audit.ActorOf(p), Source: "api", Key: key})
		if err != nil {
			return Response{}, err
		}
		resp := JSON(http.StatusAccepted, run.View(h.Service.Now()))
		resp.Headers["Location"] = "/sandbox-refreshes/" + run.ID
		return resp, nil
	})
}

// Get handles GET /sandbox-refreshes/{id}.
func (h *Runs) Get(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		run, err := h.Service.Get(ctx, p.Tenant, req.PathParameters["id"])
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusOK, run.View(h.Service.Now())), nil
	})
}

// List handles GET /sandbox-refreshes?sandbox=&limit=.
func (h *Runs) List(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		limit := runs.DefaultListLimit
		if s, ok := req.QueryStringParameters["limit"]; ok {
			var err error
			if limit, err = strconv.Atoi(s); err != nil {
				limit = 0 // not a number: the service's limit check says why
			}
		}
		list, err := h.Service.List(ctx, p.Tenant, req.QueryStringParameters["sandbox"], limit)
		if err != nil {
			return Response{}, err
		}
		now := h.Service.Now()
		items := make([]runs.View, 0, len(list))
		for _, run := range list {
			items = append(items, run.View(now))
		}
		return JSON(http.StatusOK, struct {
			Items []runs.View `json:"items"`
		}{items}), nil
	})
}

// Redrive handles POST /sandbox-refreshes/{id}/redrive.
func (h *Runs) Redrive(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		run, err := h.Service.Redrive(ctx, audit.ActorOf(p), p.Tenant, req.PathParameters["id"])
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusAccepted, run.View(h.Service.Now())), nil
	})
}

// Requested is the EventBridge event that asks for a refresh.
type Requested struct {
	Tenant  string `json:"tenant"`
	Sandbox string `json:"sandbox"`
}

// Event detail types the runs function is the target of.
const (
	DetailRequested     = runs.DetailRequested
	DetailStatusChanged = "Step Functions Execution Status Change"
)

// HandleEvent handles the runs function's events: "Sandbox Refresh
// Requested" (from a rule, or a plan's schedule) starts a run, whose id
// derives from the event id so a redelivered event starts nothing new; Step
// Functions' status changes announce how runs ended. Errors a retry cannot
// fix are logged and dropped; the rest are returned so that the event is
// delivered again.
func (h *Runs) HandleEvent(ctx context.Context, e events.EventBridgeEvent) error {
	// The changes an event makes (a run started, a run's end) name it in
	// their audit events.
	ctx = audit.WithRequest(ctx, audit.NewRequest("", "", e.ID))
	switch e.DetailType {
	case DetailRequested:
		return h.requested(ctx, e)
	case DetailStatusChanged:
		var change runs.StatusChange
		if err := json.Unmarshal(e.Detail, &change); err != nil {
			logDropped(ctx, e, "the detail is not a status change")
			return nil
		}
		err := h.Service.Notify(ctx, change)
		if access.ErrorKind(err) == access.EINVALID {
			logDropped(ctx, e, access.AsError(err).Message)
			return nil
		}
		return err
	}
	logDropped(ctx, e, "unknown detail-type "+e.DetailType)
	return nil
}

func (h *Runs) requested(ctx context.Context, e events.EventBridgeEvent) error {
	var d Requested
	if err := decodeDetail(e.Detail, &d); err != nil || d.Tenant == "" || d.Sandbox == "" {
		logDropped(ctx, e, "the detail must be {\"tenant\",\"sandbox\"}")
		return nil
	}
	run, created, err := h.Service.Start(ctx, runs.Request{Tenant: d.Tenant, Sandbox: d.Sandbox, By: e.Source,
		Actor: audit.Actor{Type: audit.ActorEvent, Source: e.Source}, Source: "event", Key: e.ID, At: e.Time})
	if err != nil {
		if k := access.ErrorKind(err); k == access.EINTERNAL || k == access.EUNAVAILABLE {
			return err
		}
		// Nothing to retry, but teams should know a (scheduled) refresh did not happen.
		logDropped(ctx, e, access.AsError(err).Message)
		return h.Service.Publisher.Publish(ctx, runs.DetailSkipped, runs.Skipped{
			Tenant: d.Tenant, Sandbox: d.Sandbox, EventID: e.ID, Code: access.AsError(err).Code, Reason: access.AsError(err).Message})
	}
	logStarted(ctx, run, created)
	return nil
}
