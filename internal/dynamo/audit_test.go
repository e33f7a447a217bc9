package dynamo_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// auditEvents are every event of tenant (of action, when not ""), newest
// first, read page by page.
func auditEvents(t *testing.T, st *dynamo.Store, tenant string, action audit.Action) []audit.Event {
	t.Helper()
	var all []audit.Event
	q := audit.Query{Action: action, Limit: 2}
	for {
		page, err := st.ListAuditEvents(context.Background(), tenant, q)
		if err != nil {
			t.Fatalf("list %s's events: %v", tenant, err)
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all
		}
		q.Cursor = page.Next
	}
}

// wantEvents checks that tenant's events are exactly evs' ids, newest first.
func wantEvents(t *testing.T, st *dynamo.Store, tenant string, evs ...audit.Event) {
	t.Helper()
	var got, want []string
	for _, ev := range auditEvents(t, st, tenant, "") {
		got = append(got, string(ev.Action)+" "+ev.ID)
	}
	for _, ev := range slices.Backward(evs) {
		want = append(want, string(ev.Action)+" "+ev.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got events %v, want %v", got, want)
	}
}

// at is ev made at a time of its own (events sort by time).
func at(ev audit.Event, when time.Time) audit.Event {
	ev.Time = when.UTC().Truncate(audit.Precision)
	return ev
}

// Each change that is a DynamoDB write records its event, and the store
// lists it with the change made: every store method that changes something.
func TestEachChangeWritesItsEventWithIt(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	var written []audit.Event
	step := func(when time.Duration, ev audit.Event) audit.Event {
		ev = at(ev, t0.Add(when))
		written = append(written, ev)
		return ev
	}

	tk := token("acme", "nightly", t0)
	if err := st.Create(ctx, tk, access.DefaultPolicy(), step(1*time.Second, audittest.TokenCreated("acme", tk.ID))); err != nil {
		t.Fatal(err)
	}
	next := token("acme", "nightly", t0)
	next.Rotation.From = tk.ID
	r := access.Replacement{By: next.ID, At: t0, Until: t0.Add(time.Hour)}
	if err := st.Rotate(ctx, tk, next, r, access.DefaultPolicy(), step(2*time.Second, audittest.Event("acme", audit.TokenRotated, audit.TargetToken, tk.ID))); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "acme", next.ID, tokens.Deleter{}, step(3*time.Second, audittest.TokenDeleted("acme", next.ID))); err != nil {
		t.Fatal(err)
	}
	leaked := token("acme", "leaked", t0)
	if err := st.Create(ctx, leaked, access.DefaultPolicy(), step(4*time.Second, audittest.TokenCreated("acme", leaked.ID))); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Revoke(ctx, "acme", leaked.ID, step(5*time.Second, audittest.Event("acme", audit.TokenRevokedAsLeaked, audit.TargetToken, leaked.ID))); err != nil {
		t.Fatal(err)
	}
	used := token("acme", "ci", t0)
	if err := st.Create(ctx, used, access.DefaultPolicy(), step(6*time.Second, audittest.TokenCreated("acme", used.ID))); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.RecordNewIP(ctx, used, t0, "203.0.113.7", step(7*time.Second, audittest.Event("acme", audit.TokenUsedFromNewIP, audit.TargetToken, used.ID))); !ok || err != nil {
		t.Fatalf("got (%v, %v), want the first use recorded", ok, err)
	}
	for i, created := range []bool{true, false} { // a new plan, then its replacement
		got, err := st.PutPlan(ctx, "acme", plans.Plan{Sandbox: "uat1"}, step(time.Duration(8+i)*time.Second, audittest.PlanSaved("acme")))
		if err != nil || got != created {
			t.Fatalf("put %d: got created %v, %v; want %v", i, got, err, created)
		}
	}
	if err := st.DeletePlan(ctx, "acme", "uat1", step(10*time.Second, audittest.PlanDeleted("acme"))); err != nil {
		t.Fatal(err)
	}
	run := runs.Run{ID: "uat1-20261127t120000z-a", Tenant: "acme", Sandbox: "uat1", RequestedAt: t0, Source: "api", Input: "{}"}
	run.Started(t0)
	if err := st.ClaimRun(ctx, run, "", step(11*time.Second, audittest.RunStarted("acme", run.ID))); err != nil {
		t.Fatal(err)
	}
	if err := st.ClaimRedrive(ctx, run, run.ID, step(12*time.Second, audittest.Event("acme", audit.RunRedriven, audit.TargetRun, run.ID))); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateRun(ctx, "acme", run.ID, func(r *runs.Run) bool { return r.Finish(1, runs.StatusSucceeded, nil, t0) }); err != nil {
		t.Fatal(err)
	}

	got := auditEvents(t, st, "acme", "")
	if len(got) != len(written)+1 {
		t.Fatalf("got %d events, want %d: one per change", len(got), len(written)+1)
	}
	// The run's end is the store's own event, at its clock (t0): the oldest.
	finished := got[len(got)-1]
	if finished.Action != audit.RunFinished || finished.Target.ID != run.ID || finished.Details["status"] != runs.StatusSucceeded || finished.Actor.Type != audit.ActorService {
		t.Fatalf("got %+v as the oldest event, want the run's end, by the service", finished)
	}
	for i, ev := range slices.Backward(written) {
		if g := got[len(written)-1-i]; g.ID != ev.ID || g.Action != ev.Action || g.Target != ev.Target || !g.Time.Equal(ev.Time) {
			t.Errorf("event %d: got %+v, want %+v", i, g, ev)
		}
	}
	// Deleting records the description of what it deleted.
	for _, ev := range got {
		if (ev.Action == audit.TokenDeleted || ev.Action == audit.TokenRevokedAsLeaked) && ev.Details["description"] == "" {
			t.Errorf("got %+v, want the deleted token's description", ev)
		}
	}
}

// A change its store refuses (a condition of its transaction fails) writes
// no event.
func TestAChangeThatFailsWritesNoEvent(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	tk := token("acme", "nightly", t0)
	created := audittest.TokenCreated("acme", tk.ID)
	if err := st.Create(ctx, tk, access.DefaultPolicy(), created); err != nil {
		t.Fatal(err)
	}
	run := runs.Run{ID: "uat1-20261127t120000z-a", Tenant: "acme", Sandbox: "uat1", RequestedAt: t0, Input: "{}"}
	run.Started(t0)
	started := audittest.RunStarted("acme", run.ID)
	if err := st.ClaimRun(ctx, run, "", started); err != nil {
		t.Fatal(err)
	}
	other := run
	other.ID = "uat1-20261127t130000z-b"
	failing := map[string]func() error{
		"a description taken": func() error {
			dup := token("acme", "NIGHTLY", t0)
			return st.Create(ctx, dup, access.DefaultPolicy(), audittest.TokenCreated("acme", dup.ID))
		},
		"a delete of a token not there": func() error {
			return st.Delete(ctx, "acme", uuid.NewString(), tokens.Deleter{}, audittest.TokenDeleted("acme", "x"))
		},
		"a delete of another tenant's token": func() error {
			return st.Delete(ctx, "globex", tk.ID, tokens.Deleter{}, audittest.TokenDeleted("globex", tk.ID))
		},
		"a rotation of a token not there": func() error {
			gone := token("acme", "gone", t0)
			next := token("acme", "gone", t0)
			return st.Rotate(ctx, gone, next, access.Replacement{By: next.ID, At: t0, Until: t0}, access.DefaultPolicy(), audittest.Event("acme", audit.TokenRotated, audit.TargetToken, gone.ID))
		},
		"a plan delete of no plan": func() error {
			return st.DeletePlan(ctx, "acme", "dev9", audittest.PlanDeleted("acme"))
		},
		"a claim of a sandbox another run holds": func() error {
			return st.ClaimRun(ctx, other, "", audittest.RunStarted("acme", other.ID))
		},
		"a redrive claim that does not name the holder": func() error {
			return st.ClaimRedrive(ctx, other, "someone", audittest.Event("acme", audit.RunRedriven, audit.TargetRun, other.ID))
		},
		"a first use of a deleted token": func() error {
			gone := token("acme", "gone", t0)
			_, err := st.RecordNewIP(ctx, gone, t0, "203.0.113.7", audittest.Event("acme", audit.TokenUsedFromNewIP, audit.TargetToken, gone.ID))
			return err // nil: nothing to record, and nothing recorded
		},
	}
	for name, change := range failing {
		t.Run(name, func(t *testing.T) {
			_ = change()
			wantEvents(t, st, "acme", created, started)
		})
	}
	// The positive control: the same kind of change, when it succeeds, is listed.
	ok := token("acme", "another", t0)
	ev := at(audittest.TokenCreated("acme", ok.ID), time.Now().Add(time.Hour))
	if err := st.Create(ctx, ok, access.DefaultPolicy(), ev); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, st, "acme", created, started, ev)
}

// The event is part of the change: when its put cannot be written, the
// change is not made either. An event's key is new for every event; to make
// its put fail, the test puts an item at that key first.
func TestAnEventCannotExistWithoutItsChangeNorTheChangeWithoutIt(t *testing.T) {
	ctx := context.Background()
	st, client, table := newStore(t)
	block := func(t *testing.T, ev audit.Event) {
		t.Helper()
		item := map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "AUDIT#" + ev.Tenant},
			"sk": &types.AttributeValueMemberS{Value: ev.Time.UTC().Format("2006-01-02T15:04:05.000Z") + "#" + ev.ID},
		}
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a token is not created", func(t *testing.T) {
		tk := token("acme", "blocked", t0)
		ev := audittest.TokenCreated("acme", tk.ID)
		block(t, ev)
		if err := st.Create(ctx, tk, access.DefaultPolicy(), ev); kindOf(err) != access.EINTERNAL {
			t.Fatalf("got %v, want an internal error", err)
		}
		if _, err := st.Get(ctx, "acme", tk.ID); kindOf(err) != access.ENOTFOUND {
			t.Fatalf("got %v, want no token: it has no record", err)
		}
		// Its description is not taken either: a create with its own event goes through.
		if err := st.Create(ctx, tk, access.DefaultPolicy(), audittest.TokenCreated("acme", tk.ID)); err != nil {
			t.Fatalf("the same token with an event that can be written: %v", err)
		}
	})
	t.Run("a token is not deleted", func(t *testing.T) {
		tk := token("acme", "kept", t0)
		if err := st.Create(ctx, tk, access.DefaultPolicy(), audittest.TokenCreated("acme", tk.ID)); err != nil {
			t.Fatal(err)
		}
		ev := audittest.TokenDeleted("acme", tk.ID)
		block(t, ev)
		if err := st.Delete(ctx, "acme", tk.ID, tokens.Deleter{}, ev); kindOf(err) != access.EINTERNAL {
			t.Fatalf("got %v, want an internal error", err)
		}
		if _, err := st.Get(ctx, "acme", tk.ID); err != nil {
			t.Fatalf("got %v, want the token still there", err)
		}
	})
	t.Run("a plan is not saved", func(t *testing.T) {
		ev := audittest.PlanSaved("acme")
		block(t, ev)
		if _, err := st.PutPlan(ctx, "acme", plans.Plan{Sandbox: "dev3"}, ev); kindOf(err) != access.EINTERNAL {
			t.Fatalf("got %v, want an internal error", err)
		}
		if _, err := st.GetPlan(ctx, "acme", "dev3"); kindOf(err) != access.ENOTFOUND {
			t.Fatalf("got %v, want no plan", err)
		}
	})
	t.Run("a run is not claimed", func(t *testing.T) {
		run := runs.Run{ID: "dev3-20261127t120000z-a", Tenant: "acme", Sandbox: "dev3", RequestedAt: t0, Input: "{}"}
		run.Started(t0)
		ev := audittest.RunStarted("acme", run.ID)
		block(t, ev)
		if err := st.ClaimRun(ctx, run, "", ev); kindOf(err) != access.EINTERNAL {
			t.Fatalf("got %v, want an internal error (not a conflict: the sandbox is free)", err)
		}
		if lock, _ := st.ActiveRun(ctx, "acme", "dev3"); lock.RunID != "" {
			t.Fatalf("got lock %+v, want the sandbox still free", lock)
		}
	})
	t.Run("an incomplete event is refused, and so is its change", func(t *testing.T) {
		tk := token("acme", "anonymous change", t0)
		ev := audittest.TokenCreated("acme", tk.ID)
		ev.Actor = audit.Actor{}
		if err := st.Create(ctx, tk, access.DefaultPolicy(), ev); kindOf(err) != access.EINTERNAL {
			t.Fatalf("got %v, want an internal error", err)
		}
		if _, err := st.Get(ctx, "acme", tk.ID); kindOf(err) != access.ENOTFOUND {
			t.Fatalf("got %v, want no token", err)
		}
	})
}

// Each event carries its ttl: its time plus the retention, in seconds.
func TestAnEventIsKeptForTheRetention(t *testing.T) {
	ctx := context.Background()
	for _, days := range []int{audit.DefaultRetentionDays, 30} {
		t.Run(fmt.Sprint(days, " days"), func(t *testing.T) {
			st, client, table := newStore(t)
			if days != audit.DefaultRetentionDays {
				st.WithAuditRetention(days)
			}
			tk := token("acme", "kept", t0)
			ev := at(audittest.TokenCreated("acme", tk.ID), t0.Add(1500*time.Millisecond))
			if err := st.Create(ctx, tk, access.DefaultPolicy(), ev); err != nil {
				t.Fatal(err)
			}
			out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "AUDIT#acme"},
				"sk": &types.AttributeValueMemberS{Value: "2026-11-27T12:00:01.500Z#" + ev.ID},
			}})
			if err != nil || out.Item == nil {
				t.Fatalf("got %v, %v; want the event's item", out, err)
			}
			ttl, _ := out.Item["ttl"].(*types.AttributeValueMemberN)
			want := ev.Time.Add(time.Duration(days) * 24 * time.Hour).Unix()
			if ttl == nil || ttl.Value != strconv.FormatInt(want, 10) {
				t.Fatalf("got ttl %v, want %d (the event's time + %d days)", ttl, want, days)
			}
		})
	}
}

// manyEvents writes, for acme and globex, an event a minute from t0 for n
// minutes, its action one of three in turn, and returns each tenant's
// events in the order written.
func manyEvents(t *testing.T, st *dynamo.Store, n int) map[string][]audit.Event {
	t.Helper()
	kinds := []audit.Action{audit.TokenCreated, audit.PlanSaved, audit.RunStarted}
	out := map[string][]audit.Event{}
	for i := range n {
		for _, tenant := range []string{"acme", "globex"} {
			ev := at(audittest.Event(tenant, kinds[i%len(kinds)], audit.TargetPlan, fmt.Sprint("p", i)), t0.Add(time.Duration(i)*time.Minute))
			if _, err := st.PutPlan(context.Background(), tenant, plans.Plan{Sandbox: fmt.Sprint("p", i)}, ev); err != nil {
				t.Fatal(err)
			}
			out[tenant] = append(out[tenant], ev)
		}
	}
	return out
}

func ids(evs []audit.Event) []string {
	out := []string{}
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	return out
}

func TestTheListIsNewestFirstPagedFilteredAndTheTenantsOwn(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	written := manyEvents(t, st, 10)
	list := func(t *testing.T, tenant string, q audit.Query) []string {
		t.Helper()
		var got []string
		for {
			page, err := st.ListAuditEvents(ctx, tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) > q.Limit {
				t.Fatalf("got %d items, want at most %d", len(page.Items), q.Limit)
			}
			got = append(got, ids(page.Items)...)
			if page.Next == "" {
				return got
			}
			q.Cursor = page.Next
		}
	}
	newestFirst := func(evs []audit.Event, keep func(audit.Event) bool) []string {
		out := []string{}
		for _, ev := range slices.Backward(evs) {
			if keep(ev) {
				out = append(out, ev.ID)
			}
		}
		return out
	}
	all := func(audit.Event) bool { return true }
	for _, tenant := range []string{"acme", "globex"} {
		for _, limit := range []int{1, 3, 10, 100} {
			if got, want := list(t, tenant, audit.Query{Limit: limit}), newestFirst(written[tenant], all); !slices.Equal(got, want) {
				t.Errorf("%s, %d a page: got %v, want %v", tenant, limit, got, want)
			}
		}
	}
	since, until := t0.Add(3*time.Minute), t0.Add(7*time.Minute)
	for name, c := range map[string]struct {
		q    audit.Query
		keep func(audit.Event) bool
	}{
		"one action":       {audit.Query{Action: audit.PlanSaved, Limit: 2}, func(ev audit.Event) bool { return ev.Action == audit.PlanSaved }},
		"since, inclusive": {audit.Query{Since: since, Limit: 2}, func(ev audit.Event) bool { return !ev.Time.Before(since) }},
		"until, inclusive": {audit.Query{Until: until, Limit: 2}, func(ev audit.Event) bool { return !ev.Time.After(until) }},
		"a range and an action": {audit.Query{Action: audit.TokenCreated, Since: since, Until: until, Limit: 1}, func(ev audit.Event) bool {
			return ev.Action == audit.TokenCreated && !ev.Time.Before(since) && !ev.Time.After(until)
		}},
		"a range with nothing in it": {audit.Query{Since: t0.Add(time.Hour), Limit: 5}, func(audit.Event) bool { return false }},
	} {
		t.Run(name, func(t *testing.T) {
			want := newestFirst(written["acme"], c.keep)
			if name != "a range with nothing in it" && len(want) == 0 {
				t.Fatal("the case keeps no event: it would prove nothing")
			}
			if got := list(t, "acme", c.q); !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
	if got := list(t, "initech", audit.Query{Limit: 10}); len(got) != 0 {
		t.Errorf("a tenant without events: got %v, want none", got)
	}
}

// forgeAuditCursor builds a cursor for any position the way the store does
// (the checksum has no key: see audit.go).
func forgeAuditCursor(tenant string, q audit.Query, sk string) string {
	var since, until string
	if !q.Since.IsZero() {
		since = q.Since.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if !q.Until.IsZero() {
		until = q.Until.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{tenant, string(q.Action), since, until, sk}, "|")))
	return base64.RawURLEncoding.EncodeToString([]byte(sk + "|" + base64.RawURLEncoding.EncodeToString(sum[:8])))
}

func sortKey(ev audit.Event) string {
	return ev.Time.UTC().Format("2006-01-02T15:04:05.000Z") + "#" + ev.ID
}

// A forged cursor only chooses where in the caller's own list a page
// starts: for every event of either tenant as its position, the caller
// gets exactly its own events older than that position.
func TestAForgedAuditCursorOnlyChoosesWhereTheCallersOwnListStarts(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	written := manyEvents(t, st, 4)
	var positions []audit.Event
	positions = append(positions, written["acme"]...)
	positions = append(positions, written["globex"]...)
	for _, caller := range []string{"acme", "globex"} {
		for _, pos := range positions {
			t.Run(caller+" from "+pos.Tenant+"'s "+pos.ID, func(t *testing.T) {
				q := audit.Query{Limit: 100}
				q.Cursor = forgeAuditCursor(caller, q, sortKey(pos))
				page, err := st.ListAuditEvents(ctx, caller, q)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, ev := range slices.Backward(written[caller]) {
					if sortKey(ev) < sortKey(pos) {
						want = append(want, ev.ID)
					}
				}
				if got := ids(page.Items); !slices.Equal(got, append([]string{}, want...)) {
					t.Fatalf("got %v, want %v", got, want)
				}
				for _, ev := range page.Items {
					if ev.Tenant != caller {
						t.Fatalf("got %+v, an event of another tenant", ev)
					}
				}
			})
		}
	}
}

func TestATamperedAuditCursorIsRefused(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	written := manyEvents(t, st, 6)
	since, until := t0.Add(time.Minute), t0.Add(4*time.Minute)
	q := audit.Query{Since: since, Until: until, Limit: 1}
	page, err := st.ListAuditEvents(ctx, "acme", q)
	if err != nil || page.Next == "" {
		t.Fatalf("got %+v, %v; want a page and a cursor", page, err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(page.Next)
	changed := slices.Clone(raw)
	if changed[len(changed)-1] == 'A' {
		changed[len(changed)-1] = 'B'
	} else {
		changed[len(changed)-1] = 'A'
	}
	outside := written["acme"][5] // at t0+5m, after until
	cases := map[string]struct {
		tenant string
		q      audit.Query
		cursor string
	}{
		"another tenant":        {"globex", q, page.Next},
		"another action":        {"acme", audit.Query{Action: audit.PlanSaved, Since: since, Until: until, Limit: 1}, page.Next},
		"another range":         {"acme", audit.Query{Since: since, Limit: 1}, page.Next},
		"cut short":             {"acme", q, page.Next[:len(page.Next)-3]},
		"not base64url":         {"acme", q, page.Next + "*"},
		"the checksum changed":  {"acme", q, base64.RawURLEncoding.EncodeToString(changed)},
		"too long":              {"acme", q, strings.Repeat("A", 300)},
		"a made-up position":    {"acme", q, forgeAuditCursor("acme", q, "not-a-time#"+uuid.NewString())},
		"an id not canonical":   {"acme", q, forgeAuditCursor("acme", q, "2026-11-27T12:02:00.000Z#"+strings.ToUpper(uuid.NewString()))},
		"outside the range":     {"acme", q, forgeAuditCursor("acme", q, sortKey(outside))},
		"a time not its layout": {"acme", q, forgeAuditCursor("acme", q, "2026-11-27T12:02:00Z#"+uuid.NewString())},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			c.q.Cursor = c.cursor
			_, err := st.ListAuditEvents(ctx, c.tenant, c.q)
			if e := access.AsError(err); err == nil || e.Code != "INVALID_NEXT_TOKEN" {
				t.Fatalf("got %v, want INVALID_NEXT_TOKEN", err)
			}
		})
	}
	// The positive control: the cursor as given, with its own tenant and query.
	q.Cursor = page.Next
	if next, err := st.ListAuditEvents(ctx, "acme", q); err != nil || len(next.Items) != 1 {
		t.Fatalf("got %+v, %v; want the next page", next, err)
	}
}

// The audit items are apart from the tenant's tokens: the token list never
// shows one, and the tenant partition holds none.
func TestAuditItemsAreNotInTheTenantsPartition(t *testing.T) {
	ctx := context.Background()
	st, client, table := newStore(t)
	tk := token("acme", "nightly", t0)
	if err := st.Create(ctx, tk, access.DefaultPolicy(), audittest.TokenCreated("acme", tk.ID)); err != nil {
		t.Fatal(err)
	}
	out, err := client.Query(ctx, &dynamodb.QueryInput{TableName: &table, KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "TENANT#acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 2 {
		t.Fatalf("got %d items in the tenant's partition, want the token and its name", out.Count)
	}
	if got := auditEvents(t, st, "acme", ""); len(got) != 1 {
		t.Fatalf("got %d events, want the creation's", len(got))
	}
}

// A change that is one conditional PutItem (the tenant policy's) moves onto
// putAudited with its event, and fails as its PutItem did.
func TestAPutItemChangeRecordsItsEventAndFailsAsItsPutItemWould(t *testing.T) {
	st, client, table := newStore(t)
	admin := access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthSession}
	ctx := audit.WithRequest(context.Background(), audit.NewRequest("198.51.100.7", "curl/8.5.0", "req-1"))
	put := func(sk string) *ddb.PutItemInput {
		return &ddb.PutItemInput{TableName: &table, ConditionExpression: aws.String("attribute_not_exists(sk)"), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "TENANT#acme"}, "sk": &types.AttributeValueMemberS{Value: sk},
		}}
	}
	exists := func(sk string) bool {
		out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &table, Key: put(sk).Item})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item != nil
	}

	if err := st.PutAudited(ctx, audit.PolicyChanged(ctx, admin, 1, t0), put("POLICY")); err != nil {
		t.Fatal(err)
	}
	got := auditEvents(t, st, "acme", audit.TenantPolicyChanged)
	want := audit.Event{ID: got[0].ID, Time: t0, Tenant: "acme", Action: audit.TenantPolicyChanged,
		Actor: audit.Actor{Type: audit.ActorSession, User: "grace@example.com"}, Target: audit.Target{Type: audit.TargetTenantPolicy, ID: "acme"},
		SourceIP: "198.51.100.7", UserAgent: "curl/8.5.0", RequestID: "req-1", Details: map[string]string{"version": "1"}}
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) || !exists("POLICY") {
		t.Fatalf("got %+v, want the change and %+v", got, want)
	}

	// Its condition failing is PutItem's error, and records nothing.
	err := st.PutAudited(ctx, audit.PolicyChanged(ctx, admin, 2, t0.Add(time.Second)), put("POLICY"))
	var cond *types.ConditionalCheckFailedException
	if !errors.As(err, &cond) {
		t.Fatalf("got %v, want a ConditionalCheckFailedException", err)
	}
	if got := auditEvents(t, st, "acme", ""); len(got) != 1 {
		t.Fatalf("got %d events, want only the first change's", len(got))
	}

	// An event without an actor is refused, and so is the change.
	anonymous := audit.WithRequest(context.Background(), audit.NewRequest("198.51.100.7", "", ""))
	if err := st.PutAudited(anonymous, audit.PolicyChanged(anonymous, access.Principal{Tenant: "acme"}, 1, t0), put("POLICY2")); kindOf(err) != access.EINTERNAL || exists("POLICY2") {
		t.Fatalf("got %v (written: %v), want an internal error and nothing written", err, exists("POLICY2"))
	}
}
