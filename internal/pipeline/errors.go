package pipeline

import (
	"errors"
	"fmt"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/salesforce"
)

// The step errors. Lambda reports a returned error's type name as its
// errorType, which the state machine's Retry and Catch match: so each is a
// distinct named type, returned unwrapped.

// TransientError is a fault worth retrying: 5xx, 429, timeouts, connection failures.
type TransientError struct {
	Message string
	cause   error // what classify classified, for callers in this process
}

func (e *TransientError) Error() string { return e.Message }
func (e *TransientError) Unwrap() error { return e.cause }

// PermanentError is a fault a retry cannot fix: 400/401/403/404, a bad plan, a missing secret.
type PermanentError struct {
	Message string
	cause   error
}

func (e *PermanentError) Error() string { return e.Message }
func (e *PermanentError) Unwrap() error { return e.cause }

// RefreshFailed is a refresh that cannot succeed: the copy was stopped,
// suspended, discarded or deleted, another copy is in progress, or
// Salesforce's refresh interval has not passed.
type RefreshFailed struct{ Message string }

func (e *RefreshFailed) Error() string { return e.Message }

// MaskingFailed is a DCS masking execution that ended FAILED or CANCELLED.
type MaskingFailed struct{ Message string }

func (e *MaskingFailed) Error() string { return e.Message }

// RunTimedOut is a run past its deadline.
type RunTimedOut struct{ Message string }

func (e *RunTimedOut) Error() string { return e.Message }

// classify turns a client error into TransientError or PermanentError. The
// clients never put tokens or keys in their errors, so the message is safe to
// record in the execution history.
func classify(what string, err error) error {
	var (
		transient *TransientError
		permanent *PermanentError
	)
	if errors.As(err, &transient) || errors.As(err, &permanent) {
		return err
	}
	msg := fmt.Sprintf("%s: %v", what, err)
	var apiErr *salesforce.APIError
	if errors.As(err, &apiErr) && apiErr.Limit() == salesforce.LimitDaily {
		return &PermanentError{Message: fmt.Sprintf("%s: Salesforce refused the call: the org's %s is used up (%s). Calls are counted over the last 24 hours: redrive the run when the org has calls to spare", what, salesforce.LimitDaily, apiErr.Message), cause: err}
	}
	if salesforce.IsTransient(err) || dcs.IsTransient(err) || access.ErrorKind(err) == access.EUNAVAILABLE {
		return &TransientError{Message: msg, cause: err}
	}
	return &PermanentError{Message: msg, cause: err}
}
