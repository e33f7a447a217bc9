package awsconfig

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// sdkRetryables is how the SDK's standard retryer decides that an attempt is
// worth repeating.
var sdkRetryables = retry.IsErrorRetryables(retry.DefaultRetryables)

// Transient reports whether err, from an AWS SDK call, says the service
// could not be reached or could not answer now, so that the same request may
// succeed later: the request was not sent or the connection dropped
// (connection refused, reset, EOF), no answer came before the deadline, or the
// service answered that it is throttling or failing (5xx). The SDK has
// already retried such errors; what is left is for the caller to retry (a
// 503), not a fault of ours (a 500).
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return sdkRetryables.IsErrorRetryable(err) == aws.TrueTernary
}
