package pipeline_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/dcs/dcssim"
	"github.com/dcs-access/dcs-access/internal/pipeline"
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
	now time.Time // the simulator's clock
}

func newDCSWorld(t *testing.T) *dcsWorld {
	t.Helper()
	w := &dcsWorld{world: newWorld(t)}
	w.refresh(t)
	w.now = w.run.Refresh.ActivatedAt.Add(time.Second) // masking starts after the activation
	w.dcs = dcssim.New(dcssim.Options{Auth: pipelineToken{}, Now: func() time.Time {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.now
	}})
	w.dcs.AddJob("acme", "job")
	srv := httptest.NewServer(w.dcs)
	t.Cleanup(srv.Close)
	w.run.Plan.DCS.BaseURL = srv.URL
	w.run.Plan.DCS.APITokenSecretARN = dcsTokenARN
	w.steps.Secrets.(*secrets.Memory).Put(dcsTokenARN, "dcs-token")
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

func TestAStartWhoseAnswerIsLostIsRetriedIntoOneExecution(t *testing.T) {
	w := newDCSWorld(t)
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
	m, err := w.masking(t, "startMasking", 0)
	if err != nil {
		t.Fatal(err)
	}
	execs := w.dcs.Executions()
	if len(execs) != 1 || m.ExecutionID != execs[0].ID {
		t.Fatalf("after the retry: got %d executions %+v and the step took %q, want the one the lost start made", len(execs), execs, m.ExecutionID)
	}
	w.run.Masking = m
	if err := w.pollToEnd(t, 0); err != nil || w.run.Masking.Status != "SUCCEEDED" {
		t.Fatalf("got %+v, %v; want SUCCEEDED", w.run.Masking, err)
	}
	if n := len(w.dcs.Executions()); n != 1 {
		t.Fatalf("got %d executions in all, want 1", n)
	}
}

func TestAnExecutionFromBeforeTheActivationIsNeverTaken(t *testing.T) {
	w := newDCSWorld(t)
	activated := *w.run.Refresh.ActivatedAt
	// Someone masked the sandbox before its copy replaced it: that execution
	// masked the old data, and succeeded.
	w.setClock(activated.Add(-time.Hour))
	old, err := dcs.New(dcs.Config{BaseURL: w.run.Plan.DCS.BaseURL, Token: "dcs-token"})
	if err != nil {
		t.Fatal(err)
	}
	before, err := old.StartExecution(context.Background(), "job")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := old.Execution(context.Background(), before.ID); err != nil {
			t.Fatal(err)
		}
	}
	if e := w.dcs.Executions()[0]; e.Status != dcssim.Succeeded {
		t.Fatalf("the earlier execution: got %s, want SUCCEEDED", e.Status)
	}

	w.setClock(activated.Add(time.Minute))
	m, err := w.masking(t, "startMasking", 0)
	if err != nil {
		t.Fatal(err)
	}
	if execs := w.dcs.Executions(); len(execs) != 2 || m.ExecutionID != execs[1].ID || m.Status != "QUEUED" {
		t.Fatalf("got masking %+v and executions %+v, want a new execution started", m, execs)
	}
}

func TestARedriveTakesOnlyAnExecutionStartedAfterTheFailedOne(t *testing.T) {
	w := newDCSWorld(t)
	activated := *w.run.Refresh.ActivatedAt
	w.setClock(activated.Add(time.Minute))
	w.dcs.FailJob("job", dcssim.Failed)
	m, err := w.masking(t, "startMasking", 0)
	if err != nil {
		t.Fatal(err)
	}
	w.run.Masking = m
	var failed *pipeline.MaskingFailed
	if err := w.pollToEnd(t, 0); !errors.As(err, &failed) {
		t.Fatalf("got %v, want MaskingFailed", err)
	}
	// The job is fixed and the run redriven; the redrive's start loses its
	// answer, and Step Functions retries the step with the same input.
	w.dcs.FailJob("job", "")
	w.setClock(activated.Add(time.Hour))
	w.dcs.LoseNextStarts(1)
	if _, err := w.masking(t, "checkMasking", 1); err == nil {
		t.Fatal("the lost answer: got no error")
	}
	m, err = w.masking(t, "checkMasking", 1)
	if err != nil {
		t.Fatal(err)
	}
	execs := w.dcs.Executions()
	if len(execs) != 2 || m.ExecutionID != execs[1].ID || m.Redrive != 1 {
		t.Fatalf("after the retry: got masking %+v and executions %+v, want the second execution, of redrive 1", m, execs)
	}
	w.run.Masking = m
	if err := w.pollToEnd(t, 1); err != nil || w.run.Masking.Status != "SUCCEEDED" {
		t.Fatalf("got %+v, %v; want SUCCEEDED", w.run.Masking, err)
	}
}

func TestMaskingIsNotStartedBeforeTheCopyIsActivated(t *testing.T) {
	w := newDCSWorld(t)
	w.run.Refresh.ActivatedAt = nil
	_, err := w.masking(t, "startMasking", 0)
	var permanent *pipeline.PermanentError
	if !errors.As(err, &permanent) || len(w.dcs.Calls()) != 0 {
		t.Fatalf("got %v and %d DCS calls, want a PermanentError before any call", err, len(w.dcs.Calls()))
	}
}

// listedJobs is a DCS whose job lists the given executions.
type listedJobs struct {
	list    []dcs.Execution
	started int
}

func (j *listedJobs) StartExecution(context.Context, string) (dcs.Execution, error) {
	j.started++
	return dcs.Execution{ID: "new", Status: dcs.StatusQueued, StartedAt: time.Now()}, nil
}

func (j *listedJobs) Execution(_ context.Context, id string) (dcs.Execution, error) {
	return dcs.Execution{ID: id, Status: dcs.StatusRunning}, nil
}

func (j *listedJobs) Executions(context.Context, string) ([]dcs.Execution, error) { return j.list, nil }

func TestWhichListedExecutionIsTaken(t *testing.T) {
	w := newWorld(t)
	w.refresh(t)
	at := w.run.Refresh.ActivatedAt.Truncate(time.Second)
	tests := []struct {
		name      string
		list      []dcs.Execution
		wantID    string // "new": the step started one
		wantRetry bool   // a TransientError, nothing started
	}{
		{name: "none listed: one is started", wantID: "new"},
		{
			name:   "only executions from before the activation: one is started",
			list:   []dcs.Execution{{ID: "a", Status: dcs.StatusSucceeded, StartedAt: at.Add(-time.Second)}, {ID: "b", Status: dcs.StatusRunning, StartedAt: at.Add(-time.Hour)}},
			wantID: "new",
		},
		{
			name:   "the first started since the activation is taken, in progress or not",
			list:   []dcs.Execution{{ID: "late", Status: dcs.StatusRunning, StartedAt: at.Add(time.Minute)}, {ID: "early", Status: dcs.StatusFailed, StartedAt: at.Add(time.Second)}},
			wantID: "early",
		},
		{
			name:   "an execution started in the activation's second is taken (DCS may give whole seconds)",
			list:   []dcs.Execution{{ID: "same-second", Status: dcs.StatusQueued, StartedAt: at}},
			wantID: "same-second",
		},
		{
			name:   "a finished execution without a start time is left aside",
			list:   []dcs.Execution{{ID: "undated", Status: dcs.StatusCancelled}},
			wantID: "new",
		},
		{
			name:      "an execution in progress without a start time is retried, not doubled",
			list:      []dcs.Execution{{ID: "undated", Status: dcs.StatusQueued}},
			wantRetry: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &listedJobs{list: tt.list}
			w.steps.NewDCS = func(dcs.Config) (pipeline.MaskingJobs, error) { return job, nil }
			w.run.Plan.DCS.APITokenSecretARN = keyARN
			out, err := w.do(t, "startMasking")
			if tt.wantRetry {
				var transient *pipeline.TransientError
				if !errors.As(err, &transient) || job.started != 0 || !strings.Contains(err.Error(), "without a start time") {
					t.Fatalf("got %v and %d starts, want a TransientError naming the missing start time and no start", err, job.started)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := out.(*pipeline.Masking)
			if m.ExecutionID != tt.wantID || job.started != map[bool]int{true: 1, false: 0}[tt.wantID == "new"] {
				t.Fatalf("took %q after %d starts, want %q", m.ExecutionID, job.started, tt.wantID)
			}
		})
	}
}
