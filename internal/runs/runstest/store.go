// Package runstest is an in-memory runs.Store for the runs service's tests,
// and the contract (CheckStore) that it and internal/dynamo's store are both
// held to: the semantics the service relies on, written once.
package runstest

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// Store keeps runs, locks, idempotency keys and audit events in maps, behind
// one mutex: a claim and its event are atomic, as DynamoDB's transaction is.
type Store struct {
	now    func() time.Time
	mu     sync.Mutex
	runs   map[string]runs.Run  // by tenant and run id
	locks  map[string]runs.Lock // by tenant and sandbox
	keys   map[string]key       // by tenant, sandbox and Idempotency-Key
	events []audit.Event        // in the order written
}

type key struct {
	runID string
	until time.Time
}

var (
	_ runs.Store  = (*Store)(nil)
	_ audit.Store = (*Store)(nil)
)

// NewStore returns an empty store whose clock is now.
func NewStore(now func() time.Time) *Store {
	return &Store{now: now, runs: map[string]runs.Run{}, locks: map[string]runs.Lock{}, keys: map[string]key{}}
}

// Sandbox names are case-insensitive: they name the lock and the key in
// lower case.
func lockKey(tenant, sandbox string) string { return tenant + "|" + strings.ToLower(sandbox) }

func runKey(tenant, id string) string { return tenant + "|" + id }

func idempotencyKey(tenant, sandbox, k string) string { return lockKey(tenant, sandbox) + "|" + k }

// ActiveRun returns the sandbox's lock.
func (s *Store) ActiveRun(_ context.Context, tenant, sandbox string) (runs.Lock, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locks[lockKey(tenant, sandbox)], nil
}

// ClaimRun takes the lock from previous and writes the new run and ev, or
// writes nothing.
func (s *Store) ClaimRun(_ context.Context, run runs.Run, previous string, ev audit.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.runs[runKey(run.Tenant, run.ID)]; exists || !s.claim(run, previous) {
		return access.Errorf(access.ECONFLICT, "RUN_IN_PROGRESS", "Another run holds this sandbox.")
	}
	now := s.now()
	s.runs[runKey(run.Tenant, run.ID)] = clone(run)
	if run.IdempotencyKey != "" {
		s.keys[idempotencyKey(run.Tenant, run.Sandbox, run.IdempotencyKey)] = key{runID: run.ID, until: now.Add(runs.IdempotencyWindow)}
	}
	s.events = append(s.events, ev)
	return nil
}

// claim moves the sandbox's lock from previous to run, if previous holds it.
func (s *Store) claim(run runs.Run, previous string) bool {
	lock, held := s.locks[lockKey(run.Tenant, run.Sandbox)]
	if held != (previous != "") || lock.RunID != previous {
		return false
	}
	s.locks[lockKey(run.Tenant, run.Sandbox)] = runs.Lock{RunID: run.ID, ClaimedAt: s.now()}
	return true
}

// ClaimRedrive takes the lock from previous for an existing run, and writes ev.
func (s *Store) ClaimRedrive(_ context.Context, run runs.Run, previous string, ev audit.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.claim(run, previous) {
		return access.Errorf(access.ECONFLICT, "RUN_IN_PROGRESS", "Another run holds this sandbox.")
	}
	s.events = append(s.events, ev)
	return nil
}

// GetRun reads one run of the tenant.
func (s *Store) GetRun(_ context.Context, tenant, id string) (runs.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run, ok := s.runs[runKey(tenant, id)]
	if !ok {
		return runs.Run{}, runs.ErrRunNotFound()
	}
	return clone(run), nil
}

// UpdateRun applies change to the run under the store's lock: no other
// update can come between its read and its write. An update that ends the
// run writes its finished event.
func (s *Store) UpdateRun(ctx context.Context, tenant, id string, change func(*runs.Run) bool) (runs.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run, ok := s.runs[runKey(tenant, id)]
	if !ok {
		return runs.Run{}, runs.ErrRunNotFound()
	}
	before := run
	run = clone(run)
	if change(&run) {
		run.Version++
		s.runs[runKey(tenant, id)] = clone(run)
		if runs.Finishes(before, run) {
			s.events = append(s.events, runs.FinishedEvent(ctx, run, s.now()))
		}
	}
	return run, nil
}

// ListAuditEvents returns the tenant's events of q.Action (every action's
// when it is ""), newest first, at most q.Limit: what the runs service's
// tests read back. It does not page (q's cursor and times are not read).
func (s *Store) ListAuditEvents(_ context.Context, tenant string, q audit.Query) (audit.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var page audit.Page
	for _, ev := range slices.Backward(s.events) {
		if ev.Tenant == tenant && (q.Action == "" || ev.Action == q.Action) && len(page.Items) < q.Limit {
			page.Items = append(page.Items, ev)
		}
	}
	return page, nil
}

// clone copies a run deeply enough that a caller's changes never reach the
// store: its attempts, steps and their failures.
func clone(r runs.Run) runs.Run {
	data, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	var c runs.Run
	if err := json.Unmarshal(data, &c); err != nil {
		panic(err)
	}
	return c
}

// RunIDForKey returns the run an Idempotency-Key started within the window.
func (s *Store) RunIDForKey(_ context.Context, tenant, sandbox, k string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	remembered, ok := s.keys[idempotencyKey(tenant, sandbox, k)]
	if !ok || s.now().After(remembered.until) {
		return "", nil
	}
	return remembered.runID, nil
}

// ListRuns returns the sandbox's newest runs (every sandbox's when sandbox
// is ""), newest first.
func (s *Store) ListRuns(_ context.Context, tenant, sandbox string, limit int) ([]runs.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []runs.Run
	for _, run := range s.runs {
		if run.Tenant == tenant && (sandbox == "" || strings.HasPrefix(run.ID, strings.ToLower(sandbox)+"-")) {
			list = append(list, clone(run))
		}
	}
	slices.SortFunc(list, func(a, b runs.Run) int {
		return cmp.Or(b.RequestedAt.Compare(a.RequestedAt), cmp.Compare(b.ID, a.ID))
	})
	return list[:min(limit, len(list))], nil
}
