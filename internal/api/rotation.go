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
	"github.com/dcs-access/dcs-access/internal/header"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// rotationView is a token's place in its rotation family, as the API shows
// it; every member is left out for a token never rotated.
type rotationView struct {
	// RotatedFrom is the token this one replaced.
	RotatedFrom string `json:"rotatedFrom,omitempty"`
	// ReplacedBy is the token that replaced this one, and WorksUntil when
	// this one stops working (it is "Replaced" from then on).
	ReplacedBy string  `json:"replacedBy,omitempty"`
	WorksUntil *string `json:"worksUntil,omitempty"`
}

func rotationViewOf(t access.Token) rotationView {
	v := rotationView{RotatedFrom: t.Rotation.From}
	if r := t.Rotation.Replaced; r != nil {
		until := r.Until.UTC().Format(time.RFC3339)
		v.ReplacedBy, v.WorksUntil = r.By, &until
	}
	return v
}

type rotateRequest struct {
	OverlapMinutes json.RawMessage `json:"overlapMinutes"`
}

// Rotate handles POST /api-tokens/{id}/rotate {"overlapMinutes"?}: 201 with
// the new token, shaped as a created one, and the old token as the
// rotation left it ("previous"). An Idempotency-Key header makes a retried
// rotation answer with the same new token while the old one still works.
func (h *Tokens) Rotate(ctx context.Context, req events.APIGatewayProxyRequest) (Response, error) {
	return serve(ctx, req, func(ctx context.Context, p access.Principal) (Response, error) {
		var body rotateRequest
		if err := Decode(req, &body); err != nil {
			return Response{}, err
		}
		overlap, err := overlapMinutes(body.OverlapMinutes)
		if err != nil {
			return Response{}, err
		}
		rotated, err := h.Service.Rotate(ctx, p, req.PathParameters["id"], tokens.RotateInput{OverlapMinutes: overlap, Key: header.Get(req.Headers, "Idempotency-Key")})
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusCreated, struct {
			Token string `json:"token"`
			tokenView
			Previous tokenView `json:"previous"`
		}{rotated.Secret, h.view(rotated.Token), h.view(rotated.Previous)}), nil
	})
}

// overlapMinutes accepts only a JSON integer or null (0, the default: the
// old token stops at once); "60", 1.5 and true are refused.
func overlapMinutes(raw json.RawMessage) (int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 || n > tokens.MaxOverlapMinutes {
		return 0, tokens.ErrInvalidOverlap()
	}
	return n, nil
}
