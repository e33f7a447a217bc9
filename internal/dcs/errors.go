package dcs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// APIError is a non-2xx answer from DCS. Code and Message come from the body
// when it has the shape {"error":{"code","message"}}, and are empty otherwise.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	} else if text := http.StatusText(e.Status); text != "" {
		s += " " + text
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// transportError marks a failure to exchange a request and response with
// DCS (connection refused or reset, truncated body): worth retrying.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// IsTransient reports whether err is worth retrying: a 5xx, 429 or 408 from
// DCS, a network failure, or a timeout. 400, 401, 403, 404 and every other
// answer are permanent: retrying a revoked token only delays the failure.
// A cancelled context is not transient: the caller chose to stop.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status >= 500 || apiErr.Status == http.StatusTooManyRequests || apiErr.Status == http.StatusRequestTimeout
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// MayHaveHappened reports whether a request that failed with err may still
// have been carried out by DCS: it may have reached DCS, and no answer said
// it was refused. That is a network failure after the connection was made
// (a reset, an answer cut off), a timeout, or a 5xx or 408 (a gateway may
// answer so after passing the request on). A 4xx or 429 is DCS's refusal,
// and a connection that could not be made sent nothing.
func MayHaveHappened(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status >= 500 || apiErr.Status == http.StatusRequestTimeout
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || IsTransient(err)
}
