package tokens

import (
	"fmt"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/notices"
)

// ExpiresInDays is how many days an enabled token has left, counted in UTC
// calendar days as the status text says them (0: it expires today, 1:
// tomorrow), and true only while it expires within notices.WarnDays: what
// the list and the console warn about. The first expiry notice is sent
// WarnDays before the expiry, within the same window.
func ExpiresInDays(t access.Token, now time.Time) (int, bool) {
	if t.ExpiresAt == nil || t.Expired(now) {
		return 0, false
	}
	days := int(utcDay(*t.ExpiresAt).Sub(utcDay(now)) / (24 * time.Hour))
	return days, days <= notices.WarnDays
}

func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// expiresText is the status of an enabled token that expires: the product's
// "Enabled - Expires on <date>", and how soon within notices.WarnDays days.
func expiresText(t access.Token, now time.Time) string {
	at := t.ExpiresAt.UTC()
	days, soon := ExpiresInDays(t, now)
	switch {
	case !soon:
		return "Enabled - Expires on " + at.Format("Jan 02, 2006 15:04")
	case days == 0:
		return "Enabled - Expires today at " + at.Format("15:04")
	case days == 1:
		return "Enabled - Expires tomorrow at " + at.Format("15:04")
	default:
		return fmt.Sprintf("Enabled - Expires in %d days (%s)", days, at.Format("Jan 02, 2006 15:04"))
	}
}
