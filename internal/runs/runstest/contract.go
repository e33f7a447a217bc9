package runstest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// AuditedStore is a runs.Store whose audit events can be read back.
type AuditedStore interface {
	runs.Store
	audit.Store
}

// CheckStore holds a runs.Store to what the runs service relies on. open
// returns an empty store whose clock is now.
func CheckStore(t *testing.T, open func(t *testing.T, now func() time.Time) AuditedStore) {
	t0 := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	ctx := context.Background()
	run := func(tenant, id string) runs.Run {
		// Requested at the time in its id, as the service names runs.
		at, err := time.Parse("20060102t150405z", strings.Split(id, "-")[1])
		if err != nil {
			t.Fatal(err)
		}
		r := runs.Run{ID: id, Tenant: tenant, Sandbox: id[:4], ExecutionARN: "arn:aws:states:us-east-1:123456789012:execution:sandbox-refresh:" + id,
			RequestedAt: at, RequestedBy: "ada@acme.com", Source: "api", Input: `{"runId":"` + id + `"}`}
		r.Started(at)
		return r
	}
	// started and redriven are the events of claiming r, by ada.
	ada := audit.Actor{Type: audit.ActorSession, User: "ada@acme.com"}
	started := func(r runs.Run) audit.Event {
		return audit.New(ctx, r.Tenant, ada, audit.RunStarted, audit.Target{Type: audit.TargetRun, ID: r.ID}, r.RequestedAt)
	}
	redriven := func(r runs.Run) audit.Event {
		return audit.New(ctx, r.Tenant, ada, audit.RunRedriven, audit.Target{Type: audit.TargetRun, ID: r.ID}, r.RequestedAt.Add(time.Hour))
	}
	newStore := func(t *testing.T) (AuditedStore, *testenv.Clock) {
		clock := testenv.NewClock(t0)
		return open(t, clock.Now), clock
	}
	wantConflict := func(t *testing.T, err error) {
		t.Helper()
		if access.ErrorKind(err) != access.ECONFLICT {
			t.Fatalf("got %v, want ECONFLICT", err)
		}
	}

	t.Run("a claim of a free sandbox takes its lock and writes the run", func(t *testing.T) {
		st, clock := newStore(t)
		if lock, err := st.ActiveRun(ctx, "acme", "uat1"); err != nil || lock != (runs.Lock{}) {
			t.Fatalf("a free sandbox: got %+v, %v; want no lock", lock, err)
		}
		first := run("acme", "uat1-20261127t020000z-a")
		first.IdempotencyKey = "nightly"
		clock.Add(time.Second)
		if err := st.ClaimRun(ctx, first, "", started(first)); err != nil {
			t.Fatal(err)
		}
		if lock, err := st.ActiveRun(ctx, "acme", "uat1"); err != nil || lock.RunID != first.ID || !lock.ClaimedAt.Equal(clock.Now()) {
			t.Fatalf("got %+v, %v; want the lock held by %s since the claim, %v", lock, err, first.ID, clock.Now())
		}
		if got, err := st.GetRun(ctx, "acme", first.ID); err != nil || !reflect.DeepEqual(got, first) {
			t.Fatalf("got %+v, %v; want %+v", got, err, first)
		}
		if _, err := st.GetRun(ctx, "globex", first.ID); access.ErrorKind(err) != access.ENOTFOUND {
			t.Fatalf("another tenant's read: got %v, want ENOTFOUND", err)
		}
		if _, err := st.GetRun(ctx, "acme", "uat1-20261127t020000z-b"); access.ErrorKind(err) != access.ENOTFOUND {
			t.Fatalf("an unknown run: got %v, want ENOTFOUND", err)
		}
	})

	t.Run("a claim that does not name the holder is a conflict and writes nothing", func(t *testing.T) {
		st, _ := newStore(t)
		first, second := run("acme", "uat1-20261127t020000z-a"), run("acme", "uat1-20261127t030000z-b")
		if err := st.ClaimRun(ctx, first, "", started(first)); err != nil {
			t.Fatal(err)
		}
		second.IdempotencyKey = "retry"
		wantConflict(t, st.ClaimRun(ctx, second, "", started(second)))
		wantConflict(t, st.ClaimRun(ctx, second, "uat1-20261127t010000z-x", started(second)))
		if _, err := st.GetRun(ctx, "acme", second.ID); access.ErrorKind(err) != access.ENOTFOUND {
			t.Fatalf("got %v, want the losing run unwritten (ENOTFOUND)", err)
		}
		if id, err := st.RunIDForKey(ctx, "acme", "uat1", "retry"); err != nil || id != "" {
			t.Fatalf("got %q, %v; want the losing run's key unwritten", id, err)
		}
		if lock, _ := st.ActiveRun(ctx, "acme", "uat1"); lock.RunID != first.ID {
			t.Fatalf("got lock %+v, want it still %s's", lock, first.ID)
		}
		dev2 := run("acme", "dev2-20261127t020000z-c")
		wantConflict(t, st.ClaimRun(ctx, dev2, first.ID, started(dev2)))
	})

	t.Run("a claim from the holder takes the lock over, and a holder may claim again", func(t *testing.T) {
		st, clock := newStore(t)
		first, second := run("acme", "uat1-20261127t020000z-a"), run("acme", "uat1-20261127t030000z-b")
		if err := st.ClaimRun(ctx, first, "", started(first)); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Hour)
		if err := st.ClaimRun(ctx, second, first.ID, started(second)); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Hour)
		// A redrive re-claims the lock for the run, and writes no record.
		if _, err := st.UpdateRun(ctx, "acme", second.ID, func(r *runs.Run) bool { r.CurrentStep = "masking"; return true }); err != nil {
			t.Fatal(err)
		}
		if err := st.ClaimRedrive(ctx, second, second.ID, redriven(second)); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetRun(ctx, "acme", second.ID); got.CurrentStep != "masking" {
			t.Fatalf("got %+v, want the record as the update left it", got)
		}
		wantConflict(t, st.ClaimRedrive(ctx, first, first.ID, redriven(first)))
		wantConflict(t, st.ClaimRun(ctx, second, second.ID, started(second))) // a run is claimed new once
		if lock, _ := st.ActiveRun(ctx, "acme", "UAT1"); lock.RunID != second.ID || !lock.ClaimedAt.Equal(clock.Now()) {
			t.Fatalf("got %+v, want %s's lock, claimed at %v (the sandbox in any case)", lock, second.ID, clock.Now())
		}
	})

	t.Run("of concurrent claims of a free sandbox exactly one wins", func(t *testing.T) {
		st, _ := newStore(t)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				r := run("acme", fmt.Sprintf("uat1-20261127t020000z-%d", i))
				errs[i] = st.ClaimRun(ctx, r, "", started(r))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if access.ErrorKind(err) != access.ECONFLICT {
				t.Errorf("got %v, want success or ECONFLICT", err)
			}
		}
		if won != 1 {
			t.Fatalf("got %d winners, want 1", won)
		}
	})

	t.Run("an Idempotency-Key names its run for a day, in its tenant and sandbox", func(t *testing.T) {
		st, clock := newStore(t)
		first := run("acme", "uat1-20261127t020000z-a")
		first.IdempotencyKey = "nightly"
		if id, err := st.RunIDForKey(ctx, "acme", "uat1", "nightly"); err != nil || id != "" {
			t.Fatalf("before the run: got %q, %v; want none", id, err)
		}
		if err := st.ClaimRun(ctx, first, "", started(first)); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ tenant, sandbox, key, want string }{
			{"acme", "uat1", "nightly", first.ID},
			{"acme", "UAT1", "nightly", first.ID},
			{"acme", "uat1", "Nightly", ""},
			{"acme", "dev2", "nightly", ""},
			{"globex", "uat1", "nightly", ""},
		} {
			if id, err := st.RunIDForKey(ctx, c.tenant, c.sandbox, c.key); err != nil || id != c.want {
				t.Errorf("%s/%s key %q: got %q, %v; want %q", c.tenant, c.sandbox, c.key, id, err, c.want)
			}
		}
		clock.Add(runs.IdempotencyWindow - time.Minute)
		if id, _ := st.RunIDForKey(ctx, "acme", "uat1", "nightly"); id != first.ID {
			t.Fatalf("a minute before the day is over: got %q, want %s", id, first.ID)
		}
		clock.Add(2 * time.Minute)
		if id, _ := st.RunIDForKey(ctx, "acme", "uat1", "nightly"); id != "" {
			t.Fatalf("a minute after the day: got %q, want none", id)
		}
	})

	t.Run("an update applies a change once, and concurrent updates all land", func(t *testing.T) {
		st, _ := newStore(t)
		r := run("acme", "uat1-20261127t020000z-a")
		if err := st.ClaimRun(ctx, r, "", started(r)); err != nil {
			t.Fatal(err)
		}
		got, err := st.UpdateRun(ctx, "acme", r.ID, func(*runs.Run) bool { return false })
		if err != nil || got.Version != 0 {
			t.Fatalf("a change that changes nothing: got version %d, %v; want 0", got.Version, err)
		}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if _, err := st.UpdateRun(ctx, "acme", r.ID, func(run *runs.Run) bool {
					run.Steps = append(run.Steps, runs.Step{Name: fmt.Sprint(i)})
					return true
				}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err = st.GetRun(ctx, "acme", r.ID)
		if err != nil || len(got.Steps) != 8 || got.Version != 8 {
			t.Fatalf("got %d steps at version %d, %v; want all 8 updates, none lost", len(got.Steps), got.Version, err)
		}
		if _, err := st.UpdateRun(ctx, "globex", r.ID, func(*runs.Run) bool { return true }); access.ErrorKind(err) != access.ENOTFOUND {
			t.Fatalf("another tenant's update: got %v, want ENOTFOUND", err)
		}
	})

	t.Run("runs are listed newest first, by tenant and sandbox", func(t *testing.T) {
		st, _ := newStore(t)
		previous := map[string]string{}
		for _, r := range []runs.Run{
			run("acme", "uat1-20261127t010000z-a"), run("acme", "uat1-20261127t020000z-b"), run("acme", "uat1-20261127t030000z-c"),
			run("acme", "uat9-20261127t040000z-d"), run("globex", "uat1-20261127t050000z-e"),
		} {
			if err := st.ClaimRun(ctx, r, previous[r.Tenant+r.Sandbox], started(r)); err != nil {
				t.Fatal(err)
			}
			previous[r.Tenant+r.Sandbox] = r.ID
		}
		ids := func(list []runs.Run, err error) string {
			if err != nil {
				return err.Error()
			}
			var out []string
			for _, r := range list {
				out = append(out, r.ID)
			}
			return fmt.Sprint(out)
		}
		for _, c := range []struct {
			tenant, sandbox string
			limit           int
			want            string
		}{
			{"acme", "uat1", 10, "[uat1-20261127t030000z-c uat1-20261127t020000z-b uat1-20261127t010000z-a]"},
			{"acme", "UAT1", 2, "[uat1-20261127t030000z-c uat1-20261127t020000z-b]"},
			{"acme", "uat9", 10, "[uat9-20261127t040000z-d]"},
			{"acme", "dev2", 10, "[]"},
			{"globex", "uat1", 10, "[uat1-20261127t050000z-e]"},
			{"acme", "", 10, "[uat9-20261127t040000z-d uat1-20261127t030000z-c uat1-20261127t020000z-b uat1-20261127t010000z-a]"},
			{"acme", "", 2, "[uat9-20261127t040000z-d uat1-20261127t030000z-c]"},
		} {
			if got := ids(st.ListRuns(ctx, c.tenant, c.sandbox, c.limit)); got != c.want {
				t.Errorf("%s/%s, limit %d: got %s, want %s", c.tenant, c.sandbox, c.limit, got, c.want)
			}
		}
	})

	events := func(t *testing.T, st AuditedStore, tenant string, a audit.Action) []audit.Event {
		t.Helper()
		page, err := st.ListAuditEvents(ctx, tenant, audit.Query{Action: a, Limit: audit.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		return page.Items
	}

	t.Run("a claim writes its audit event with it, and a refused claim writes none", func(t *testing.T) {
		st, _ := newStore(t)
		first, second := run("acme", "uat1-20261127t020000z-a"), run("acme", "uat1-20261127t030000z-b")
		ev := started(first)
		if err := st.ClaimRun(ctx, first, "", ev); err != nil {
			t.Fatal(err)
		}
		wantConflict(t, st.ClaimRun(ctx, second, "", started(second)))
		wantConflict(t, st.ClaimRedrive(ctx, second, "someone-else", redriven(second)))
		got := events(t, st, "acme", "")
		if len(got) != 1 || got[0].ID != ev.ID || got[0].Target.ID != first.ID || got[0].Actor != ada {
			t.Fatalf("got %+v, want the one event of the claim that won (%s)", got, ev.ID)
		}
		if err := st.ClaimRedrive(ctx, first, first.ID, redriven(first)); err != nil {
			t.Fatal(err)
		}
		if got := events(t, st, "acme", audit.RunRedriven); len(got) != 1 || got[0].Target.ID != first.ID {
			t.Fatalf("got %+v, want the redrive's event", got)
		}
		if got := events(t, st, "globex", ""); len(got) != 0 {
			t.Fatalf("another tenant's events: got %+v, want none", got)
		}
	})

	t.Run("the update that ends a running run writes its finished event, once", func(t *testing.T) {
		st, clock := newStore(t)
		r := run("acme", "uat1-20261127t020000z-a")
		if err := st.ClaimRun(ctx, r, "", started(r)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateRun(ctx, "acme", r.ID, func(run *runs.Run) bool { run.CurrentStep = "masking"; return true }); err != nil {
			t.Fatal(err)
		}
		if got := events(t, st, "acme", audit.RunFinished); len(got) != 0 {
			t.Fatalf("a run still running: got %+v, want no finished event", got)
		}
		clock.Add(time.Hour)
		finish := func(run *runs.Run) bool {
			return run.Finish(1, runs.StatusFailed, &runs.Failure{Code: "MASKING_FAILED"}, clock.Now())
		}
		if _, err := st.UpdateRun(ctx, "acme", r.ID, finish); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateRun(ctx, "acme", r.ID, finish); err != nil { // a replayed status change
			t.Fatal(err)
		}
		got := events(t, st, "acme", audit.RunFinished)
		if len(got) != 1 || got[0].Target != (audit.Target{Type: audit.TargetRun, ID: r.ID}) || got[0].Details["status"] != runs.StatusFailed ||
			got[0].Actor.Type != audit.ActorService || !got[0].Time.Equal(clock.Now()) {
			t.Fatalf("got %+v, want one finished event of %s, FAILED, by the service at %v", got, r.ID, clock.Now())
		}
		// Redriven and ended again: a second finish, a second event.
		clock.Add(time.Minute)
		if _, err := st.UpdateRun(ctx, "acme", r.ID, func(run *runs.Run) bool { return run.Redriven(2, clock.Now()) }); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateRun(ctx, "acme", r.ID, func(run *runs.Run) bool { return run.Finish(2, runs.StatusSucceeded, nil, clock.Now()) }); err != nil {
			t.Fatal(err)
		}
		if got := events(t, st, "acme", audit.RunFinished); len(got) != 2 || got[0].Details["status"] != runs.StatusSucceeded {
			t.Fatalf("got %+v, want the second end (SUCCEEDED) first", got)
		}
	})
}
