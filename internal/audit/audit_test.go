package audit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
)

func TestARequestIsCleanedOfWhatAClientChose(t *testing.T) {
	for _, tc := range []struct {
		name, ip, wantIP string
	}{
		{"an IPv4 address as given", "203.0.113.7", "203.0.113.7"},
		{"an IPv6 address in its canonical form", "2001:DB8:0:0::1", "2001:db8::1"},
		{"an address that does not parse is left out", "203.0.113.7, 10.0.0.1", ""},
		{"no address", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := audit.NewRequest(tc.ip, "", "").SourceIP; got != tc.wantIP {
				t.Fatalf("got %q, want %q", got, tc.wantIP)
			}
		})
	}
	// Long values are cut to their limits, never inside a character.
	ua := strings.Repeat("a", audit.MaxUserAgent-1) + "é" // its 2 bytes straddle the limit
	r := audit.NewRequest("", ua, strings.Repeat("r", audit.MaxRequestID+10))
	if r.UserAgent != strings.Repeat("a", audit.MaxUserAgent-1) {
		t.Errorf("got a user agent of %d bytes ending %q, want the %d bytes before the cut character", len(r.UserAgent), r.UserAgent[len(r.UserAgent)-2:], audit.MaxUserAgent-1)
	}
	if len(r.RequestID) != audit.MaxRequestID {
		t.Errorf("got a request id of %d bytes, want %d", len(r.RequestID), audit.MaxRequestID)
	}
	if short := audit.NewRequest("", "curl/8.5.0", "req-1"); short.UserAgent != "curl/8.5.0" || short.RequestID != "req-1" {
		t.Errorf("got %+v, want short values as given", short)
	}
}

func TestAnEventCarriesItsRequestAndItsCaller(t *testing.T) {
	ctx := audit.WithRequest(context.Background(), audit.NewRequest("203.0.113.7", "curl/8.5.0", "req-1"))
	at := time.Date(2026, 12, 1, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))
	token := access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "tok-1"}
	ev := audit.ByCaller(ctx, token, audit.TokenDeleted, audit.Target{Type: audit.TargetToken, ID: "tok-2"}, at)
	if ev.ID == "" || ev.Tenant != "acme" || ev.SourceIP != "203.0.113.7" || ev.UserAgent != "curl/8.5.0" || ev.RequestID != "req-1" {
		t.Fatalf("got %+v, want acme's event with the request's source, user agent and id", ev)
	}
	if want := (audit.Actor{Type: audit.ActorAPIToken, User: "ada@example.com", TokenID: "tok-1"}); ev.Actor != want {
		t.Errorf("got actor %+v, want %+v", ev.Actor, want)
	}
	if want := at.UTC().Truncate(time.Millisecond); !ev.Time.Equal(want) || ev.Time.Location() != time.UTC {
		t.Errorf("got time %v, want %v: UTC, to the millisecond", ev.Time, want)
	}
	// A session's actor names no token, whatever the principal holds.
	session := access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthSession, TokenID: "stale"}
	if a := audit.ActorOf(session); a.TokenID != "" || a.Type != audit.ActorSession {
		t.Errorf("got %+v, want a session actor without a token id", a)
	}
	// With adds a detail without changing the event it was called on.
	withNote := ev.With("note", "x")
	if withNote.Details["note"] != "x" || ev.Details["note"] != "" || len(ev.With("empty", "").Details) != 0 {
		t.Errorf("got %v then %v, want the detail on the copy only, and no empty detail", withNote.Details, ev.Details)
	}
}

// queries is a hand-written Store that keeps what it was asked.
type queries struct{ got []audit.Query }

func (q *queries) ListAuditEvents(_ context.Context, _ string, query audit.Query) (audit.Page, error) {
	q.got = append(q.got, query)
	return audit.Page{}, nil
}

func TestTheListRefusesBadQueriesBeforeAskingTheStore(t *testing.T) {
	p := access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthSession}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		q    audit.Query
		code string
	}{
		{"a limit under 1", audit.Query{Limit: -1}, "INVALID_LIMIT"},
		{"a limit over the maximum", audit.Query{Limit: audit.MaxPageSize + 1}, "INVALID_LIMIT"},
		{"an unknown action", audit.Query{Action: "api-token.stolen"}, "INVALID_ACTION"},
		{"since after until", audit.Query{Since: t0.Add(time.Second), Until: t0}, "INVALID_TIME_RANGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &queries{}
			_, err := (&audit.Lister{Store: st}).List(context.Background(), p, tc.q)
			if e := access.AsError(err); e.Code != tc.code || e.Kind != access.EINVALID || len(st.got) != 0 {
				t.Fatalf("got %v after %d store calls, want %s and none", err, len(st.got), tc.code)
			}
		})
	}
	// A good query reaches the store with its defaults filled in and its
	// times in UTC to the event's precision.
	st := &queries{}
	since := time.Date(2026, 12, 1, 10, 0, 0, 999999, time.FixedZone("CET", 3600))
	if _, err := (&audit.Lister{Store: st}).List(context.Background(), p, audit.Query{Action: audit.TokenCreated, Since: since, Until: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if len(st.got) != 1 || st.got[0].Limit != audit.DefaultPageSize || st.got[0].Since != t0 || st.got[0].Until != t0.Add(time.Hour) {
		t.Fatalf("got %+v, want the default limit and UTC times to the millisecond", st.got)
	}
}
