package runs_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/runs/runstest"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// fakeMachine is a hand-written Step Functions: executions by ARN, with
// Step Functions' idempotency rule for StartExecution.
type fakeMachine struct {
	mu          sync.Mutex
	execs       map[string]*runs.Execution
	inputs      map[string]string
	starts      int
	describes   int
	redrives    int
	startErr    error
	published   []string
	redriveHook func() // runs inside Redrive, before it takes effect
}

func newFakeMachine() *fakeMachine {
	return &fakeMachine{execs: map[string]*runs.Execution{}, inputs: map[string]string{}}
}

func (m *fakeMachine) ExecutionARN(name string) string {
	return "arn:aws:states:us-east-1:123456789012:execution:sandbox-refresh:" + name
}

func (m *fakeMachine) Start(_ context.Context, name, input string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.startErr != nil {
		return m.startErr
	}
	arn := m.ExecutionARN(name)
	if ex, ok := m.execs[arn]; ok {
		if ex.Status == runs.StatusRunning && m.inputs[arn] == input {
			return nil
		}
		return runs.ErrExecutionExists
	}
	m.starts++
	m.execs[arn] = &runs.Execution{Status: runs.StatusRunning, StartedAt: time.Now()}
	m.inputs[arn] = input
	return nil
}

func (m *fakeMachine) Describe(_ context.Context, arn string) (runs.Execution, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.describes++
	ex, ok := m.execs[arn]
	if !ok {
		return runs.Execution{}, runs.ErrExecutionNotFound
	}
	return *ex, nil
}

func (m *fakeMachine) Redrive(_ context.Context, arn string) error {
	if m.redriveHook != nil {
		m.redriveHook()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ex, ok := m.execs[arn]
	if !ok || ex.Status == runs.StatusRunning || ex.Status == runs.StatusSucceeded {
		return runs.ErrNotRedrivable
	}
	m.redrives++
	ex.Status = runs.StatusRunning
	return nil
}

func (m *fakeMachine) finish(status string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ex := range m.execs {
		if ex.Status == runs.StatusRunning {
			ex.Status = status
		}
	}
}

func (m *fakeMachine) Publish(_ context.Context, detailType string, detail any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.published = append(m.published, fmt.Sprintf("%s %+v", detailType, detail))
	return nil
}

// fakePlans are acme's plans, by sandbox in lower case.
type fakePlans map[string]plans.Plan

func (f fakePlans) GetPlan(_ context.Context, tenant, sandbox string) (plans.Plan, error) {
	p, ok := f[strings.ToLower(sandbox)]
	if !ok || tenant != "acme" {
		return plans.Plan{}, plans.ErrNotFound()
	}
	return p, nil
}

func (f fakePlans) ListPlans(_ context.Context, tenant string) ([]plans.Plan, error) {
	if tenant != "acme" {
		return nil, nil
	}
	return slices.SortedFunc(maps.Values(f), func(a, b plans.Plan) int { return strings.Compare(a.Sandbox, b.Sandbox) }), nil
}

// newService is the service on an in-memory store (held to the same
// contract as DynamoDB's, runstest.CheckStore), with plans for uat1 and dev2
// and a clock that the test moves.
func newService(t *testing.T) (*runs.Service, *fakeMachine, *testenv.Clock) {
	t.Helper()
	clock := testenv.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	planned := fakePlans{}
	for _, sandbox := range []string{"uat1", "dev2"} {
		p := plans.Plan{Sandbox: sandbox, LicenseType: "PARTIAL"}
		p.Defaults()
		planned[sandbox] = p
	}
	var ids atomic.Int64
	m := newFakeMachine()
	return &runs.Service{Store: runstest.NewStore(clock.Now), Plans: planned, Machine: m, Publisher: m, Now: clock.Now,
		RandomID: func() string { return fmt.Sprintf("r%05d", ids.Add(1)) }}, m, clock
}

// ada is the signed-in user the tests' API requests come from.
var ada = audit.Actor{Type: audit.ActorSession, User: "ada@acme.com"}

func apiRequest(sandbox string) runs.Request {
	return runs.Request{Tenant: "acme", Sandbox: sandbox, By: "ada@acme.com", Actor: ada, Source: "api"}
}

func TestASecondStartWhileRunningIsRunInProgress(t *testing.T) {
	svc, m, _ := newService(t)
	ctx := context.Background()
	first, created, err := svc.Start(ctx, apiRequest("uat1"))
	if err != nil || !created {
		t.Fatalf("got %v, created=%v", err, created)
	}
	if !strings.HasPrefix(first.ID, "uat1-") {
		t.Fatalf("got run id %q, want it to start with the sandbox", first.ID)
	}
	_, _, err = svc.Start(ctx, apiRequest("uat1"))
	if e := access.AsError(err); e.Code != "RUN_IN_PROGRESS" || e.Kind != access.ECONFLICT || !strings.Contains(e.Message, first.ID) {
		t.Fatalf("got %v, want RUN_IN_PROGRESS naming %s", err, first.ID)
	}
	if _, _, err := svc.Start(ctx, apiRequest("dev2")); err != nil {
		t.Fatalf("another sandbox: got %v, want it to start", err)
	}
	m.finish(runs.StatusSucceeded)
	if _, created, err := svc.Start(ctx, apiRequest("uat1")); err != nil || !created {
		t.Fatalf("after the run finished: got %v, created=%v; want a new run", err, created)
	}
	if m.starts != 3 {
		t.Fatalf("got %d executions started, want 3", m.starts)
	}
}

func TestConcurrentStartsStartOneRun(t *testing.T) {
	svc, m, _ := newService(t)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = svc.Start(context.Background(), apiRequest("uat1"))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if access.AsError(err).Code != "RUN_IN_PROGRESS" {
			t.Errorf("got %v, want success or RUN_IN_PROGRESS", err)
		}
	}
	if ok != 1 || m.starts != 1 {
		t.Fatalf("got %d successes and %d executions, want 1 and 1", ok, m.starts)
	}
}

func TestARedeliveredEventStartsNothingNew(t *testing.T) {
	svc, m, _ := newService(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	ev := runs.Request{Tenant: "acme", Sandbox: "uat1", By: "aws.events", Source: "event", Key: "event-123", At: at}
	first, created, err := svc.Start(ctx, ev)
	if err != nil || !created {
		t.Fatalf("got %v, created=%v", err, created)
	}
	again, created, err := svc.Start(ctx, ev)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("redelivery: got %+v, created=%v, %v; want the same run", again, created, err)
	}
	m.finish(runs.StatusSucceeded)
	if later, created, err := svc.Start(ctx, ev); err != nil || created || later.ID != first.ID {
		t.Fatalf("redelivery after the run ended: got %v, created=%v, %v; want the same run, nothing new", later.ID, created, err)
	}
	if m.starts != 1 {
		t.Fatalf("got %d executions, want 1", m.starts)
	}
	if want := "uat1-20261127t020000z-"; !strings.HasPrefix(first.ID, want) {
		t.Fatalf("got %s, want an id from the event's time, %s…", first.ID, want)
	}
	if runs.ExecutionName("acme", first.ID) == runs.ExecutionName("globex", first.ID) {
		t.Fatal("two tenants' runs share an execution name")
	}
}

func TestAStartThatNeverReachedStepFunctionsDoesNotHoldTheSandbox(t *testing.T) {
	svc, m, clock := newService(t)
	m.startErr = access.Unavailable(fmt.Errorf("throttled"))
	if _, _, err := svc.Start(context.Background(), apiRequest("uat1")); access.ErrorKind(err) != access.EUNAVAILABLE {
		t.Fatalf("got %v, want EUNAVAILABLE", err)
	}
	m.startErr = nil
	// Within the claim's lease the sandbox stays held: the first start may still be on its way.
	if _, _, err := svc.Start(context.Background(), apiRequest("uat1")); access.AsError(err).Code != "RUN_IN_PROGRESS" {
		t.Fatalf("during the lease: got %v, want RUN_IN_PROGRESS", err)
	}
	clock.Add(3 * time.Minute)
	if _, created, err := svc.Start(context.Background(), apiRequest("uat1")); err != nil || !created {
		t.Fatalf("got %v, created=%v; want the next start to take over the lock", err, created)
	}
}

func TestStartWithoutAPlanIsNotFound(t *testing.T) {
	svc, _, _ := newService(t)
	if _, _, err := svc.Start(context.Background(), apiRequest("nope")); access.AsError(err).Code != "PLAN_NOT_FOUND" {
		t.Fatalf("got %v, want PLAN_NOT_FOUND", err)
	}
}

func TestRunsAreScopedToTheTenant(t *testing.T) {
	svc, _, _ := newService(t)
	run, _, err := svc.Start(context.Background(), apiRequest("uat1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(context.Background(), "globex", run.ID); access.AsError(err).Code != "RUN_NOT_FOUND" {
		t.Fatalf("got %v, want RUN_NOT_FOUND for another tenant", err)
	}
	if _, err := svc.Redrive(context.Background(), ada, "globex", run.ID); access.AsError(err).Code != "RUN_NOT_FOUND" {
		t.Fatalf("got %v, want RUN_NOT_FOUND for another tenant", err)
	}
	list, err := svc.List(context.Background(), "acme", "uat1", 10)
	if err != nil || len(list) != 1 || list[0].ID != run.ID || list[0].Status != runs.StatusRunning {
		t.Fatalf("got %+v, %v; want the one running run", list, err)
	}
}

func TestRedriveOnlyFailedRuns(t *testing.T) {
	svc, m, _ := newService(t)
	ctx := context.Background()
	run, _, err := svc.Start(ctx, apiRequest("uat1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Redrive(ctx, ada, "acme", run.ID); access.AsError(err).Code != "RUN_NOT_REDRIVABLE" {
		t.Fatalf("redrive of a running run: got %v, want RUN_NOT_REDRIVABLE", err)
	}
	m.finish(runs.StatusFailed)
	if _, err := svc.Redrive(ctx, ada, "acme", run.ID); err != nil || m.redrives != 1 {
		t.Fatalf("got %v after %d redrives, want one redrive", err, m.redrives)
	}
	if _, _, err := svc.Start(ctx, apiRequest("uat1")); access.AsError(err).Code != "RUN_IN_PROGRESS" {
		t.Fatalf("start during a redriven run: got %v, want RUN_IN_PROGRESS", err)
	}
}

func TestAnotherRunMayNotBeRedrivenWhileOneIsRunning(t *testing.T) {
	svc, m, _ := newService(t)
	ctx := context.Background()
	old, _, _ := svc.Start(ctx, apiRequest("uat1"))
	m.finish(runs.StatusFailed)
	if _, _, err := svc.Start(ctx, apiRequest("uat1")); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Redrive(ctx, ada, "acme", old.ID); access.AsError(err).Code != "RUN_IN_PROGRESS" {
		t.Fatalf("got %v, want RUN_IN_PROGRESS while a newer run is active", err)
	}
}

func TestNotifyRecordsAndAnnouncesHowARunEnded(t *testing.T) {
	svc, m, clock := newService(t)
	ctx := context.Background()
	run, _, err := svc.Start(ctx, apiRequest("uat1"))
	if err != nil {
		t.Fatal(err)
	}
	report := func(phase string, outcome string, failure *runs.Failure) {
		t.Helper()
		if _, err := svc.Store.UpdateRun(ctx, "acme", run.ID, func(r *runs.Run) bool {
			return r.RecordStep(runs.StepReport{Attempt: 1, Phase: phase, Order: runs.PhaseOrder(phase), At: clock.Now(), Outcome: outcome, Failure: failure}, runs.PhaseOrder)
		}); err != nil {
			t.Fatal(err)
		}
	}
	report("refreshSandbox", runs.OutcomeSucceeded, nil)
	report("dropUsers", runs.OutcomeSucceeded, nil)
	report("masking", runs.OutcomeRunning, nil)
	clock.Add(time.Hour)
	failed := runs.StatusChange{Status: runs.StatusFailed, Input: run.Input, Error: "MaskingFailed",
		Cause: `{"errorMessage":"DCS masking execution 7 ended FAILED; the sandbox's users stay dropped","errorType":"MaskingFailed"}`}
	for range 2 { // a replayed event records and announces the same
		if err := svc.Notify(ctx, failed); err != nil {
			t.Fatal(err)
		}
	}
	got, err := svc.Get(ctx, "acme", run.ID)
	if err != nil {
		t.Fatal(err)
	}
	v := got.View(clock.Now())
	if v.Status != runs.StatusFailed || v.FailedStep != "masking" || v.Error == nil || v.Error.Code != "MASKING_FAILED" ||
		v.Error.Message != "DCS masking execution 7 ended FAILED; the sandbox's users stay dropped" || v.StoppedAt == nil {
		t.Fatalf("got %+v (error %+v), want FAILED in masking with the step's message", v, v.Error)
	}
	if last := v.Steps[len(v.Steps)-1]; last.Name != "masking" || last.Outcome != runs.OutcomeFailed || last.Failure == nil {
		t.Fatalf("got the last step %+v, want masking failed with its failure", last)
	}
	want := "Sandbox Refresh Failed {Succeeded:{RunID:" + run.ID + " Tenant:acme Sandbox:uat1} Status:FAILED FailedStep:masking Error:MASKING_FAILED Cause:DCS masking execution 7 ended FAILED; the sandbox's users stay dropped}"
	if len(m.published) != 2 || m.published[0] != want || m.published[1] != want {
		t.Fatalf("got\n%s\nwant twice\n%s", strings.Join(m.published, "\n"), want)
	}
	if err := svc.Notify(ctx, runs.StatusChange{Status: runs.StatusRunning, Input: run.Input}); err != nil || len(m.published) != 2 {
		t.Fatalf("a RUNNING change: got %v and %d events, want nothing", err, len(m.published))
	}
	if err := svc.Notify(ctx, runs.StatusChange{Status: runs.StatusFailed, Input: "{}"}); err == nil {
		t.Fatal("got no error for a status change that is not a run's")
	}
}

func TestAReplayedFailureOfAnAttemptARedriveFollowedMovesNothingBack(t *testing.T) {
	svc, m, clock := newService(t)
	ctx := context.Background()
	run, _, _ := svc.Start(ctx, apiRequest("uat1"))
	failed := runs.StatusChange{Status: runs.StatusFailed, Input: run.Input, Error: "PermanentError", Cause: `{"errorMessage":"the DCS token was deleted"}`}
	if err := svc.Notify(ctx, failed); err != nil {
		t.Fatal(err)
	}
	m.finish(runs.StatusFailed)
	clock.Add(time.Minute)
	if _, err := svc.Redrive(ctx, ada, "acme", run.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Notify(ctx, failed); err != nil { // attempt 1's, delivered again
		t.Fatal(err)
	}
	got, _ := svc.Get(ctx, "acme", run.ID)
	v := got.View(clock.Now())
	if v.Status != runs.StatusRunning || v.RedriveCount != 1 || len(v.Attempts) != 2 || v.Attempts[0].Status != runs.StatusFailed ||
		v.Attempts[0].Failure == nil || v.Attempts[0].Failure.Code != "PERMANENT_ERROR" || v.Error != nil {
		t.Fatalf("got %+v, want the redrive running, attempt 1 failed with its reason", v)
	}
	if len(m.published) != 1 {
		t.Fatalf("got %d announcements, want attempt 1's once: %q", len(m.published), m.published)
	}
	succeeded := runs.StatusChange{Status: runs.StatusSucceeded, Input: run.Input, RedriveCount: 1}
	if err := svc.Notify(ctx, succeeded); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.Get(ctx, "acme", run.ID); got.Status != runs.StatusSucceeded || got.Failure != nil {
		t.Fatalf("after the redrive succeeded: got %+v", got)
	}
}

func TestALostExecutionIsAbortedAndFreesItsSandbox(t *testing.T) {
	svc, m, clock := newService(t)
	ctx := context.Background()
	run, _, _ := svc.Start(ctx, apiRequest("uat1"))
	m.mu.Lock()
	clear(m.execs) // the local stand-in restarted
	m.mu.Unlock()
	clock.Add(3 * time.Minute)
	if err := svc.Reconcile(ctx, []runs.Run{run}); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.Get(ctx, "acme", run.ID)
	if got.Status != runs.StatusAborted || got.Failure == nil || got.Failure.Code != "EXECUTION_LOST" {
		t.Fatalf("got %+v, want ABORTED with EXECUTION_LOST", got)
	}
	if _, created, err := svc.Start(ctx, apiRequest("uat1")); err != nil || !created {
		t.Fatalf("a new run of the sandbox: got %v, created=%v; want it started", err, created)
	}
}

func TestAnIdempotencyKeyReturnsItsRunWhenRetriedLater(t *testing.T) {
	svc, m, clock := newService(t)
	ctx := context.Background()
	req := apiRequest("uat1")
	req.Key = "nightly-2026-11-27"
	first, created, err := svc.Start(ctx, req)
	if err != nil || !created {
		t.Fatalf("got %v, created=%v", err, created)
	}
	clock.Add(2 * time.Second)
	again, created, err := svc.Start(ctx, req)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("retry 2 s later: got %s, created=%v, %v; want run %s again", again.ID, created, err, first.ID)
	}
	m.finish(runs.StatusSucceeded)
	clock.Add(time.Hour)
	if later, created, err := svc.Start(ctx, req); err != nil || created || later.ID != first.ID {
		t.Fatalf("retry after the run ended: got %s, created=%v, %v; want run %s, nothing new", later.ID, created, err, first.ID)
	}
	if m.starts != 1 {
		t.Fatalf("got %d executions, want 1", m.starts)
	}
	other := apiRequest("uat1")
	other.Key = "nightly-2026-11-28"
	if next, created, err := svc.Start(ctx, other); err != nil || !created || next.ID == first.ID {
		t.Fatalf("another key: got %s, created=%v, %v; want a new run", next.ID, created, err)
	}
	clock.Add(25 * time.Hour)
	m.finish(runs.StatusSucceeded)
	if fresh, created, err := svc.Start(ctx, req); err != nil || !created || fresh.ID == first.ID {
		t.Fatalf("the key a day later: got %s, created=%v, %v; want a new run", fresh.ID, created, err)
	}
}

func TestAStartDuringARedriveIsRunInProgress(t *testing.T) {
	svc, m, clock := newService(t)
	ctx := context.Background()
	run, _, err := svc.Start(ctx, apiRequest("uat1"))
	if err != nil {
		t.Fatal(err)
	}
	stopped := clock.Now()
	m.finish(runs.StatusFailed)
	m.mu.Lock()
	for _, ex := range m.execs {
		ex.StoppedAt = &stopped
	}
	m.mu.Unlock()
	clock.Add(time.Minute)
	// The redrive has claimed the lock but Step Functions still says FAILED.
	m.redriveHook = func() {
		if _, _, err := svc.Start(ctx, apiRequest("uat1")); access.AsError(err).Code != "RUN_IN_PROGRESS" {
			t.Errorf("start while the redrive is on its way: got %v, want RUN_IN_PROGRESS", err)
		}
	}
	if _, err := svc.Redrive(ctx, ada, "acme", run.ID); err != nil {
		t.Fatal(err)
	}
	if m.starts != 1 {
		t.Fatalf("got %d executions, want 1", m.starts)
	}
}

func TestImpossibleIDsAreNotFoundNotErrors(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	long := strings.Repeat("a", 1100)
	if _, _, err := svc.Start(ctx, apiRequest(long)); access.AsError(err).Code != "PLAN_NOT_FOUND" {
		t.Errorf("start: got %v, want PLAN_NOT_FOUND", err)
	}
	if _, err := svc.Get(ctx, "acme", long); access.AsError(err).Code != "RUN_NOT_FOUND" {
		t.Errorf("get: got %v, want RUN_NOT_FOUND", err)
	}
	if _, err := svc.Redrive(ctx, ada, "acme", long); access.AsError(err).Code != "RUN_NOT_FOUND" {
		t.Errorf("redrive: got %v, want RUN_NOT_FOUND", err)
	}
	if _, err := svc.List(ctx, "acme", long, 10); access.AsError(err).Code != "INVALID_SANDBOX" {
		t.Errorf("list: got %v, want INVALID_SANDBOX", err)
	}
}

func TestRecentRunsOfAllSandboxesAreNewestFirst(t *testing.T) {
	svc, _, clock := newService(t)
	ctx := context.Background()
	older, _, _ := svc.Start(ctx, apiRequest("uat1"))
	clock.Add(time.Hour)
	newer, _, err := svc.Start(ctx, apiRequest("dev2"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := svc.List(ctx, "acme", "", 1)
	if err != nil || len(list) != 1 || list[0].ID != newer.ID {
		t.Fatalf("got %+v, %v; want the newest run %s (not %s)", list, err, newer.ID, older.ID)
	}
}

func TestARunPastItsDeadlineIsNotRedriven(t *testing.T) {
	svc, m, clock := newService(t)
	ctx := context.Background()
	run, _, _ := svc.Start(ctx, apiRequest("uat1"))
	m.finish(runs.StatusFailed)
	clock.Add(73 * time.Hour)
	if _, err := svc.Redrive(ctx, ada, "acme", run.ID); access.AsError(err).Code != "RUN_NOT_REDRIVABLE" || m.redrives != 0 {
		t.Fatalf("got %v after %d redrives, want RUN_NOT_REDRIVABLE and none", err, m.redrives)
	}
}

// countingStore counts the calls made to the store it wraps.
type countingStore struct {
	runs.Store
	calls atomic.Int64
}

func (c *countingStore) GetRun(ctx context.Context, tenant, id string) (runs.Run, error) {
	c.calls.Add(1)
	return c.Store.GetRun(ctx, tenant, id)
}

func (c *countingStore) ListRuns(ctx context.Context, tenant, sandbox string, limit int) ([]runs.Run, error) {
	c.calls.Add(1)
	return c.Store.ListRuns(ctx, tenant, sandbox, limit)
}

// Reading runs is reading their records: a list is one store call however
// many runs it holds, a run is one, and neither asks Step Functions.
func TestReadingRunsIsOneStoreCallAndNoStepFunctions(t *testing.T) {
	svc, m, clock := newService(t)
	ctx := context.Background()
	var ids []string
	for _, sandbox := range []string{"uat1", "dev2"} {
		run, _, err := svc.Start(ctx, apiRequest(sandbox))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
		clock.Add(time.Minute)
	}
	store := &countingStore{Store: svc.Store}
	svc.Store = store
	describes := m.describes
	list, err := svc.List(ctx, "acme", "", runs.MaxListLimit)
	if err != nil || len(list) != 2 {
		t.Fatalf("got %d runs, %v; want 2", len(list), err)
	}
	if n := store.calls.Load(); n != 1 {
		t.Fatalf("the list made %d store calls, want 1", n)
	}
	if _, err := svc.Get(ctx, "acme", ids[0]); err != nil {
		t.Fatal(err)
	}
	if n := store.calls.Load(); n != 2 {
		t.Fatalf("the list and a get made %d store calls, want 2", n)
	}
	if m.describes != describes {
		t.Fatalf("reading runs described %d executions, want none", m.describes-describes)
	}
}
