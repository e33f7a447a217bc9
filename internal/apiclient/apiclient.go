// Package apiclient calls this service's own API as a script does, with an
// API token as its bearer: the rotation function of the pipeline's token
// rotates that token through the API with the token itself, so it holds no
// grant on the token table or the signing key, and every rule of a rotation
// (the authorizer's checks, who may rotate, the overlap) is applied where it
// always is.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswer bounds an answer read: the API's are a few hundred bytes.
const maxAnswer = 64 << 10

// Client calls the API at BaseURL (the stage's URL, without a trailing
// slash: https://<id>.execute-api.<region>.amazonaws.com/v1).
type Client struct {
	BaseURL string
	HTTP    *http.Client // http.DefaultClient when nil
}

// New returns a client of the API at baseURL, each call bounded by timeout.
func New(baseURL string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("API URL %q is not an absolute http(s) URL", baseURL)
	}
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), HTTP: &http.Client{Timeout: timeout}}, nil
}

// Error is an answer of the API that is not a success: its status and the
// error's code and message (the API's error shape). It never holds the
// bearer.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("the API answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Caller is who the API says a bearer is (GET /whoami).
type Caller struct {
	User     string `json:"user"`
	Tenant   string `json:"tenant"`
	AuthType string `json:"authType"`
	TokenID  string `json:"tokenId"`
}

// WhoAmI asks the API who bearer is: the test that a token works.
func (c *Client) WhoAmI(ctx context.Context, bearer string) (Caller, error) {
	var out Caller
	err := c.call(ctx, http.MethodGet, "/whoami", bearer, nil, nil, http.StatusOK, &out)
	return out, err
}

// Rotated is the API's answer to a rotation: the new token (its string is
// in Token, nowhere else) and when the old one stops working.
type Rotated struct {
	Token     string  `json:"token"`
	ID        string  `json:"id"`
	ExpiresAt *string `json:"expiresAt"`
	Previous  struct {
		ID         string `json:"id"`
		WorksUntil string `json:"worksUntil"`
	} `json:"previous"`
}

// Rotate rotates the token id with bearer (the token itself), the old one
// working for overlapMinutes more; key is the Idempotency-Key, so that a
// repeated call answers with the same new token.
func (c *Client) Rotate(ctx context.Context, bearer, id string, overlapMinutes int, key string) (Rotated, error) {
	body, _ := json.Marshal(struct {
		OverlapMinutes int `json:"overlapMinutes"`
	}{overlapMinutes})
	var out Rotated
	err := c.call(ctx, http.MethodPost, "/api-tokens/"+url.PathEscape(id)+"/rotate", bearer,
		map[string]string{"Idempotency-Key": key}, body, http.StatusCreated, &out)
	return out, err
}

func (c *Client) call(ctx context.Context, method, path, bearer string, headers map[string]string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, redact(err, bearer))
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		e := &Error{Status: resp.StatusCode}
		var shape struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(payload, &shape) == nil {
			e.Code, e.Message = shape.Error.Code, shape.Error.Message
		}
		return e
	}
	if err := json.Unmarshal(payload, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the API's JSON: %w", method, path, err)
	}
	return nil
}

// redact keeps the bearer out of a transport error, which is logged.
func redact(err error, bearer string) error {
	if bearer != "" && strings.Contains(err.Error(), bearer) {
		return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), bearer, "<token>"))
	}
	return err
}
