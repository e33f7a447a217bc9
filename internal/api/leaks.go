package api

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/tokens"
)

// Leaks serves POST /api-tokens/revoke, the one token route without the
// authorizer: whoever finds a token in a log or a repository may revoke it.
type Leaks struct {
	Service *tokens.Leaks
}

type leakReport struct {
	Tokens []string `json:"tokens"`
}

// LeakAnswer is the body of every 202 of POST /api-tokens/revoke: it says
// nothing of which tokens were valid.
const LeakAnswer = `{"message":"Any API token of this service among these is now revoked, and its owner told."}`

// Revoke handles POST /api-tokens/revoke {"tokens": [...]}. A body that is
// not such a list of 1 to 100 strings is a 400, which tells nothing about
// any token; every such list is a 202 with the same body.
func (h *Leaks) Revoke(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	ctx = withAuditRequest(ctx, req) // the reporter, anonymous, is known by its request
	var body leakReport
	if err := Decode(req, &body); err != nil {
		return Error(ctx, err), nil
	}
	if err := h.Service.Revoke(ctx, body.Tokens); err != nil {
		return Error(ctx, err), nil
	}
	return Response{StatusCode: http.StatusAccepted, Headers: headers(), Body: LeakAnswer}, nil
}
