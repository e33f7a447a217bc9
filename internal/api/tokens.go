package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// Tokens serves the /api-tokens routes.
type Tokens struct {
	Service *tokens.Service
	Now     func() time.Time
}

type createRequest struct {
	Description  *string         `json:"description"`
	LifespanDays json.RawMessage `json:"lifespanDays"`
	Scopes       *[]string       `json:"scopes"` // absent or null: every scope
}

// tokenView is a token as the API shows it.
type tokenView struct {
	ID             string  `json:"id"`
	Description    string  `json:"description"`
	AssociatedUser string  `json:"associatedUser"`
	CreatedAt      string  `json:"createdAt"`
	ExpiresAt      *string `json:"expiresAt"`
	Status         string  `json:"status"`
	StatusText     string  `json:"statusText"`
	// ExpiresInDays is set while an enabled token expires within
	// notices.WarnDays UTC calendar days (0: today), for a client to warn.
	ExpiresInDays *int `json:"expiresInDays,omitempty"`
	// Scopes are what the token may do (for a token created before scopes
	// existed, what it is granted: access.LegacyScopes).
	Scopes []access.Scope `json:"scopes"`
	// null until the authorizer first allows the token (at most one record
	// every 5 minutes: internal/authorizer).
	LastUsedAt   *string `json:"lastUsedAt"`
	LastUsedIP   *string `json:"lastUsedIp"`
	LastUsedText string  `json:"lastUsedText"`
	rotationView
	// OutsidePolicy is set in the list for a token made before the tenant
	// policy that it breaks (it keeps working): each way, as words
	// ("lifespan of 365 days exceeds the maximum of 90"). A created or
	// rotated token is always within the policy.
	OutsidePolicy []string `json:"outsidePolicy,omitempty"`
}

func (h *Tokens) view(t access.Token) tokenView {
	now := h.Now()
	v := tokenView{
		ID: t.ID, Description: t.Description, AssociatedUser: t.AssociatedUser,
		CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339),
		Status:    tokens.Status(t, now), StatusText: tokens.StatusText(t, now),
		Scopes: t.GrantedScopes(),
	}
	if t.ExpiresAt != nil {
		s := t.ExpiresAt.UTC().Format(time.RFC3339)
		v.ExpiresAt = &s
	}
	if days, soon := tokens.ExpiresInDays(t, now); soon {
		v.ExpiresInDays = &days
	}
	v.LastUsedText = tokens.LastUsedText(t)
	if t.LastUsedAt != nil {
		s := t.LastUsedAt.UTC().Format(time.RFC3339)
		v.LastUsedAt = &s
	}
	if t.LastUsedIP != "" {
		v.LastUsedIP = &t.LastUsedIP
	}
	v.rotationView = rotationViewOf(t)
	return v
}

// Create handles POST /api-tokens.
func (h *Tokens) Create(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		var body createRequest
		if err := Decode(req, &body); err != nil {
			return Response{}, err
		}
		days, err := lifespan(body.LifespanDays)
		if err != nil {
			return Response{}, err
		}
		in := tokens.CreateInput{LifespanDays: days, Scopes: body.Scopes}
		if body.Description != nil {
			in.Description = *body.Description
		}
		created, err := h.Service.Create(ctx, p, in)
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusCreated, struct {
			Token string `json:"token"`
			tokenView
		}{created.Secret, h.view(created.Token)}), nil
	})
}

// lifespan accepts only a JSON integer or null: "7", 1.5 and true are refused
// rather than coerced.
func lifespan(raw json.RawMessage) (*int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < tokens.MinLifespanDays || n > tokens.MaxLifespanDays {
		return nil, tokens.ErrInvalidLifespan()
	}
	return &n, nil
}

// List handles GET /api-tokens?limit=&nextToken=.
func (h *Tokens) List(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		limit := 0
		if s, ok := req.QueryStringParameters["limit"]; ok {
			var err error
			if limit, err = strconv.Atoi(s); err != nil || limit < 1 {
				return Response{}, access.Errorf(access.EINVALID, "INVALID_LIMIT", "limit must be a whole number from 1 to %d.", tokens.MaxPageSize)
			}
		}
		page, err := h.Service.List(ctx, p, limit, req.QueryStringParameters["nextToken"])
		if err != nil {
			return Response{}, err
		}
		out := struct {
			Items     []tokenView `json:"items"`
			NextToken string      `json:"nextToken,omitempty"`
		}{Items: make([]tokenView, 0, len(page.Items)), NextToken: page.Next}
		for _, t := range page.Items {
			v := h.view(t)
			for _, violation := range page.Policy.Violations(t) {
				v.OutsidePolicy = append(v.OutsidePolicy, violation.Text)
			}
			out.Items = append(out.Items, v)
		}
		return JSON(http.StatusOK, out), nil
	})
}

// Delete handles DELETE /api-tokens/{id}.
func (h *Tokens) Delete(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		if err := h.Service.Delete(ctx, p, req.PathParameters["id"]); err != nil {
			return Response{}, err
		}
		return NoContent(), nil
	})
}

// WhoAmI handles GET /whoami: what a script calls to check its token, and
// the console to know whether the user administers the tenant.
func WhoAmI(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		return JSON(http.StatusOK, struct {
			User     string         `json:"user"`
			Tenant   string         `json:"tenant"`
			AuthType string         `json:"authType"`
			TokenID  string         `json:"tokenId,omitempty"`
			Scopes   []access.Scope `json:"scopes"`
			Admin    bool           `json:"admin"` // never for an API token
		}{p.User, p.Tenant, string(p.AuthType), p.TokenID, p.Scopes, p.TenantAdmin()}), nil
	})
}
