package auditstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/auditstream"
)

// bus keeps what it is given, and refuses the event ids in refuse.
type bus struct {
	got    []string
	refuse map[string]bool
}

func (b *bus) Publish(_ context.Context, detailType string, detail any) error {
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	var ev audit.Event
	if err := json.Unmarshal(raw, &ev); err != nil || detailType != audit.DetailType {
		return fmt.Errorf("got %s %s, want an audit event", detailType, raw)
	}
	if b.refuse[ev.ID] {
		return errors.New("throttled")
	}
	b.got = append(b.got, ev.ID)
	return nil
}

func record(seq, name, pk string, doc *string) events.DynamoDBEventRecord {
	img := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(seq)}
	if doc != nil {
		img["event"] = events.NewStringAttribute(*doc)
	}
	r := events.DynamoDBEventRecord{EventID: "e" + seq, EventName: name, Change: events.DynamoDBStreamRecord{SequenceNumber: seq, NewImage: img}}
	if name == "REMOVE" {
		r.Change.NewImage = nil
	}
	return r
}

func eventDoc(id string) *string {
	s := fmt.Sprintf(`{"id":%q,"tenant":"acme","action":"api-token.created"}`, id)
	return &s
}

func TestOnlyInsertedAuditItemsArePublishedInOrder(t *testing.T) {
	notEvent := `{"id":`
	batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("1", "INSERT", "AUDIT#acme", eventDoc("a")),
		record("2", "INSERT", "TENANT#acme", eventDoc("token item with an event attribute")),
		record("3", "MODIFY", "AUDIT#acme", eventDoc("modified")),
		record("4", "REMOVE", "AUDIT#acme", nil), // TTL's removal
		record("5", "INSERT", "AUDIT#acme", &notEvent),
		record("6", "INSERT", "AUDIT#acme", nil),
		record("7", "INSERT", "AUDIT#globex", eventDoc("b")),
	}}
	b := &bus{}
	resp, err := (&auditstream.Handler{Bus: b, Log: slog.New(slog.DiscardHandler)}).Handle(context.Background(), batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("got %+v, %v; want no failure", resp, err)
	}
	if !slices.Equal(b.got, []string{"a", "b"}) {
		t.Fatalf("published %v, want the two audit items inserted", b.got)
	}
}

// The first event the bus refuses is the batch's failure: nothing after it
// is published, so the retry from it publishes nothing twice.
func TestTheFirstRefusedEventIsWhereTheBatchIsRetriedFrom(t *testing.T) {
	batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("10", "INSERT", "AUDIT#acme", eventDoc("a")),
		record("11", "INSERT", "AUDIT#acme", eventDoc("b")),
		record("12", "INSERT", "AUDIT#acme", eventDoc("c")),
	}}
	b := &bus{refuse: map[string]bool{"b": true}}
	h := &auditstream.Handler{Bus: b, Log: slog.New(slog.DiscardHandler)}
	resp, err := h.Handle(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if want := []events.DynamoDBBatchItemFailure{{ItemIdentifier: "11"}}; !slices.Equal(resp.BatchItemFailures, want) {
		t.Fatalf("got failures %+v, want %+v", resp.BatchItemFailures, want)
	}
	if !slices.Equal(b.got, []string{"a"}) {
		t.Fatalf("published %v, want only what came before the refused one", b.got)
	}
	// Lambda's retry: the batch from the failure on.
	b.refuse = nil
	if resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: batch.Records[1:]}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("retry: got %+v, %v", resp, err)
	}
	if !slices.Equal(b.got, []string{"a", "b", "c"}) {
		t.Fatalf("published %v, want each once, in order", b.got)
	}
}
