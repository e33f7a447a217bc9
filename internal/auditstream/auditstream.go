// Package auditstream puts the audit events on the stack's bus: the table's
// DynamoDB stream carries every item written, and the publish-audit-events
// function (an event source mapping on that stream) hands each new audit
// item's event to EventBridge; the local stack reads DynamoDB Local's stream
// and hands its records to the same handler (internal/localserver). Every
// other write to an audit item (no code makes one) is the tamper alarm's:
// logged, and counted on TamperingMetric.
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
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/emf"
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

// TamperingMetric counts the writes to audit items that are not their
// insert or TTL's expiry (namespace emf.Namespace, dimension Stack), on
// which template.yaml's AuditTamperingAlarm is.
const TamperingMetric = "AuditTampering"

// Handler publishes the audit events among a batch of stream records, and
// raises the tamper alarm on any other write to an audit item.
type Handler struct {
	Bus     Publisher
	Log     *slog.Logger // slog.Default() when nil
	Metrics *emf.Writer  // counts TamperingMetric; nil counts nothing (the local stack logs only)
}

// Handle is the stream's event source mapping's handler. The mapping's
// filter lets through every write to an audit item (FilterPattern). It
// publishes each audit item inserted, in the batch's order; skips TTL's
// removal of one (its retention ended); and reports every other write (a
// MODIFY, which is a put or update over an event, or a REMOVE that TTL did
// not make) as tampering: logged and counted, never a failure, since
// retrying the record cannot make it anything else. Records of other items
// are skipped (the local stack hands on every record).
//
// At the first event it cannot publish it stops and reports that record as
// the batch's first failure (ReportBatchItemFailures): Lambda retries the
// batch from it, so nothing after it is published (or counted) twice and
// nothing is lost. An audit item whose document is not an event is logged
// and skipped: retrying cannot mend it.
func (h *Handler) Handle(ctx context.Context, batch events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	for _, r := range batch.Records {
		pk, sk, ok := auditKeys(r)
		switch {
		case !ok:
			continue
		case r.EventName == string(events.DynamoDBOperationTypeInsert):
			if !h.publish(ctx, r) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
				return resp, nil
			}
		case r.EventName == string(events.DynamoDBOperationTypeRemove) && byTTL(r):
			continue // an expiry, not tampering
		default:
			h.tampered(ctx, r, pk, sk)
		}
	}
	return resp, nil
}

// publish puts an inserted audit item's event on the bus; false when the
// bus refused it (the batch is retried from it).
func (h *Handler) publish(ctx context.Context, r events.DynamoDBEventRecord) bool {
	doc, ok := r.Change.NewImage[DocumentAttribute]
	var ev audit.Event
	if ok && doc.DataType() == events.DataTypeString {
		if err := json.Unmarshal([]byte(doc.String()), &ev); err != nil {
			ev.ID = ""
		}
	}
	if ev.ID == "" {
		h.log().ErrorContext(ctx, "an audit item's document is not an event: not published", "eventId", r.EventID)
		return true
	}
	if err := h.Bus.Publish(ctx, audit.DetailType, json.RawMessage(doc.String())); err != nil {
		h.log().WarnContext(ctx, "audit event not published yet: the batch is retried from it", "auditEventId", ev.ID, "error", err)
		return false
	}
	return true
}

// tampered logs and counts a write to an audit item that no code makes.
// It names the item by its key and the write by its event name only: the
// item's contents are not repeated in the log.
func (h *Handler) tampered(ctx context.Context, r events.DynamoDBEventRecord, pk, sk string) {
	h.log().ErrorContext(ctx, "audit item changed or deleted after it was written, not by TTL: possible tampering",
		"pk", pk, "sk", sk, "eventName", r.EventName, "eventId", r.EventID)
	h.Metrics.Emit(time.Now(), "Count", map[string]float64{TamperingMetric: 1},
		map[string]string{"pk": pk, "sk": sk, "eventName": r.EventName})
}

// auditKeys is the table key of the record's item, when it is an audit
// item. Every record has its item's key (a REMOVE has no new image).
func auditKeys(r events.DynamoDBEventRecord) (pk, sk string, ok bool) {
	p, found := r.Change.Keys["pk"]
	if !found || p.DataType() != events.DataTypeString || !strings.HasPrefix(p.String(), PartitionPrefix) {
		return "", "", false
	}
	if s, found := r.Change.Keys["sk"]; found && s.DataType() == events.DataTypeString {
		sk = s.String()
	}
	return p.String(), sk, true
}

// byTTL says whether DynamoDB's Time to Live made the record's removal: its
// userIdentity is the service ("Service", "dynamodb.amazonaws.com"; the
// DynamoDB Streams API Reference, Record). Other writes have none.
func byTTL(r events.DynamoDBEventRecord) bool {
	u := r.UserIdentity
	return u != nil && u.Type == TTLIdentityType && u.PrincipalID == TTLPrincipal
}

// The userIdentity of TTL's removals.
const (
	TTLIdentityType = "Service"
	TTLPrincipal    = "dynamodb.amazonaws.com"
)

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// FilterPattern is the event source mapping's filter (FilterCriteria in
// template.yaml, which templatecheck compares with it): every record of an
// audit item, by its key. A DynamoDB mapping filters on the record's
// "dynamodb" key only, whose Keys every record has (a removal has no new
// image), so inserts, modifications and removals all reach Handle.
func FilterPattern() string {
	return fmt.Sprintf(`{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":%q}]}}}}`, PartitionPrefix)
}
