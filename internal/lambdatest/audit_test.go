package lambdatest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/audit"
)

// feedAuditSamples runs the audit trail's two functions with their sample
// events: the list, after the sample token createdID was created and
// deleted through the binaries, and the stream's consumer.
func (s *stack) feedAuditSamples(t *testing.T, feed func(string) string, createdID string) {
	t.Run("list-audit-events.json lists the tenant's changes, newest first, each with its request", func(t *testing.T) {
		resp := s.call(t, "ListAuditEventsFunction", readEvent(t, feed("list-audit-events.json")))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s, want 200", resp.StatusCode, resp.Body)
		}
		page := decode[struct{ Items []audit.Event }](t, resp.Body)
		var created, deleted *audit.Event
		for i, ev := range page.Items {
			if ev.Target.ID != createdID {
				continue
			}
			switch ev.Action {
			case audit.TokenCreated:
				created = &page.Items[i]
			case audit.TokenDeleted:
				deleted = &page.Items[i]
				if created != nil {
					t.Errorf("the token's creation is listed before its deletion, want newest first")
				}
			}
		}
		if created == nil || deleted == nil {
			t.Fatalf("got %s, want the creation and the deletion of %s", resp.Body, createdID)
		}
		// create-token.json's request, as API Gateway passed it.
		if created.Actor != (audit.Actor{Type: audit.ActorSession, User: "ada@example.com"}) || created.SourceIP != "203.0.113.24" ||
			created.UserAgent != "curl/8.5.0" || created.RequestID == "" || created.Details["description"] != "nightly masking" {
			t.Errorf("got %+v, want ada's session from 203.0.113.24 with curl, the request id, the description", *created)
		}
	})

	t.Run("audit-stream-records.json puts its audit item's event on the bus, and nothing of the token item", func(t *testing.T) {
		s.pipeline.published(t) // what earlier cases published
		out, err := invoke(t, s.fns["PublishAuditEventsFunction"], readEvent(t, feed("audit-stream-records.json")))
		if err != nil {
			t.Fatal(err)
		}
		if resp := decode[events.DynamoDBEventResponse](t, string(out)); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("got %s, want no failure", out)
		}
		var batch events.DynamoDBEvent
		if err := json.Unmarshal(readEvent(t, "audit-stream-records.json"), &batch); err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(batch.Records[0].Change.NewImage["event"].String()), &want); err != nil {
			t.Fatal(err)
		}
		s.wantPublished(t, audit.DetailType, want)
	})
}
