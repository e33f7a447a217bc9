// Package auditstream puts the audit events on the stack's bus: the table's
// DynamoDB stream carries every item written, and the publish-audit-events
// function (an event source mapping on that stream) hands each new audit
// item's event to EventBridge; the local stack reads DynamoDB Local's stream
// and hands its records to the same handler (internal/localserver).
//
// Why the stream and not the writers: an event is written in its change's
// transaction, so the table is the record, and the stream has every item
// that committed, in order per item, for 24 hours, and Lambda retries a
// failed batch until its records leave the stream. A writer that published
// after its commit would lose the event whenever it died, timed out or was
// throttled in between, and each writer (the authorizer among them) would
// need the bus client and events:PutEvents. docs/security.md, "Audit
// trail", says what is left (a bus down for more than a day).
//
// It imports no AWS SDK package: the function links only the bus's client.
package auditstream

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/audit"
)

// The audit items as the stream carries them (internal/dynamo writes them):
// their partition key's prefix, which no other item's has, and the attribute
// that holds the event's JSON document, which is the bus event's detail.
const (
	PartitionPrefix   = "AUDIT#"
	DocumentAttribute = "event"
)

// Publisher puts an event on the stack's bus (eventbus.Bus, or the local
// stack's eventbus.Memory).
type Publisher interface {
	Publish(ctx context.Context, detailType string, detail any) error
}

// Handler publishes the audit events among a batch of stream records.
type Handler struct {
	Bus Publisher
	Log *slog.Logger // slog.Default() when nil
}

// Handle is the stream's event source mapping's handler. It publishes each
// audit item inserted, in the batch's order, and skips every other record
// (the mapping's filter lets only audit items through; a record it let by
// is no reason to fail). At the first record it cannot publish it stops and
// reports that record as the batch's first failure (ReportBatchItemFailures):
// Lambda retries the batch from it, so nothing after it is published twice
// and nothing is lost. An audit item whose document is not an event is
// logged and skipped: retrying cannot mend it.
func (h *Handler) Handle(ctx context.Context, batch events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	for _, r := range batch.Records {
		doc, ok := document(r)
		if !ok {
			continue
		}
		var ev audit.Event
		if err := json.Unmarshal([]byte(doc), &ev); err != nil || ev.ID == "" {
			h.log().ErrorContext(ctx, "an audit item's document is not an event: not published", "eventId", r.EventID, "error", err)
			continue
		}
		if err := h.Bus.Publish(ctx, audit.DetailType, json.RawMessage(doc)); err != nil {
			h.log().WarnContext(ctx, "audit event not published yet: the batch is retried from it", "auditEventId", ev.ID, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			return resp, nil
		}
	}
	return resp, nil
}

// document is the event document of an audit item's insert; false for any
// other record.
func document(r events.DynamoDBEventRecord) (string, bool) {
	if r.EventName != string(events.DynamoDBOperationTypeInsert) {
		return "", false // audit items are only ever inserted; TTL's removals are not events
	}
	pk, ok := r.Change.NewImage["pk"]
	if !ok || pk.DataType() != events.DataTypeString || !strings.HasPrefix(pk.String(), PartitionPrefix) {
		return "", false
	}
	doc, ok := r.Change.NewImage[DocumentAttribute]
	if !ok || doc.DataType() != events.DataTypeString {
		return "", false
	}
	return doc.String(), true
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// FilterPattern is the event source mapping's filter (FilterCriteria in
// template.yaml, which templatecheck compares with it): records whose new
// image is an audit item. A DynamoDB mapping filters on the record's
// "dynamodb" key only; a removal has no new image, so it never matches.
func FilterPattern() string {
	return fmt.Sprintf(`{"dynamodb":{"NewImage":{"pk":{"S":[{"prefix":%q}]}}}}`, PartitionPrefix)
}
