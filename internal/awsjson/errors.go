package awsjson

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
)

// Error is an error answer of the service: its type (Code) and message, as
// the SDK's clients return one (a smithy.APIError), and its HTTP status,
// which the SDK's retryer and awsconfig.Transient read (5xx is retried).
type Error struct {
	StatusCode int
	Code       string
	Message    string
	RequestID  string
	// Err is the SDK's typed error of Code, with its members, where the
	// service's Exception knows one; nil otherwise.
	Err error
}

var _ smithy.APIError = (*Error)(nil)

// ErrorCode is the error's type: "ThrottlingException".
func (e *Error) ErrorCode() string { return e.Code }

// ErrorMessage is the service's message.
func (e *Error) ErrorMessage() string { return e.Message }

// ErrorFault says whose fault the error is, by its status: 5xx the
// service's, 4xx the caller's.
func (e *Error) ErrorFault() smithy.ErrorFault {
	switch {
	case e.StatusCode >= 500:
		return smithy.FaultServer
	case e.StatusCode >= 400:
		return smithy.FaultClient
	}
	return smithy.FaultUnknown
}

// HTTPStatusCode is the answer's status.
func (e *Error) HTTPStatusCode() int { return e.StatusCode }

// Unwrap is the typed error, for errors.As(err, &*types.SomeException).
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	return fmt.Sprintf("https response error StatusCode: %d, RequestID: %s, api error %s: %s", e.StatusCode, e.RequestID, e.Code, e.Message)
}

// decodeError reads an error answer to req as the protocols say a client
// should: the type from the X-Amzn-Errortype header, else the body's
// __type, else its code; before any ':' and after any '#'. A message that
// echoes any of creds, or req's signature, has it redacted: errors are
// logged.
func decodeError(req *http.Request, resp *http.Response, payload []byte, creds aws.Credentials) *Error {
	e := &Error{StatusCode: resp.StatusCode, Code: "UnknownError", RequestID: resp.Header.Get("X-Amzn-Requestid")}
	var body struct {
		Type    string `json:"__type"`
		Code    any    `json:"code"`
		Message string `json:"message"`
		// Some services spell it with a capital.
		MessageUpper string `json:"Message"`
	}
	// A body that is not JSON (a proxy's page) leaves the type to the
	// header or UnknownError, and the status says what happened.
	_ = json.Unmarshal(payload, &body)
	code, _ := body.Code.(string)
	for _, c := range []string{resp.Header.Get("X-Amzn-Errortype"), body.Type, code} {
		if c != "" {
			e.Code = sanitizeErrorCode(c)
			break
		}
	}
	e.Message = body.Message
	if e.Message == "" {
		e.Message = body.MessageUpper
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	e.Message = redact(e.Message, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, signature(req))
	return e
}

// sanitizeErrorCode is the error type's shape name:
// "aws.protocoltests#FooError:http://internal.amazon.com/..." is "FooError".
func sanitizeErrorCode(code string) string {
	code, _, _ = strings.Cut(code, ":")
	if _, name, ok := strings.Cut(code, "#"); ok {
		code = name
	}
	return code
}

// signature is the Signature= part of the request's Authorization header.
func signature(req *http.Request) string {
	_, sig, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	return sig
}

// redact replaces each non-empty secret in s.
func redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}
