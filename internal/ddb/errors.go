package ddb

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/awsjson"
)

// exceptions are the error types that the operations of this package
// declare, as the SDK's typed errors, read from the answer's body: the
// members beyond the message (a failed condition's item, a cancelled
// transaction's reasons, the throttling reasons) as the SDK reads them.
var exceptions = map[string]func(message *string, body []byte) error{
	"ConditionalCheckFailedException": func(m *string, body []byte) error {
		var members struct{ Item Item }
		_ = json.Unmarshal(body, &members)
		return &types.ConditionalCheckFailedException{Message: m, Item: members.Item}
	},
	"TransactionCanceledException": func(m *string, body []byte) error {
		var members struct {
			CancellationReasons []struct {
				Code, Message *string
				Item          Item
			}
		}
		_ = json.Unmarshal(body, &members)
		e := &types.TransactionCanceledException{Message: m}
		for _, r := range members.CancellationReasons {
			e.CancellationReasons = append(e.CancellationReasons, types.CancellationReason{Code: r.Code, Message: r.Message, Item: r.Item})
		}
		return e
	},
	"ProvisionedThroughputExceededException": func(m *string, body []byte) error {
		return &types.ProvisionedThroughputExceededException{Message: m, ThrottlingReasons: throttlingReasons(body)}
	},
	"RequestLimitExceeded": func(m *string, body []byte) error {
		return &types.RequestLimitExceeded{Message: m, ThrottlingReasons: throttlingReasons(body)}
	},
	"ThrottlingException": func(m *string, body []byte) error {
		return &types.ThrottlingException{Message: m, ThrottlingReasons: throttlingReasons(body)}
	},
	"IdempotentParameterMismatchException": func(m *string, _ []byte) error {
		return &types.IdempotentParameterMismatchException{Message: m}
	},
	"InternalServerError":                      func(m *string, _ []byte) error { return &types.InternalServerError{Message: m} },
	"InvalidEndpointException":                 func(m *string, _ []byte) error { return &types.InvalidEndpointException{Message: m} },
	"ItemCollectionSizeLimitExceededException": func(m *string, _ []byte) error { return &types.ItemCollectionSizeLimitExceededException{Message: m} },
	"LimitExceededException":                   func(m *string, _ []byte) error { return &types.LimitExceededException{Message: m} },
	"ReplicatedWriteConflictException":         func(m *string, _ []byte) error { return &types.ReplicatedWriteConflictException{Message: m} },
	"ResourceInUseException":                   func(m *string, _ []byte) error { return &types.ResourceInUseException{Message: m} },
	"ResourceNotFoundException":                func(m *string, _ []byte) error { return &types.ResourceNotFoundException{Message: m} },
	"TransactionConflictException":             func(m *string, _ []byte) error { return &types.TransactionConflictException{Message: m} },
	"TransactionInProgressException":           func(m *string, _ []byte) error { return &types.TransactionInProgressException{Message: m} },
}

// exception is Service's Exception: the typed error of e's type, nil for a
// type none of the operations declares (AccessDeniedException,
// ValidationException), which stays an awsjson.Error with its code.
func exception(e *awsjson.Error, body []byte) error {
	typed, ok := exceptions[e.Code]
	if !ok {
		return nil
	}
	message := e.Message
	return typed(&message, body)
}

// throttlingReasons reads ThrottlingReasons ([{"reason","resource"}]);
// encoding/json matches the lower-case names to the SDK's fields.
func throttlingReasons(body []byte) []types.ThrottlingReason {
	var members struct{ ThrottlingReasons []types.ThrottlingReason }
	_ = json.Unmarshal(body, &members)
	return members.ThrottlingReasons
}
