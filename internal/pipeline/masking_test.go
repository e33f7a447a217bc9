package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/dcs/dcssim"
	"github.com/dcs-access/dcs-access/internal/pipeline"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/runs/runstest"
	"github.com/dcs-access/dcs-access/internal/secrets"
)

const dcsTokenARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:dcs-access/acme/uat1/dcs-token"

// pipelineToken is the one bearer the DCS simulator of these tests takes.
type pipelineToken struct{}

func (pipelineToken) Authenticate(_ context.Context, header string) (access.Principal, error) {
	if header != "Bearer dcs-token" {
		return access.Principal{}, access.Errorf(access.EUNAUTHORIZED, "UNAUTHORIZED", "A valid bearer token is required.")
	}
	return access.Principal{User: "ada@acme.example", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "tok-1",
		Scopes: []access.Scope{access.ScopeComplianceJobsRun}}, nil
}

// dcsWorld is a world whose sandbox copy is activated, with the DCS
// simulator behind the plan's DCS URL and a clock of its own.
type dcsWorld struct {
	*world
	dcs *dcssim.Sim

	mu  sync.Mutex
	now time.Time // the simulator's clock, before its skew
}

func newDCSWorld(t *testing.T, opts dcssim.Options) *dcsWorld {
	t.Helper()
	w := &dcsWorld{world: newWorld(t)}
	w.refresh(t)
	w.now = w.run.Refresh.ActivatedAt.Add(time.Second) // masking starts after the activation
	opts.Auth = pipelineToken{}
	opts.Now = func() time.Time {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.now
	}
	w.dcs = dcssim.New(opts)
	w.dcs.AddJob("acme", "job")
	srv := httptest.NewServer(w.dcs)
	t.Cleanup(srv.Close)
	w.run.Plan.DCS.BaseURL = srv.URL
	w.run.Plan.DCS.APITokenSecretARN = dcsTokenARN
	w.steps.Secrets.(*secrets.Memory).Put(dcsTokenARN, "dcs-token")
	w.steps.AwaitStartEvery = time.Millisecond
	return w
}

// setClock sets the simulator's clock, and so the start time of the next
// execution.
func (w *dcsWorld) setClock(at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = at
}

// masking runs a masking step at redrive with the run as it stands, as Step
// Functions runs it (and retries it, with the same input).
func (w *dcsWorld) masking(t *testing.T, step string, redrive int) (*pipeline.Masking, error) {
	t.Helper()
	out, err := w.steps.Handle(context.Background(), pipeline.Request{Step: step, Run: w.run, RedriveCount: redrive})
	if err != nil {
		return nil, err
	}
	return out.(*pipeline.Masking), nil
}

// must runs a masking step that must succeed, and keeps its result as Step
// Functions does ($.masking).
func (w *dcsWorld) must(t *testing.T, step string, redrive int) *pipeline.Masking {
	t.Helper()
	m, err := w.masking(t, step, redrive)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	w.run.Masking = m
	return m
}

// pollToEnd runs checkMasking until masking is done or fails.
func (w *dcsWorld) pollToEnd(t *testing.T, redrive int) error {
	t.Helper()
	for range 10 {
		m, err := w.masking(t, "checkMasking", redrive)
		if err != nil {
			return err
		}
		if w.run.Masking = m; m.Done {
			return nil
		}
	}
	t.Fatalf("masking not done after 10 polls: %+v", w.run.Masking)
	return nil
}

// succeedsWithOneExecution polls the run's execution to its end, which must
// be SUCCEEDED with no other execution started.
func (w *dcsWorld) succeedsWithOneExecution(t *testing.T) {
	t.Helper()
	if err := w.pollToEnd(t, 0); err != nil || w.run.Masking.Status != "SUCCEEDED" || len(w.dcs.Executions()) != 1 {
		t.Fatalf("got %+v, %v and %d executions; want SUCCEEDED with one", w.run.Masking, err, len(w.dcs.Executions()))
	}
}

// finish polls execution id (as whoever started it would) until it ends.
func (w *dcsWorld) finish(t *testing.T, id string) {
	t.Helper()
	c, err := dcs.New(dcs.Config{BaseURL: w.run.Plan.DCS.BaseURL, Token: "dcs-token"})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		e, err := c.Execution(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status.Done() {
			return
		}
	}
	t.Fatalf("execution %s did not end", id)
}

func TestAStartWhoseAnswerIsLostIsFoundBeforeTheStepReturns(t *testing.T) {
	w := newDCSWorld(t, dcssim.Options{})
	w.must(t, "maskingBaseline", 0)
	// DCS takes the start, the answer is lost, and the execution shows in
	// the job's list only from the third list on: the step's own list
	// before the start and the first one after it miss it.
	w.dcs.LoseNextStartsCommittedLate(1, 2)
	w.steps.AwaitStart = 5 * time.Second
	m := w.must(t, "startMasking", 0)
	if execs := w.dcs.Executions(); len(execs) != 1 || m.ExecutionID != execs[0].ID {
		t.Fatalf("got %d executions %+v and the step took %q, want the one the lost start made", len(execs), execs, m.ExecutionID)
	}
	w.succeedsWithOneExecution(t)
}

func TestAStartWhoseAnswerIsLostIsRetriedIntoOneExecution(t *testing.T) {
	w := newDCSWorld(t, dcssim.Options{})
	w.must(t, "maskingBaseline", 0)
	w.steps.AwaitStart = -1 // the step gives up at once: the retry must find it
	w.dcs.LoseNextStarts(1)
	_, err := w.masking(t, "startMasking", 0)
	var transient *pipeline.TransientError
	if !errors.As(err, &transient) {
		t.Fatalf("the lost answer: got %v (%T), want a TransientError (Step Functions retries it)", err, err)
	}
	if n := len(w.dcs.Executions()); n != 1 {
		t.Fatalf("DCS started %d executions, want 1: the test needs a start that DCS took", n)
	}
	// Step Functions' retry: the same input.
	m := w.must(t, "startMasking", 0)
	execs := w.dcs.Executions()
	if len(execs) != 1 || m.ExecutionID != execs[0].ID {
		t.Fatalf("after the retry: got %d executions %+v and the step took %q, want the one the lost start made", len(execs), execs, m.ExecutionID)
	}
	w.succeedsWithOneExecution(t)
	if b := w.run.Masking.Baseline; b == nil || b.IDs != nil || b.Count != 0 {
		t.Fatalf("once masking succeeded: got baseline %+v, want its count kept and its ids dropped", b)
	}
}

// DCS's clock is not Salesforce's: an execution someone started just before
// the activation, on the old data, may carry a start time after it. Only the
// baseline tells it apart.
func TestAnExecutionFromBeforeTheActivationIsNeverTakenWhateverItsStartTime(t *testing.T) {
	for _, c := range []struct {
		name   string
		finish bool
	}{
		{"it succeeded on the old data", true},
		{"it is still running across the activation", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newDCSWorld(t, dcssim.Options{})
			activated := *w.run.Refresh.ActivatedAt
			w.dcs.SkewClock(time.Minute) // DCS's clock runs a minute ahead
			w.setClock(activated.Add(-time.Second))
			before := w.dcs.StartExecution("acme", "job", "someone@acme.example")
			if c.finish {
				w.finish(t, before.ID)
			}
			if !before.StartedAt.After(activated) {
				t.Fatalf("the earlier execution's start time %v is not after the activation %v: the test would prove nothing", before.StartedAt, activated)
			}
			w.setClock(activated.Add(time.Minute))
			w.must(t, "maskingBaseline", 0)
			m := w.must(t, "startMasking", 0)
			execs := w.dcs.Executions()
			if len(execs) != 2 || m.ExecutionID == before.ID || m.ExecutionID != execs[1].ID || m.Status != "QUEUED" {
				t.Fatalf("got masking %+v and executions %+v, want a new execution started", m, execs)
			}
		})
	}
}

func TestARedriveTakesOnlyAnExecutionStartedAfterTheFailedOne(t *testing.T) {
	w := newDCSWorld(t, dcssim.Options{})
	activated := *w.run.Refresh.ActivatedAt
	w.setClock(activated.Add(time.Minute))
	w.dcs.FailJob("job", dcssim.Failed)
	w.must(t, "maskingBaseline", 0)
	w.must(t, "startMasking", 0)
	var failed *pipeline.MaskingFailed
	if err := w.pollToEnd(t, 0); !errors.As(err, &failed) {
		t.Fatalf("got %v, want MaskingFailed", err)
	}
	first := w.run.Masking.ExecutionID
	// The job is fixed and the run redriven. Meanwhile a colleague's run of
	// the job failed too, before the redrive: the new baseline holds it with
	// the failed one.
	w.setClock(activated.Add(time.Hour))
	w.dcs.StartExecution("acme", "job", "someone@acme.example")
	w.finish(t, w.dcs.Executions()[1].ID)
	w.dcs.FailJob("job", "")

	// The redriven poll takes a baseline, with the failed execution in it.
	m := w.must(t, "checkMasking", 1)
	if m.ExecutionID != "" || m.Replaced != first || m.Done || m.Baseline == nil || m.Baseline.Count != 2 {
		t.Fatalf("the redriven poll: got %+v, want a baseline of both executions and nothing started", m)
	}
	if n := len(w.dcs.Executions()); n != 2 {
		t.Fatalf("the redriven poll started an execution (%d in all): the baseline must come first", n)
	}
	// The next poll starts one; its answer is lost, and the retry takes it.
	w.steps.AwaitStart = -1
	w.dcs.LoseNextStarts(1)
	if _, err := w.masking(t, "checkMasking", 1); err == nil {
		t.Fatal("the lost answer: got no error")
	}
	m = w.must(t, "checkMasking", 1)
	execs := w.dcs.Executions()
	if len(execs) != 3 || m.ExecutionID != execs[2].ID || m.Redrive != 1 {
		t.Fatalf("after the retry: got masking %+v and executions %+v, want the third execution, of redrive 1", m, execs)
	}
	if err := w.pollToEnd(t, 1); err != nil || w.run.Masking.Status != "SUCCEEDED" {
		t.Fatalf("got %+v, %v; want SUCCEEDED", w.run.Masking, err)
	}
}

func TestMaskingStartsNothingWithoutAnActivationOrABaseline(t *testing.T) {
	w := newDCSWorld(t, dcssim.Options{})
	var permanent *pipeline.PermanentError
	if _, err := w.masking(t, "startMasking", 0); !errors.As(err, &permanent) || !strings.Contains(err.Error(), "without a baseline") || len(w.dcs.Calls()) != 0 {
		t.Fatalf("a start without a baseline: got %v and %d DCS calls, want a PermanentError before any call", err, len(w.dcs.Calls()))
	}
	w.must(t, "maskingBaseline", 0)
	w.run.Masking.Baseline.Count++ // a baseline that lost an id
	if _, err := w.masking(t, "startMasking", 0); !errors.As(err, &permanent) || !strings.Contains(err.Error(), "not whole") || len(w.dcs.Executions()) != 0 {
		t.Fatalf("a baseline that is not whole: got %v, want a PermanentError and nothing started", err)
	}
	w.run.Masking = nil
	w.run.Refresh.ActivatedAt = nil
	calls := len(w.dcs.Calls())
	if _, err := w.masking(t, "maskingBaseline", 0); !errors.As(err, &permanent) || len(w.dcs.Calls()) != calls {
		t.Fatalf("a baseline before the activation: got %v and %d more DCS calls, want a PermanentError before any call", err, len(w.dcs.Calls())-calls)
	}
}

func TestTheBaselineListsEveryPage(t *testing.T) {
	w := newDCSWorld(t, dcssim.Options{PageSize: 2})
	for range 5 {
		w.dcs.StartExecution("acme", "job", "someone@acme.example")
	}
	b := w.must(t, "maskingBaseline", 0).Baseline
	if b.Count != 5 || len(b.IDs) != 5 || b.IDs[4] != w.dcs.Executions()[4].ID {
		t.Fatalf("got baseline %+v, want all 5 executions over 3 pages", b)
	}
	m := w.must(t, "startMasking", 0)
	if execs := w.dcs.Executions(); len(execs) != 6 || m.ExecutionID != execs[5].ID {
		t.Fatalf("got masking %+v and %d executions, want a sixth started", m, len(execs))
	}
}

// listedJobs is a DCS whose job lists the given executions; a start answers
// startErr, or starts "new", which the list shows after appearAfter more
// lists.
type listedJobs struct {
	mu          sync.Mutex
	list        []dcs.Execution
	started     int
	lists       int
	startErr    error
	appearAfter int
	answer      *dcs.Execution // what a start answers; nil: a new execution "new"
}

func (j *listedJobs) StartExecution(context.Context, string) (dcs.Execution, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.started++
	if j.startErr != nil {
		return dcs.Execution{}, j.startErr
	}
	if j.answer != nil {
		return *j.answer, nil
	}
	return dcs.Execution{ID: "new", Status: dcs.StatusQueued, StartedAt: time.Now()}, nil
}

func (j *listedJobs) Execution(_ context.Context, id string) (dcs.Execution, error) {
	return dcs.Execution{ID: id, Status: dcs.StatusRunning}, nil
}

func (j *listedJobs) Executions(context.Context, string) ([]dcs.Execution, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lists++
	list := append([]dcs.Execution(nil), j.list...)
	if j.started > 0 && j.startErr != nil {
		if j.appearAfter--; j.appearAfter < 0 {
			list = append(list, dcs.Execution{ID: "late", Status: dcs.StatusQueued, StartedAt: time.Now()})
		}
	}
	return list, nil
}

// baselineWorld is a world whose copy is activated, with a fake DCS job.
func baselineWorld(t *testing.T, job *listedJobs) *world {
	w := newWorld(t)
	w.refresh(t)
	w.steps.NewDCS = func(dcs.Config) (pipeline.MaskingJobs, error) { return job, nil }
	w.steps.AwaitStartEvery = time.Millisecond
	return w
}

func TestTheBaselineHoldsTheExecutionsThatMayMaskTheCopy(t *testing.T) {
	job := &listedJobs{}
	w := baselineWorld(t, job)
	at := w.run.Refresh.ActivatedAt.Truncate(time.Second)
	job.list = []dcs.Execution{
		{ID: "two-days-before", Status: dcs.StatusSucceeded, StartedAt: at.Add(-48 * time.Hour)},
		{ID: "a-day-before", Status: dcs.StatusSucceeded, StartedAt: at.Add(-24 * time.Hour)},
		{ID: "a-second-before", Status: dcs.StatusSucceeded, StartedAt: at.Add(-time.Second)},
		{ID: "after", Status: dcs.StatusRunning, StartedAt: at.Add(time.Minute)},
		{ID: "undated", Status: dcs.StatusQueued},
		{ID: "after", Status: dcs.StatusRunning, StartedAt: at.Add(time.Minute)}, // listed twice
	}
	out, err := w.do(t, "maskingBaseline")
	if err != nil {
		t.Fatal(err)
	}
	b := out.(*pipeline.Masking).Baseline
	if want := []string{"a-day-before", "a-second-before", "after", "undated"}; fmt.Sprint(b.IDs) != fmt.Sprint(want) || b.Count != 4 || !b.Since.Equal(at.Add(-24*time.Hour)) {
		t.Fatalf("got baseline %+v, want ids %v since a day before the activation", b, want)
	}
	if job.started != 0 {
		t.Fatal("the baseline started an execution")
	}

	// A baseline too large for the run's state is refused, not cut short.
	job.list = nil
	for i := range 2000 {
		job.list = append(job.list, dcs.Execution{ID: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), Status: dcs.StatusSucceeded, StartedAt: at})
	}
	var permanent *pipeline.PermanentError
	if _, err := w.do(t, "maskingBaseline"); !errors.As(err, &permanent) || !strings.Contains(err.Error(), "2000 executions") {
		t.Fatalf("2,000 executions: got %v, want a PermanentError naming them", err)
	}
}

// The run's record keeps the baseline's count, not its ids: the record is
// one DynamoDB item, kept for every attempt.
func TestTheRunsRecordKeepsTheBaselinesCountNotItsIDs(t *testing.T) {
	at := time.Now().UTC()
	job := &listedJobs{list: []dcs.Execution{{ID: "e-1", Status: dcs.StatusSucceeded, StartedAt: at}, {ID: "e-2", Status: dcs.StatusRunning, StartedAt: at}}}
	w := baselineWorld(t, job)
	store := runstest.NewStore(time.Now)
	record := runs.Run{ID: w.run.RunID, Tenant: w.run.Tenant, Sandbox: w.run.Sandbox, RequestedAt: at}
	record.Started(at)
	if err := store.ClaimRun(context.Background(), record, "", audittest.RunStarted(record.Tenant, record.ID)); err != nil {
		t.Fatal(err)
	}
	w.steps.Records = store
	out, err := w.do(t, "maskingBaseline")
	if err != nil || len(out.(*pipeline.Masking).Baseline.IDs) != 2 {
		t.Fatalf("got %+v, %v; want a baseline of both executions in the run's state", out, err)
	}
	got, err := store.GetRun(context.Background(), w.run.Tenant, w.run.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range got.Steps {
		if st.Name != "masking" {
			continue
		}
		b, _ := st.Detail["baseline"].(map[string]any)
		if b["count"] != 2.0 || b["ids"] != nil {
			t.Fatalf("the record's masking detail has baseline %v, want its count and no ids", b)
		}
		return
	}
	t.Fatalf("the record has no masking step: %+v", got.Steps)
}

func TestWhichListedExecutionIsTaken(t *testing.T) {
	job := &listedJobs{}
	w := baselineWorld(t, job)
	at := w.run.Refresh.ActivatedAt.Truncate(time.Second)
	baseline := &pipeline.Baseline{Since: at.Add(-24 * time.Hour), Count: 2, IDs: []string{"before", "skewed"}}
	tests := []struct {
		name   string
		list   []dcs.Execution
		wantID string // "new": the step started one
	}{
		{name: "none listed: one is started", wantID: "new"},
		{
			name: "every execution is in the baseline, whatever its start time: one is started",
			list: []dcs.Execution{
				{ID: "before", Status: dcs.StatusSucceeded, StartedAt: at.Add(-time.Second)},
				{ID: "skewed", Status: dcs.StatusSucceeded, StartedAt: at.Add(time.Hour)}, // DCS's clock ahead
			},
			wantID: "new",
		},
		{
			name:   "one dated before the baseline's bound is never taken",
			list:   []dcs.Execution{{ID: "old", Status: dcs.StatusRunning, StartedAt: at.Add(-25 * time.Hour)}},
			wantID: "new",
		},
		{
			name: "the first started after the baseline is taken, in progress or succeeded",
			list: []dcs.Execution{
				{ID: "skewed", Status: dcs.StatusSucceeded, StartedAt: at.Add(time.Hour)},
				{ID: "late", Status: dcs.StatusSucceeded, StartedAt: at.Add(2 * time.Minute)},
				{ID: "early", Status: dcs.StatusRunning, StartedAt: at.Add(time.Minute)},
			},
			wantID: "early",
		},
		{
			name: "one that ended without success is left aside",
			list: []dcs.Execution{
				{ID: "failed", Status: dcs.StatusFailed, StartedAt: at.Add(time.Minute)},
				{ID: "cancelled", Status: dcs.StatusCancelled, StartedAt: at.Add(time.Minute)},
			},
			wantID: "new",
		},
		{
			name:   "one finished without a start time, not in the baseline, is never taken: it may be an old one DCS no longer dates",
			list:   []dcs.Execution{{ID: "undated", Status: dcs.StatusSucceeded}},
			wantID: "new",
		},
		{
			name:   "a dated one goes before an undated one",
			list:   []dcs.Execution{{ID: "undated", Status: dcs.StatusQueued}, {ID: "dated", Status: dcs.StatusQueued, StartedAt: at.Add(time.Hour)}},
			wantID: "dated",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*job = listedJobs{list: tt.list}
			w.run.Masking = &pipeline.Masking{Baseline: baseline}
			out, err := w.do(t, "startMasking")
			if err != nil {
				t.Fatal(err)
			}
			m := out.(*pipeline.Masking)
			if m.ExecutionID != tt.wantID || job.started != map[bool]int{true: 1, false: 0}[tt.wantID == "new"] || m.Baseline != baseline {
				t.Fatalf("took %q after %d starts (baseline %+v), want %q and the baseline kept", m.ExecutionID, job.started, m.Baseline, tt.wantID)
			}
		})
	}
}

// After a start whose outcome is unknown the step lists the job again; after
// a refusal it does not, and fails.
func TestAStartOfUnknownOutcomeIsLookedForBeforeTheStepFails(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantFound bool
	}{
		{"a 502 after the request was sent", &dcs.APIError{Status: 502}, true},
		{"an answer cut off by the client's timeout", fmt.Errorf("dcs: start: %w", context.DeadlineExceeded), true},
		{"a 429: DCS refused it", &dcs.APIError{Status: 429}, false},
		{"a 503, which a gateway may answer after passing the request on", &dcs.APIError{Status: 503}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &listedJobs{startErr: tt.err}
			w := baselineWorld(t, job)
			w.steps.AwaitStart = 5 * time.Second
			w.run.Masking = &pipeline.Masking{Baseline: &pipeline.Baseline{Since: w.run.Refresh.ActivatedAt.Add(-24 * time.Hour), IDs: []string{}}}
			job.appearAfter = 1 // the first list after the start misses it
			out, err := w.do(t, "startMasking")
			if !tt.wantFound {
				var transient *pipeline.TransientError
				if !errors.As(err, &transient) || job.lists != 1 {
					t.Fatalf("got %v after %d lists, want a TransientError after the one list before the start", err, job.lists)
				}
				return
			}
			if err != nil || out.(*pipeline.Masking).ExecutionID != "late" || job.started != 1 || job.lists != 3 {
				t.Fatalf("got %+v, %v after %d starts and %d lists; want the late execution found on the second list after the one start", out, err, job.started, job.lists)
			}
		})
	}
}

func TestMoreThanOneExecutionAfterTheBaselineIsLoggedAndCounted(t *testing.T) {
	job := &listedJobs{}
	w := baselineWorld(t, job)
	var logs, metrics bytes.Buffer
	w.steps.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	w.steps.Metrics = pipeline.NewMetrics(&metrics, "dcs-access-test")
	at := *w.run.Refresh.ActivatedAt
	w.run.Masking = &pipeline.Masking{ExecutionID: "ours", Status: "RUNNING", Baseline: &pipeline.Baseline{Since: at.Add(-24 * time.Hour), Count: 1, IDs: []string{"earlier"}}}
	job.list = []dcs.Execution{
		{ID: "earlier", Status: dcs.StatusSucceeded, StartedAt: at},
		{ID: "ours", Status: dcs.StatusRunning, StartedAt: at.Add(time.Minute)},
	}
	// Positive control: only the run's own execution after the baseline.
	if _, err := w.do(t, "checkMasking"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "more than one") || strings.Contains(metrics.String(), "ExtraMaskingExecutions") {
		t.Fatalf("one execution after the baseline was reported as more: %s %s", logs.String(), metrics.String())
	}
	// A start DCS committed after the step gave up on it.
	job.list = append(job.list, dcs.Execution{ID: "second", Status: dcs.StatusQueued, StartedAt: at.Add(2 * time.Minute)})
	if _, err := w.do(t, "checkMasking"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "more than one DCS execution") || !strings.Contains(logs.String(), `"executions":["ours","second"]`) {
		t.Fatalf("got logs %s, want a warning naming both executions", logs.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(metrics.Bytes(), &doc); err != nil || doc["ExtraMaskingExecutions"] != 1.0 || doc["runId"] != w.run.RunID {
		t.Fatalf("got metrics %s (%v), want ExtraMaskingExecutions 1 for the run", metrics.String(), err)
	}
}

// An execution in progress that DCS does not date and the baseline does not
// hold may be the run's own start or an old one: neither taken nor joined by
// another start until DCS dates it.
func TestAnUndatedExecutionInProgressIsWaitedFor(t *testing.T) {
	job := &listedJobs{list: []dcs.Execution{{ID: "undated", Status: dcs.StatusQueued}}}
	w := baselineWorld(t, job)
	at := w.run.Refresh.ActivatedAt.Truncate(time.Second)
	w.run.Masking = &pipeline.Masking{Baseline: &pipeline.Baseline{Since: at.Add(-24 * time.Hour), Count: 0, IDs: []string{}}}
	_, err := w.do(t, "startMasking")
	var transient *pipeline.TransientError
	if !errors.As(err, &transient) || job.started != 0 {
		t.Fatalf("got %v after %d starts, want a TransientError and no start", err, job.started)
	}
}

// A DCS that answers a start with an execution the baseline holds (a job
// already running, on the data before the copy) is refused: polling it as
// the run's masking could recreate users on unmasked data.
func TestAStartAnsweredWithAnExecutionFromBeforeTheBaselineIsRefused(t *testing.T) {
	at := time.Now().UTC()
	for _, tt := range []struct {
		name   string
		answer dcs.Execution
	}{
		{"one the baseline lists", dcs.Execution{ID: "before", Status: dcs.StatusRunning, StartedAt: at}},
		{"one dated before the baseline's bound", dcs.Execution{ID: "old", Status: dcs.StatusRunning, StartedAt: at.Add(-48 * time.Hour)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			job := &listedJobs{answer: &tt.answer}
			w := baselineWorld(t, job)
			since := w.run.Refresh.ActivatedAt.Truncate(time.Second).Add(-24 * time.Hour)
			w.run.Masking = &pipeline.Masking{Baseline: &pipeline.Baseline{Since: since, Count: 1, IDs: []string{"before"}}}
			out, err := w.do(t, "startMasking")
			var permanent *pipeline.PermanentError
			if m, _ := out.(*pipeline.Masking); !errors.As(err, &permanent) || m != nil {
				t.Fatalf("got (%+v, %v), want a PermanentError and no masking to poll", m, err)
			}
		})
	}
}
