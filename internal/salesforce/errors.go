package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// ErrNotFound is returned (wrapped) when a record the caller named does not
// exist, e.g. no SandboxInfo with that name. It is permanent.
var ErrNotFound = errors.New("salesforce: not found")

// APIError is an error response from Salesforce: the REST API's
// [{"message","errorCode"}] or the token endpoint's {"error","error_description"}.
type APIError struct {
	Status  int    // HTTP status
	Code    string // errorCode (REST) or error (OAuth), e.g. INVALID_SESSION_ID, invalid_grant
	Message string // message (REST) or error_description (OAuth)
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("salesforce api: %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("salesforce api: %d %s: %s", e.Status, e.Code, e.Message)
}

// Transient reports whether the same request may succeed later: a server
// error, a timeout, or the limit of concurrent long-running requests. 400,
// 401, 403 (the daily API limit included) and 404 are permanent.
func (e *APIError) Transient() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout ||
		e.Limit() == LimitConcurrent
}

// The API limits Salesforce enforces with 403 REQUEST_LIMIT_EXCEEDED (the
// REST API answers no 429): the org's requests in 24 hours, whose message is
// "TotalRequests Limit exceeded.", and its concurrent long-running
// requests, "ConcurrentPerOrgLongTxn Limit exceeded" or "ConcurrentRequests
// (Concurrent API Requests) Limit exceeded", which clears within seconds.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
// https://help.salesforce.com/s/articleView?id=000389067
const (
	LimitDaily      = "daily API request limit"
	LimitConcurrent = "concurrent long-running request limit"
)

// Limit names the API limit the error reports, or is "" when it reports none.
func (e *APIError) Limit() string {
	if e.Status != http.StatusForbidden || e.Code != "REQUEST_LIMIT_EXCEEDED" {
		return ""
	}
	if strings.HasPrefix(e.Message, "Concurrent") {
		return LimitConcurrent
	}
	return LimitDaily // TotalRequests, or a limit this client does not know: do not hammer it
}

// IsTransient reports whether err is worth retrying: a transient APIError, a
// network error (connection refused or reset, timeout) or a passed deadline.
// A cancelled context is not transient: someone chose to stop.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Transient()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error // *url.Error, *net.OpError, timeouts
	return errors.As(err, &netErr)
}

// decodeAPIError reads an error body in either of Salesforce's shapes. The
// body is not quoted verbatim: only the parsed code and message are kept.
func decodeAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var rest []struct {
		Message   string `json:"message"`
		ErrorCode string `json:"errorCode"`
	}
	var one struct {
		Message          string `json:"message"`
		ErrorCode        string `json:"errorCode"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	switch {
	case json.Unmarshal(body, &rest) == nil && len(rest) > 0:
		e.Code, e.Message = rest[0].ErrorCode, rest[0].Message
		for _, more := range rest[1:] {
			e.Message += "; " + more.Message
		}
	case json.Unmarshal(body, &one) == nil && (one.ErrorCode != "" || one.Error != ""):
		e.Code, e.Message = one.ErrorCode, one.Message
		if one.Error != "" {
			e.Code, e.Message = one.Error, one.ErrorDescription
		}
	}
	if e.Message == "" {
		e.Message = strings.ToLower(http.StatusText(status))
	}
	return e
}
