package notices_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/notices"
)

var created = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func TestFirstIsTheFirstNoticeWithinTheTokensLife(t *testing.T) {
	for _, tc := range []struct {
		lifespan int
		want     notices.Notice
	}{
		{30, notices.Expiring7Days},
		{8, notices.Expiring7Days},
		{7, notices.Expiring7Days}, // due as it is created
		{6, notices.Expiring1Day},
		{2, notices.Expiring1Day},
		{1, notices.Expiring1Day}, // due as it is created
	} {
		if got := notices.First(created, created.Add(days(tc.lifespan))); got != tc.want {
			t.Errorf("a %d-day token: got first notice %s, want %s", tc.lifespan, got, tc.want)
		}
	}
	if got := notices.First(created, created.Add(-time.Second)); got != notices.Done {
		t.Errorf("a token that expired before it was made: got %s, want none", got)
	}
}

func TestLatestIsTheLastNoticeDue(t *testing.T) {
	expires := created.Add(days(30))
	for _, tc := range []struct {
		name string
		at   time.Time
		want notices.Notice
		due  bool
	}{
		{"a second before the 7-day notice, none", expires.Add(-days(7) - time.Second), 0, false},
		{"at the 7-day notice", expires.Add(-days(7)), notices.Expiring7Days, true},
		{"a second before the 1-day notice, still the 7-day one", expires.Add(-days(1) - time.Second), notices.Expiring7Days, true},
		{"at the 1-day notice", expires.Add(-days(1)), notices.Expiring1Day, true},
		{"a second before the expiry, the 1-day one", expires.Add(-time.Second), notices.Expiring1Day, true},
		{"at the expiry", expires, notices.Expired, true},
		{"long after", expires.Add(days(29)), notices.Expired, true},
	} {
		got, due := notices.Latest(expires, tc.at)
		if due != tc.due || (due && got != tc.want) {
			t.Errorf("%s: got %s (due %v), want %s (due %v)", tc.name, got, due, tc.want, tc.due)
		}
	}
}

func TestADetailNamesTheTokenAndNeverHoldsIt(t *testing.T) {
	exp := created.Add(days(30))
	tok := access.Token{ID: "019ac5e2-7b3f-7c1e-9a4d-3f2b1c0d9e8f", Tenant: "acme", Description: "nightly masking",
		AssociatedUser: "ada@example.com", CreatedAt: created, ExpiresAt: &exp}
	raw, err := json.Marshal(notices.DetailOf(tok, notices.Expiring1Day))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"tokenId":"019ac5e2-7b3f-7c1e-9a4d-3f2b1c0d9e8f","description":"nightly masking","user":"ada@example.com",` +
		`"tenant":"acme","expiresAt":"2026-12-27T12:00:00Z","notice":"expiring-1-day","noticeId":"019ac5e2-7b3f-7c1e-9a4d-3f2b1c0d9e8f/expiring-1-day"}`
	if string(raw) != want {
		t.Errorf("got %s, want %s", raw, want)
	}
	if notices.Expiring7Days.DetailType() != "API Token Expiring" || notices.Expiring1Day.DetailType() != "API Token Expiring" ||
		notices.Expired.DetailType() != "API Token Expired" {
		t.Error("the detail-types are not API Token Expiring, API Token Expiring, API Token Expired")
	}
}
