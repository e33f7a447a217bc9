package tokens_test

import (
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

func TestStatusTextSaysHowSoonWithinTheWarningDays(t *testing.T) {
	// now is 2026-11-27 09:30:15 UTC.
	at := func(s string) *time.Time { v, _ := time.Parse(time.RFC3339, s); return &v }
	tests := []struct {
		name      string
		expiresAt *time.Time
		wantText  string
		wantDays  int
		wantSoon  bool
	}{
		{"eight days ahead is the product's date alone", at("2026-12-05T00:00:00Z"), "Enabled - Expires on Dec 05, 2026 00:00", 8, false},
		{"seven calendar days ahead counts the days", at("2026-12-04T23:59:00Z"), "Enabled - Expires in 7 days (Dec 04, 2026 23:59)", 7, true},
		{"three days ahead", at("2026-11-30T10:00:00Z"), "Enabled - Expires in 3 days (Nov 30, 2026 10:00)", 3, true},
		{"two days ahead", at("2026-11-29T08:00:00Z"), "Enabled - Expires in 2 days (Nov 29, 2026 08:00)", 2, true},
		{"the next UTC day is tomorrow, even 15 hours away", at("2026-11-28T00:30:00Z"), "Enabled - Expires tomorrow at 00:30", 1, true},
		{"later the same UTC day is today", at("2026-11-27T23:59:00Z"), "Enabled - Expires today at 23:59", 0, true},
		{"one second left is today", at("2026-11-27T09:30:16Z"), "Enabled - Expires today at 09:30", 0, true},
		{"at its expiry it is expired, with no days left", at("2026-11-27T09:30:15Z"), "Expired", 0, false},
		{"an expiry given in another zone is counted in UTC", at("2026-11-28T01:00:00+05:00"), "Enabled - Expires today at 20:00", 0, true},
		{"a token that never expires has no days", nil, "Enabled - Never expires", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk := access.Token{ExpiresAt: tc.expiresAt}
			if got := tokens.StatusText(tk, now); got != tc.wantText {
				t.Errorf("got text %q, want %q", got, tc.wantText)
			}
			days, soon := tokens.ExpiresInDays(tk, now)
			if days != tc.wantDays || soon != tc.wantSoon {
				t.Errorf("got %d days, soon %v; want %d, %v", days, soon, tc.wantDays, tc.wantSoon)
			}
		})
	}
}
