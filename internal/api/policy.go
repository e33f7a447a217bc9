package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/tenantpolicy"
)

// TenantPolicy serves GET and PUT /tenant-policy.
type TenantPolicy struct {
	Service *tenantpolicy.Service
}

// policyView is a policy as the API shows it, and as a PUT sends it back
// (the version it was read at included, which makes the change conditional).
type policyView struct {
	MaxLifespanDays *int           `json:"maxLifespanDays"`
	RequireExpiry   bool           `json:"requireExpiry"`
	AllowedScopes   []access.Scope `json:"allowedScopes"`
	OwnerOnlyDelete bool           `json:"ownerOnlyDelete"`
	Version         int            `json:"version"`
}

func viewOfPolicy(p access.Policy) policyView {
	return policyView{MaxLifespanDays: p.MaxLifespanDays, RequireExpiry: p.RequireExpiry, AllowedScopes: p.AllowedScopes, OwnerOnlyDelete: p.OwnerOnlyDelete, Version: p.Version}
}

// putPolicyRequest is a PUT's body: every limit is required (a PUT
// replaces the policy, and a limit left out must not silently become the
// default), the version is not.
type putPolicyRequest struct {
	MaxLifespanDays json.RawMessage `json:"maxLifespanDays"` // a whole number, or null for none
	RequireExpiry   *bool           `json:"requireExpiry"`
	AllowedScopes   *[]string       `json:"allowedScopes"`
	OwnerOnlyDelete *bool           `json:"ownerOnlyDelete"`
	Version         json.RawMessage `json:"version"`
}

// Routes are the function's routes.
func (h *TenantPolicy) Routes() Router {
	return Router{
		"GET /tenant-policy": h.Get,
		"PUT /tenant-policy": h.Put,
	}
}

// Get handles GET /tenant-policy: the default policy (version 0) when the
// tenant's administrators set none.
func (h *TenantPolicy) Get(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		pol, err := h.Service.Get(ctx, p)
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusOK, viewOfPolicy(pol)), nil
	})
}

// Put handles PUT /tenant-policy: 200 with the policy as stored. Whether
// the caller may is answered before the body is read, so that a caller who
// may not learns nothing from it.
func (h *TenantPolicy) Put(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		if err := tenantpolicy.MayChange(p); err != nil {
			return Response{}, err
		}
		in, err := policyInput(req)
		if err != nil {
			return Response{}, err
		}
		pol, err := h.Service.Put(ctx, p, in)
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusOK, viewOfPolicy(pol)), nil
	})
}

// policyInput reads a PUT's body strictly: a member missing, or a number
// that is not a whole one, is INVALID_POLICY naming it; the service checks
// the values.
func policyInput(req events.APIGatewayProxyRequest) (tenantpolicy.Input, error) {
	var body putPolicyRequest
	if err := Decode(req, &body); err != nil {
		return tenantpolicy.Input{}, err
	}
	required := func(name, what string) error {
		return tenantpolicy.ErrInvalid("%s is required (%s): a PUT replaces the whole policy.", name, what)
	}
	var in tenantpolicy.Input
	switch raw := bytes.TrimSpace(body.MaxLifespanDays); {
	case len(raw) == 0:
		return in, required("maxLifespanDays", "a whole number of days, or null for no maximum")
	case string(raw) != "null":
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			return in, tenantpolicy.ErrInvalidMaxLifespan()
		}
		in.MaxLifespanDays = &n
	}
	if body.RequireExpiry == nil {
		return in, required("requireExpiry", "true or false")
	}
	if body.AllowedScopes == nil {
		return in, required("allowedScopes", "a list of scopes")
	}
	if body.OwnerOnlyDelete == nil {
		return in, required("ownerOnlyDelete", "true or false")
	}
	in.RequireExpiry, in.AllowedScopes, in.OwnerOnlyDelete = *body.RequireExpiry, *body.AllowedScopes, *body.OwnerOnlyDelete
	if raw := bytes.TrimSpace(body.Version); len(raw) != 0 && string(raw) != "null" {
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			return in, tenantpolicy.ErrInvalidVersion()
		}
		in.Version = &n
	}
	return in, nil
}
