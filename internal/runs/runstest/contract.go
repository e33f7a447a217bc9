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
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// CheckStore holds a runs.Store to what the runs service relies on. open
// returns an empty store whose clock is now.
func CheckStore(t *testing.T, open func(t *testing.T, now func() time.Time) runs.Store) {
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
	newStore := func(t *testing.T) (runs.Store, *testenv.Clock) {
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
		if err := st.ClaimRun(ctx, first, ""); err != nil {
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
		if err := st.ClaimRun(ctx, first, ""); err != nil {
			t.Fatal(err)
		}
		second.IdempotencyKey = "retry"
		wantConflict(t, st.ClaimRun(ctx, second, ""))
		wantConflict(t, st.ClaimRun(ctx, second, "uat1-20261127t010000z-x"))
		if _, err := st.GetRun(ctx, "acme", second.ID); access.ErrorKind(err) != access.ENOTFOUND {
			t.Fatalf("got %v, want the losing run unwritten (ENOTFOUND)", err)
		}
		if id, err := st.RunIDForKey(ctx, "acme", "uat1", "retry"); err != nil || id != "" {
			t.Fatalf("got %q, %v; want the losing run's key unwritten", id, err)
		}
		if lock, _ := st.ActiveRun(ctx, "acme", "uat1"); lock.RunID != first.ID {
			t.Fatalf("got lock %+v, want it still %s's", lock, first.ID)
		}
		wantConflict(t, st.ClaimRun(ctx, run("acme", "dev2-20261127t020000z-c"), first.ID))
	})

	t.Run("a claim from the holder takes the lock over, and a holder may claim again", func(t *testing.T) {
		st, clock := newStore(t)
		first, second := run("acme", "uat1-20261127t020000z-a"), run("acme", "uat1-20261127t030000z-b")
		if err := st.ClaimRun(ctx, first, ""); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Hour)
		if err := st.ClaimRun(ctx, second, first.ID); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Hour)
		// A redrive re-claims the lock for the run, and writes no record.
		if _, err := st.UpdateRun(ctx, "acme", second.ID, func(r *runs.Run) bool { r.CurrentStep = "masking"; return true }); err != nil {
			t.Fatal(err)
		}
		if err := st.ClaimRedrive(ctx, second, second.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetRun(ctx, "acme", second.ID); got.CurrentStep != "masking" {
			t.Fatalf("got %+v, want the record as the update left it", got)
		}
		wantConflict(t, st.ClaimRedrive(ctx, first, first.ID))
		wantConflict(t, st.ClaimRun(ctx, second, second.ID)) // a run is claimed new once
		if lock, _ := st.ActiveRun(ctx, "acme", "UAT1"); lock.RunID != second.ID || !lock.ClaimedAt.Equal(clock.Now()) {
			t.Fatalf("got %+v, want %s's lock, claimed at %v (the sandbox in any case)", lock, second.ID, clock.Now())
		}
	})

	t.Run("of concurrent claims of a free sandbox exactly one wins", func(t *testing.T) {
		st, _ := newStore(t)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = st.ClaimRun(ctx, run("acme", fmt.Sprintf("uat1-20261127t020000z-%d", i)), "") })
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
		if err := st.ClaimRun(ctx, first, ""); err != nil {
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
		if err := st.ClaimRun(ctx, r, ""); err != nil {
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
			if err := st.ClaimRun(ctx, r, previous[r.Tenant+r.Sandbox]); err != nil {
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
}
