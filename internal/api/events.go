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
