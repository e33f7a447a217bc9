package auditstream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/auditstream"
	"github.com/dcs-access/dcs-access/internal/emf"
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

// record is a stream record as Lambda hands it: the item's key in Keys
// always, its new image but for a REMOVE.
func record(seq, name, pk string, doc *string) events.DynamoDBEventRecord {
	keys := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(seq)}
	img := maps.Clone(keys)
	if doc != nil {
		img["event"] = events.NewStringAttribute(*doc)
	}
	r := events.DynamoDBEventRecord{EventID: "e" + seq, EventName: name, Change: events.DynamoDBStreamRecord{SequenceNumber: seq, Keys: keys, NewImage: img}}
	if name == "REMOVE" {
		r.Change.NewImage = nil
	}
	return r
}

// expired is TTL's removal of an item, as the stream records it.
func expired(seq, pk string) events.DynamoDBEventRecord {
	r := record(seq, "REMOVE", pk, nil)
	r.UserIdentity = &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}
	return r
}

func eventDoc(id string) *string {
	s := fmt.Sprintf(`{"id":%q,"tenant":"acme","action":"api-token.created"}`, id)
	return &s
}

// handler is a Handler whose log and metrics are kept.
func handler(b *bus) (*auditstream.Handler, *bytes.Buffer, *bytes.Buffer) {
	var log, metrics bytes.Buffer
	return &auditstream.Handler{Bus: b, Log: slog.New(slog.NewJSONHandler(&log, nil)), Metrics: emf.New(&metrics, "teststack")}, &log, &metrics
}

func TestOnlyInsertedAuditItemsArePublishedInOrder(t *testing.T) {
	notEvent := `{"id":`
	batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("1", "INSERT", "AUDIT#acme", eventDoc("a")),
		record("2", "INSERT", "TENANT#acme", eventDoc("token item with an event attribute")),
		expired("4", "AUDIT#acme"),
		record("5", "INSERT", "AUDIT#acme", &notEvent),
		record("6", "INSERT", "AUDIT#acme", nil),
		record("7", "INSERT", "AUDIT#globex", eventDoc("b")),
	}}
	b := &bus{}
	h, _, metrics := handler(b)
	resp, err := h.Handle(context.Background(), batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("got %+v, %v; want no failure", resp, err)
	}
	if !slices.Equal(b.got, []string{"a", "b"}) {
		t.Fatalf("published %v, want the two audit items inserted", b.got)
	}
	if metrics.Len() != 0 {
		t.Fatalf("counted tampering in inserts and an expiry: %s", metrics)
	}
}

// emfLine is an embedded metric format document as the handler writes it.
type emfLine struct {
	AWS struct {
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	Stack          string
	AuditTampering float64
	PK             string `json:"pk"`
	SK             string `json:"sk"`
	EventName      string `json:"eventName"`
}

// A MODIFY of an audit item (a put or an update over an event) and a
// REMOVE that TTL did not make are logged as errors and counted on the
// AuditTampering metric, by key and event name only, and fail nothing; TTL's
// REMOVE of the same kind of item, and a MODIFY or REMOVE of another item,
// are neither.
func TestWritesToAnAuditItemOtherThanItsInsertAndExpiryAreTampering(t *testing.T) {
	batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("20", "INSERT", "AUDIT#acme", eventDoc("a")),
		record("21", "MODIFY", "AUDIT#acme", eventDoc("replaced")),
		expired("22", "AUDIT#acme"),
		record("23", "REMOVE", "AUDIT#acme", nil),
		record("24", "MODIFY", "TENANT#acme", eventDoc("a token's update")),
		record("25", "REMOVE", "TENANT#acme", nil),
		record("26", "INSERT", "AUDIT#acme", eventDoc("b")),
	}}
	b := &bus{}
	h, log, metrics := handler(b)
	resp, err := h.Handle(context.Background(), batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("got %+v, %v; want no failure: a tampering record cannot be retried into something else", resp, err)
	}
	if !slices.Equal(b.got, []string{"a", "b"}) {
		t.Fatalf("published %v, want only the inserts", b.got)
	}

	var got []emfLine
	for line := range strings.Lines(metrics.String()) {
		var l emfLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		got = append(got, l)
	}
	if len(got) != 2 {
		t.Fatalf("got %d metric documents, want 2 (the MODIFY and the REMOVE not by TTL): %s", len(got), metrics)
	}
	for i, want := range []struct{ sk, name string }{{"21", "MODIFY"}, {"23", "REMOVE"}} {
		l := got[i]
		if l.PK != "AUDIT#acme" || l.SK != want.sk || l.EventName != want.name || l.AuditTampering != 1 || l.Stack != "teststack" {
			t.Errorf("document %d is %+v, want AuditTampering 1 for AUDIT#acme %s %s under the stack", i, l, want.sk, want.name)
		}
		d := l.AWS.CloudWatchMetrics
		if len(d) != 1 || d[0].Namespace != emf.Namespace || !slices.EqualFunc(d[0].Dimensions, [][]string{{"Stack"}}, slices.Equal) ||
			len(d[0].Metrics) != 1 || d[0].Metrics[0].Name != auditstream.TamperingMetric || d[0].Metrics[0].Unit != "Count" {
			t.Errorf("document %d's directive is %+v, want the one metric %s (Count) in %s by Stack", i, d, auditstream.TamperingMetric, emf.Namespace)
		}
	}

	errorsLogged := 0
	for line := range strings.Lines(log.String()) {
		var l struct{ Level, PK, SK, EventName string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		if l.Level == "ERROR" {
			errorsLogged++
			if l.PK != "AUDIT#acme" || (l.SK != "21" && l.SK != "23") {
				t.Errorf("logged an error for %s %s, want only the two tampering records", l.PK, l.SK)
			}
		}
	}
	if errorsLogged != 2 {
		t.Fatalf("logged %d errors, want 2: %s", errorsLogged, log)
	}
	// The modified item's document is in its record (the positive control)
	// and in neither the log nor the metric.
	if !strings.Contains(batch.Records[1].Change.NewImage["event"].String(), `"replaced"`) {
		t.Fatal("the control: the modified item's record holds its document")
	}
	for what, out := range map[string]string{"log": log.String(), "metrics": metrics.String()} {
		if strings.Contains(out, "replaced") {
			t.Errorf("the %s repeats the modified item's document: %s", what, out)
		}
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
