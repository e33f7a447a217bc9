package api

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/strictjson"
)

// decodeDetail reads an event's detail as strictly as Decode reads a body:
// whoever may put events on the bus is no more trusted than a caller.
func decodeDetail(raw json.RawMessage, v any) error {
	return strictjson.Unmarshal(raw, v)
}

func logDropped(ctx context.Context, e events.EventBridgeEvent, why string) {
	slog.WarnContext(ctx, "refresh request dropped", "eventId", e.ID, "source", e.Source, "reason", why)
}

func logStarted(ctx context.Context, run runs.Run, created bool) {
	slog.InfoContext(ctx, "refresh requested", "runId", run.ID, "tenant", run.Tenant, "sandbox", run.Sandbox, "new", created)
}

// Router serves several routes from one function, by API Gateway resource.
type Router map[string]Handler

// Handle dispatches on "METHOD resource" (for example "GET /sandbox-plans/{sandbox}").
func (r Router) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	if h, ok := r[req.HTTPMethod+" "+req.Resource]; ok {
		return h(ctx, req)
	}
	return Error(ctx, access.Errorf(access.ENOTFOUND, "NOT_FOUND", "No such route.")), nil
}

// EventOrRequest serves a function that API Gateway and EventBridge both
// invoke: an event (it has a detail-type) goes to onEvent, anything else is
// an API Gateway proxy request for routes.
func EventOrRequest(routes Router, onEvent func(context.Context, events.EventBridgeEvent) error) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			DetailType string `json:"detail-type"`
		}
		_ = json.Unmarshal(raw, &probe)
		if probe.DetailType != "" {
			var e events.EventBridgeEvent
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, err
			}
			return nil, onEvent(ctx, e)
		}
		var req events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		return routes.Handle(ctx, req)
	}
}
