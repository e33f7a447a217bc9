package lambdatest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dcs-access/dcs-access/internal/notices"
)

// expiryNotices returns the expiry notices the stack's bus received since
// the last read of the queue (other events are dropped).
func (s *stack) expiryNotices(t *testing.T) []publishedEvent {
	t.Helper()
	var out []publishedEvent
	for _, e := range s.pipeline.published(t) {
		if e.DetailType == notices.DetailExpiring || e.DetailType == notices.DetailExpired {
			out = append(out, e)
		}
	}
	return out
}

// tick runs the expiry notices function once with events/expiry-notices-tick.json.
func (s *stack) tick(t *testing.T, event []byte) notices.Report {
	t.Helper()
	out, err := invoke(t, s.fns["ExpiryNoticesFunction"], event)
	if err != nil {
		t.Fatalf("invoke ExpiryNoticesFunction: %v", err)
	}
	return decode[notices.Report](t, string(out))
}

func (s *stack) feedExpirySample(t *testing.T, feed func(string) string) {
	t.Run("expiry-notices-tick.json puts the notice due on the stack's bus, once", func(t *testing.T) {
		// A 1-day token's 1-day notice is due as it is made.
		tok := s.createToken(t, `{"description":"expiring sample","lifespanDays":1}`)
		if r := s.tick(t, readEvent(t, feed("expiry-notices-tick.json"))); r.Due != 1 || r.Sent != 1 {
			t.Fatalf("got %+v, want one notice due and sent", r)
		}
		got := s.expiryNotices(t)
		if len(got) != 1 || got[0].Source != "dcs-access" || got[0].DetailType != "API Token Expiring" {
			t.Fatalf("got %+v on the bus, want one API Token Expiring from dcs-access", got)
		}
		var detail map[string]any
		if err := json.Unmarshal(got[0].Detail, &detail); err != nil {
			t.Fatal(err)
		}
		if got := keysOf(t, string(got[0].Detail)); got != "description,expiresAt,notice,noticeId,tenant,tokenId,user" {
			t.Errorf("the detail has keys %s, want the token's id, description, user, tenant, expiry and the notice", got)
		}
		if detail["tokenId"] != tok.ID || detail["description"] != "expiring sample" || detail["user"] != "ada@example.com" ||
			detail["tenant"] != "acme" || detail["expiresAt"] != *tok.ExpiresAt || detail["notice"] != "expiring-1-day" {
			t.Errorf("got detail %v, want token %s's 1-day notice", detail, tok.ID)
		}
		if strings.Contains(string(got[0].Detail), tok.Token) {
			t.Fatal("the notice holds the token")
		}
		// The same tick again (a retry, a duplicate delivery) sends nothing.
		if r := s.tick(t, readEvent(t, "expiry-notices-tick.json")); r.Sent != 0 {
			t.Fatalf("the same tick again: got %+v, want nothing sent", r)
		}
		if got := s.expiryNotices(t); len(got) != 0 {
			t.Fatalf("the same tick again put %+v on the bus, want nothing", got)
		}
	})
}
