package audit

import (
	"context"
	"strings"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
)

// DetailType is the detail-type of each event on the stack's bus (source
// eventbus.Source); its detail is the Event.
const DetailType = "Audit Event Recorded"

// Limits of the list.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// Query is what GET /audit-events asks for. The zero Query is the newest
// DefaultPageSize events of every action.
type Query struct {
	Action Action    // "" for every action
	Since  time.Time // the oldest time listed; zero for no bound
	Until  time.Time // the newest time listed; zero for no bound
	Limit  int       // 1 to MaxPageSize; 0 for DefaultPageSize
	Cursor string    // the previous page's Next
}

// Page is one page of a tenant's events, newest first.
type Page struct {
	Items []Event
	Next  string // "" on the last page
}

// Store lists events. The cursor is the store's: it must refuse one it did
// not make for this tenant and query (INVALID_NEXT_TOKEN).
type Store interface {
	ListAuditEvents(ctx context.Context, tenant string, q Query) (Page, error)
}

// Lister serves the list.
type Lister struct {
	Store Store
}

// List returns one page of the events of p's tenant that q asks for. Any
// caller of the tenant with the scope audit:read may list them (a session
// has it); bad input is a 400 that lists nothing.
func (l *Lister) List(ctx context.Context, p access.Principal, q Query) (Page, error) {
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return Page{}, ErrInvalidLimit()
	}
	if q.Action != "" && !q.Action.Known() {
		names := make([]string, len(actions))
		for i, a := range actions {
			names[i] = string(a)
		}
		return Page{}, access.Errorf(access.EINVALID, "INVALID_ACTION", "Unknown action %q: an action is one of %s.", q.Action, strings.Join(names, ", "))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Since.After(q.Until) {
		return Page{}, access.Errorf(access.EINVALID, "INVALID_TIME_RANGE", "since must not be after until.")
	}
	q.Since, q.Until = q.Since.UTC().Truncate(Precision), q.Until.UTC().Truncate(Precision)
	return l.Store.ListAuditEvents(ctx, p.Tenant, q)
}

// ErrInvalidLimit is the error for a limit out of range.
func ErrInvalidLimit() *access.Error {
	return access.Errorf(access.EINVALID, "INVALID_LIMIT", "limit must be a whole number from 1 to %d.", MaxPageSize)
}

// ErrInvalidTime is the error for a since or until that is not an RFC 3339 time.
func ErrInvalidTime(name string) *access.Error {
	return access.Errorf(access.EINVALID, "INVALID_TIME", "%s must be an RFC 3339 time, for example 2026-11-27T12:00:00Z.", name)
}
