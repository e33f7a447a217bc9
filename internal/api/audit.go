package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
)

// Audit serves GET /audit-events: the tenant's audit trail.
type Audit struct {
	Lister *audit.Lister
}

// NewAudit serves the audit trail from store.
func NewAudit(store audit.Store) *Audit { return &Audit{Lister: &audit.Lister{Store: store}} }

// List handles GET /audit-events?action=&since=&until=&limit=&nextToken=:
// one page of the tenant's events, newest first, shaped as the token list
// is ({"items", "nextToken"?}); each item is the event as the bus carries it.
func (h *Audit) List(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		params := req.QueryStringParameters
		q := audit.Query{Action: audit.Action(params["action"]), Cursor: params["nextToken"]}
		if s, ok := params["limit"]; ok {
			var err error
			if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 {
				return Response{}, audit.ErrInvalidLimit()
			}
		}
		for _, bound := range []struct {
			name string
			at   *time.Time
		}{{"since", &q.Since}, {"until", &q.Until}} {
			if s := params[bound.name]; s != "" {
				t, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					return Response{}, audit.ErrInvalidTime(bound.name)
				}
				*bound.at = t
			}
		}
		page, err := h.Lister.List(ctx, p, q)
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusOK, struct {
			Items     []audit.Event `json:"items"`
			NextToken string        `json:"nextToken,omitempty"`
		}{Items: append(make([]audit.Event, 0, len(page.Items)), page.Items...), NextToken: page.Next}), nil
	})
}
