package access

import (
	"errors"
	"fmt"
)

// Kind classifies an Error; each kind maps to exactly one HTTP status.
type Kind int

// Kinds of application error.
const (
	EINTERNAL     Kind = iota // a fault of ours or of a dependency: 500
	EINVALID                  // bad input: 400
	EUNAUTHORIZED             // no valid credentials: 401
	EFORBIDDEN                // valid credentials, not allowed: 403
	ENOTFOUND                 // 404
	ECONFLICT                 // 409
	EUNAVAILABLE              // a dependency is throttling or down, try again: 503
)

// Error is the application error: a Kind for the status, a stable upper-snake
// Code for programs, and a Message a person can act on. Internal details are
// kept in Err for logs and never shown to clients.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an application error of the given kind and code.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error; clients see only a generic message.
func Internal(err error) *Error {
	return &Error{Kind: EINTERNAL, Code: "INTERNAL", Message: "An internal error occurred. Try again later.", Err: err}
}

// Unavailable wraps a dependency fault that is worth retrying (throttling, timeouts).
func Unavailable(err error) *Error {
	return &Error{Kind: EUNAVAILABLE, Code: "UNAVAILABLE", Message: "The service is busy. Try again shortly.", Err: err}
}

// AsError returns err as an application error; any other error is internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// ErrorKind returns the kind of err (EINTERNAL for errors that are not *Error).
func ErrorKind(err error) Kind { return AsError(err).Kind }
