// Package notices tells a token's owners that it is about to expire, and
// that it has: "API Token Expiring" on the stack's bus 7 days and 1 day
// before a token expires, and "API Token Expired" when it has, each sent
// once. A scheduled run (Finder.Run) finds the notices that are due in a
// sparse index of the token table (internal/dynamo), claims each one with a
// conditional write, publishes it, and records it as sent; docs/security.md,
// "Expiry notices", says why it is built so and what it promises.
package notices

import (
	"context"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
)

// Detail types of the notices on the stack's bus (source eventbus.Source).
const (
	DetailExpiring = "API Token Expiring"
	DetailExpired  = "API Token Expired"
)

// WarnDays is how many days before its expiry a token's first notice is
// due, and within how many days the token list says "Expires in N days".
const WarnDays = 7

// Notice is one of a token's notices, in the order they are due. A token's
// next notice is a Notice; Done says every one has been dealt with.
type Notice int

// The notices, in the order they are due.
const (
	Expiring7Days Notice = iota
	Expiring1Day
	Expired
	// Done is past the last notice: nothing is left to send.
	Done
)

// schedule is, for each notice, how long before the expiry it is due, its
// detail-type and the name events carry.
var schedule = [Done]struct {
	before     time.Duration
	detailType string
	name       string
}{
	Expiring7Days: {WarnDays * 24 * time.Hour, DetailExpiring, "expiring-7-days"},
	Expiring1Day:  {24 * time.Hour, DetailExpiring, "expiring-1-day"},
	Expired:       {0, DetailExpired, "expired"},
}

// MaxLead is how long before its expiry a token's earliest notice is due.
const MaxLead = WarnDays * 24 * time.Hour

// DueAt is when n is due for a token that expires at expires.
func (n Notice) DueAt(expires time.Time) time.Time { return expires.Add(-schedule[n].before) }

// DetailType is n's detail-type on the bus.
func (n Notice) DetailType() string { return schedule[n].detailType }

// String is n's name in events and records: "expiring-7-days",
// "expiring-1-day", "expired".
func (n Notice) String() string {
	if n < 0 || n >= Done {
		return "done"
	}
	return schedule[n].name
}

// First is the first notice of a token created at created that expires at
// expires: the first one due within its life (a 7-day token's 7-day notice
// is due as it is created, and is sent; a 3-day token gets none of 7 days).
// Tokens that never expire get no notices at all.
func First(created, expires time.Time) Notice {
	for n := Expiring7Days; n < Done; n++ {
		if !n.DueAt(expires).Before(created) {
			return n
		}
	}
	return Done
}

// Latest is the last notice due at now for a token that expires at expires,
// and false when none is due yet. A run that comes late (the function was
// down) sends the latest notice only: "expiring in 7 days" is not worth
// sending once the token has expired.
func Latest(expires, now time.Time) (Notice, bool) {
	for n := Expired; n >= Expiring7Days; n-- {
		if !now.Before(n.DueAt(expires)) {
			return n, true
		}
	}
	return 0, false
}

// Detail is what a notice says: never the token itself, which is not
// stored anywhere. NoticeID is the same for every copy of one notice, so a
// consumer can drop the rare duplicate (docs/security.md, "Expiry notices").
type Detail struct {
	TokenID     string `json:"tokenId"`
	Description string `json:"description"`
	User        string `json:"user"`
	Tenant      string `json:"tenant"`
	ExpiresAt   string `json:"expiresAt"`
	Notice      string `json:"notice"`
	NoticeID    string `json:"noticeId"`
}

// DetailOf is the detail of notice n of token t.
func DetailOf(t access.Token, n Notice) Detail {
	d := Detail{TokenID: t.ID, Description: t.Description, User: t.AssociatedUser, Tenant: t.Tenant, Notice: n.String(), NoticeID: t.ID + "/" + n.String()}
	if t.ExpiresAt != nil {
		d.ExpiresAt = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return d
}

// ExpiredEvent is the audit event of token t having expired, as the run
// that sends its Expired notice at now records it (with the notice's record:
// Store.RecordNotice). dcs-access is the actor.
func ExpiredEvent(ctx context.Context, t access.Token, now time.Time) audit.Event {
	ev := audit.New(ctx, t.Tenant, audit.Service("expiry-notices"), audit.TokenExpired, audit.Target{Type: audit.TargetToken, ID: t.ID}, now).
		With("description", t.Description)
	if t.ExpiresAt != nil {
		ev = ev.With("expiresAt", t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return ev
}
