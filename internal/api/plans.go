package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/plans"
)

// Plans serves the /sandbox-plans routes.
type Plans struct {
	Service *plans.Service
}

// Put handles PUT /sandbox-plans/{sandbox}: 201 when created, 200 when replaced.
func (h *Plans) Put(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		sandbox := req.PathParameters["sandbox"]
		var plan plans.Plan
		if err := Decode(req, &plan); err != nil {
			return Response{}, err
		}
		if plan.Sandbox != "" && !strings.EqualFold(plan.Sandbox, sandbox) {
			return Response{}, access.Errorf(access.EINVALID, "INVALID_PLAN", "sandbox in the body must match the sandbox in the path, or be left out.")
		}
		saved, created, err := h.Service.Put(ctx, p, sandbox, plan)
		if err != nil {
			return Response{}, err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return JSON(status, saved), nil
	})
}

// Get handles GET /sandbox-plans/{sandbox}.
func (h *Plans) Get(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		plan, err := h.Service.Get(ctx, p, req.PathParameters["sandbox"])
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusOK, plan), nil
	})
}

// List handles GET /sandbox-plans.
func (h *Plans) List(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		list, err := h.Service.List(ctx, p)
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusOK, struct {
			Items []plans.Plan `json:"items"`
		}{list}), nil
	})
}

// Delete handles DELETE /sandbox-plans/{sandbox}.
func (h *Plans) Delete(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		if err := h.Service.Delete(ctx, p, req.PathParameters["sandbox"]); err != nil {
			return Response{}, err
		}
		return NoContent(), nil
	})
}
