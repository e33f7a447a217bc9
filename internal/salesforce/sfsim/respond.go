package sfsim

import (
	"encoding/json"
	"net/http"
	"time"
)

// apiError is one element of the REST API's error body.
type apiError struct {
	Message   string `json:"message"`
	ErrorCode string `json:"errorCode"`
}

// restError is an error response of the REST API: status and its body.
type restError struct {
	status int
	apiError
}

func newRESTError(status int, code, message string) *restError {
	return &restError{status: status, apiError: apiError{Message: message, ErrorCode: code}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes the REST API's error shape: [{"message","errorCode"}].
func writeError(w http.ResponseWriter, e *restError) {
	writeJSON(w, e.status, []apiError{e.apiError})
}

// writeOAuthError writes the token endpoint's error shape.
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// dateTime renders t as Salesforce does (UTC, milliseconds, +0000), or null.
// Rendered values sort as the times do, which ORDER BY relies on.
func dateTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000+0000")
}
