package lambdatest

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/auditstream"
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

	t.Run("a TTL removal of an audit item is quiet, any other change or removal of one raises the tamper alarm", func(t *testing.T) {
		s.pipeline.published(t)
		f := s.fns["PublishAuditEventsFunction"]
		before := strings.Count(f.Logs(), `possible tampering"`)
		// The sample's audit item as three later records: TTL's removal (its
		// userIdentity, from the DynamoDB Streams API Reference's Record), a
		// put over it, and a removal by someone.
		event := editEvent(t, "audit-stream-records.json", func(e map[string]any) {
			item := e["Records"].([]any)[0].(map[string]any)
			image := item["dynamodb"].(map[string]any)["NewImage"]
			record := func(name, seq string, change map[string]any) map[string]any {
				r := maps.Clone(item)
				d := maps.Clone(item["dynamodb"].(map[string]any))
				delete(d, "NewImage")
				maps.Copy(d, change)
				d["SequenceNumber"] = seq
				r["dynamodb"], r["eventName"], r["eventID"] = d, name, "tamper-"+seq
				return r
			}
			ttl := record("REMOVE", "111100000000012345678911", map[string]any{"OldImage": image, "StreamViewType": "NEW_AND_OLD_IMAGES"})
			ttl["userIdentity"] = map[string]any{"type": auditstream.TTLIdentityType, "principalId": auditstream.TTLPrincipal}
			e["Records"] = []any{
				ttl,
				record("MODIFY", "111100000000012345678912", map[string]any{"OldImage": image, "NewImage": image}),
				record("REMOVE", "111100000000012345678913", map[string]any{"OldImage": image}),
			}
		})
		out, err := invoke(t, f, event)
		if err != nil {
			t.Fatal(err)
		}
		if resp := decode[events.DynamoDBEventResponse](t, string(out)); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("got %s, want no failure: retrying cannot mend a change", out)
		}
		if got := s.pipeline.published(t); len(got) != 0 {
			t.Fatalf("%d events were put on the bus, want none: %+v", len(got), got)
		}
		logs := f.Logs()
		if n := strings.Count(logs, `possible tampering"`) - before; n != 2 {
			t.Fatalf("%d tampering reports, want 2 (the put and the removal by someone, not TTL's):\n%s", n, logs)
		}
		for _, name := range []string{"tamper-111100000000012345678912", "tamper-111100000000012345678913", `"` + auditstream.TamperingMetric + `":1`} {
			if !strings.Contains(logs, name) {
				t.Errorf("the function's output has no %s:\n%s", name, logs)
			}
		}
		if strings.Contains(logs, "tamper-111100000000012345678911") {
			t.Errorf("TTL's removal was reported:\n%s", logs)
		}
	})
}
