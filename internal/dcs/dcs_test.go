package dcs_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/dcs/dcssim"
)

func TestAnExecutionIsReportedUntilItEnds(t *testing.T) {
	tests := []struct {
		name    string
		opts    dcssim.Options
		arrange func(s *dcssim.Sim) // before the start
		want    []dcs.Status
	}{
		{
			name: "a job moves from queued through running to succeeded",
			want: []dcs.Status{dcs.StatusQueued, dcs.StatusRunning, dcs.StatusSucceeded},
		},
		{
			name:    "a failed job is reported FAILED",
			arrange: func(s *dcssim.Sim) { s.FailJob("job-1", dcssim.Failed) },
			want:    []dcs.Status{dcs.StatusQueued, dcs.StatusRunning, dcs.StatusFailed},
		},
		{
			name:    "a cancelled job is reported CANCELLED",
			arrange: func(s *dcssim.Sim) { s.FailJob("job-1", dcssim.Cancelled) },
			want:    []dcs.Status{dcs.StatusQueued, dcs.StatusRunning, dcs.StatusCancelled},
		},
		{
			name: "a cleared failure lets the job succeed again",
			arrange: func(s *dcssim.Sim) {
				s.FailJob("job-1", dcssim.Failed)
				s.FailJob("job-1", "")
			},
			want: []dcs.Status{dcs.StatusQueued, dcs.StatusRunning, dcs.StatusSucceeded},
		},
		{
			name: "a job that waits and is polled twice per status reports each status twice",
			opts: dcssim.Options{Progress: []string{dcssim.Queued, dcssim.Waiting, dcssim.Running}, PollsPerStatus: 2},
			want: []dcs.Status{
				dcs.StatusQueued, dcs.StatusQueued, dcs.StatusWaiting, dcs.StatusWaiting,
				dcs.StatusRunning, dcs.StatusRunning, dcs.StatusSucceeded,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, "", tt.opts)
			s.sim.AddJob("acme", "job-1")
			if tt.arrange != nil {
				tt.arrange(s.sim)
			}
			got := runToEnd(t, s.client(t, s.adaToken(t), nil), "job-1")
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("statuses: got %v, want %v", got, tt.want)
			}
			last := got[len(got)-1]
			if gotOK, wantOK := last.Succeeded(), tt.want[len(tt.want)-1] == dcs.StatusSucceeded; gotOK != wantOK {
				t.Errorf("%s.Succeeded(): got %v, want %v", last, gotOK, wantOK)
			}
			execs := s.sim.Executions()
			if len(execs) != 1 {
				t.Fatalf("simulator executions: got %d, want 1", len(execs))
			}
			if got, want := execs[0], (dcssim.Execution{
				ID: "exec-1", Tenant: "acme", JobID: "job-1", Status: string(last), StartedBy: "ada@example.com",
				TokenID: "tok-ada", Polls: len(tt.want) - 1, StartedAt: t0, EndedAt: t0,
			}); got != want {
				t.Errorf("simulator execution: got %+v, want %+v", got, want)
			}
		})
	}
}

func TestAFailureThatComesWhileRunningIsReported(t *testing.T) {
	s := newStack(t, "", dcssim.Options{})
	s.sim.AddJob("acme", "job-1")
	c := s.client(t, s.adaToken(t), nil)
	ctx := context.Background()
	e, err := c.StartExecution(ctx, "job-1")
	if err != nil {
		t.Fatal(err)
	}
	if e, err = c.Execution(ctx, e.ID); err != nil || e.Status != dcs.StatusRunning {
		t.Fatalf("first poll: got %+v, %v; want RUNNING", e, err)
	}
	s.sim.FailJob("job-1", dcssim.Cancelled)
	if e, err = c.Execution(ctx, e.ID); err != nil || e.Status != dcs.StatusCancelled || !e.Status.Done() || e.Status.Succeeded() {
		t.Fatalf("second poll: got %+v, %v; want CANCELLED, done, not succeeded", e, err)
	}
}

// TestRejectedCallsFailPermanently covers every way a masking call is
// refused: each is an *APIError that must not be retried.
func TestRejectedCallsFailPermanently(t *testing.T) {
	expired := t0.Add(-time.Minute)
	tests := []struct {
		name     string
		call     func(t *testing.T, s *stack) error
		wantHTTP int
		wantCode string
		wantMsg  string // part of the message, when it tells cases apart
		// denied: the authorizer denied the bearer, so its log says so (the
		// control for newStack's check that no bearer reaches that log).
		denied bool
	}{
		{
			name: "a token deleted before the start is refused with 401",
			call: func(t *testing.T, s *stack) error {
				c := s.client(t, s.adaToken(t), nil)
				s.store.remove("acme", "tok-ada")
				_, err := c.StartExecution(context.Background(), "job-1")
				return err
			},
			wantHTTP: http.StatusUnauthorized, wantCode: "UNAUTHORIZED", denied: true,
		},
		{
			name: "a token deleted while the job runs makes the next poll fail with 401",
			call: func(t *testing.T, s *stack) error {
				c := s.client(t, s.adaToken(t), nil)
				e, err := c.StartExecution(context.Background(), "job-1")
				if err != nil {
					t.Fatal(err)
				}
				s.store.remove("acme", "tok-ada")
				_, err = c.Execution(context.Background(), e.ID)
				return err
			},
			wantHTTP: http.StatusUnauthorized, wantCode: "UNAUTHORIZED", denied: true,
		},
		{
			name: "an expired token is refused with 401",
			call: func(t *testing.T, s *stack) error {
				tok := s.apiToken(t, grant{id: "tok-old", user: "ada@example.com", tenant: "acme", expiresAt: &expired})
				_, err := s.client(t, tok, nil).StartExecution(context.Background(), "job-1")
				return err
			},
			wantHTTP: http.StatusUnauthorized, wantCode: "UNAUTHORIZED", denied: true,
		},
		{
			name: "a token whose stored record has expired is refused with 401 though its claim has no exp",
			call: func(t *testing.T, s *stack) error {
				tok := s.apiToken(t, grant{id: "tok-ttl", user: "ada@example.com", tenant: "acme"})
				s.store.put(access.Token{ID: "tok-ttl", Tenant: "acme", AssociatedUser: "ada@example.com", CreatedAt: t0.Add(-time.Hour), ExpiresAt: &expired})
				_, err := s.client(t, tok, nil).StartExecution(context.Background(), "job-1")
				return err
			},
			wantHTTP: http.StatusUnauthorized, wantCode: "UNAUTHORIZED", denied: true,
		},
		{
			name: "a valid user session is refused with 401 because DCS takes API tokens",
			call: func(t *testing.T, s *stack) error {
				_, err := s.client(t, s.session(t, "ada@example.com", "acme"), nil).StartExecution(context.Background(), "job-1")
				return err
			},
			wantHTTP: http.StatusUnauthorized, wantCode: "UNAUTHORIZED", wantMsg: "a user session is not accepted",
		},
		{
			name: "a bearer that is not a JWT is refused with 401",
			call: func(t *testing.T, s *stack) error {
				_, err := s.client(t, "garbage", nil).StartExecution(context.Background(), "job-1")
				return err
			},
			wantHTTP: http.StatusUnauthorized, wantCode: "UNAUTHORIZED", denied: true,
		},
		{
			name: "a token signed by an unknown key is refused with 401",
			call: func(t *testing.T, s *stack) error {
				other := newStack(t, "", dcssim.Options{})
				_, err := s.client(t, other.adaToken(t), nil).StartExecution(context.Background(), "job-1")
				return err
			},
			wantHTTP: http.StatusUnauthorized, wantCode: "UNAUTHORIZED", denied: true,
		},
		{
			name: "a token without the scope compliance-jobs:run is refused with 403 naming it",
			call: func(t *testing.T, s *stack) error {
				tok := s.apiToken(t, grant{id: "tok-ci", user: "ada@example.com", tenant: "acme",
					scopes: slices.DeleteFunc(access.AllScopes(), func(s access.Scope) bool { return s == access.ScopeComplianceJobsRun })})
				_, err := s.client(t, tok, nil).StartExecution(context.Background(), "job-1")
				return err
			},
			wantHTTP: http.StatusForbidden, wantCode: "INSUFFICIENT_SCOPE", wantMsg: "compliance-jobs:run",
		},
		{
			name: "a job of another tenant is not found",
			call: func(t *testing.T, s *stack) error {
				tok := s.apiToken(t, grant{id: "tok-grace", user: "grace@example.com", tenant: "globex"})
				_, err := s.client(t, tok, nil).StartExecution(context.Background(), "job-1")
				return err
			},
			wantHTTP: http.StatusNotFound, wantCode: "NOT_FOUND",
		},
		{
			name: "an execution of another tenant is not found",
			call: func(t *testing.T, s *stack) error {
				e, err := s.client(t, s.adaToken(t), nil).StartExecution(context.Background(), "job-1")
				if err != nil {
					t.Fatal(err)
				}
				tok := s.apiToken(t, grant{id: "tok-grace", user: "grace@example.com", tenant: "globex"})
				_, err = s.client(t, tok, nil).Execution(context.Background(), e.ID)
				return err
			},
			wantHTTP: http.StatusNotFound, wantCode: "NOT_FOUND",
		},
		{
			name: "a job that does not exist is not found",
			call: func(t *testing.T, s *stack) error {
				_, err := s.client(t, s.adaToken(t), nil).StartExecution(context.Background(), "job-404")
				return err
			},
			wantHTTP: http.StatusNotFound, wantCode: "NOT_FOUND",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, "", dcssim.Options{})
			s.sim.AddJob("acme", "job-1")
			err := tt.call(t, s)
			e := apiError(t, err)
			if e.Status != tt.wantHTTP || e.Code != tt.wantCode {
				t.Errorf("got HTTP %d %s, want HTTP %d %s", e.Status, e.Code, tt.wantHTTP, tt.wantCode)
			}
			if e.Message == "" || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message: got %q, want one containing %q", e.Message, tt.wantMsg)
			}
			if dcs.IsTransient(err) {
				t.Errorf("IsTransient(%v): got true, want false", err)
			}
			if logged := strings.Contains(s.log.String(), `msg="request denied"`); logged != tt.denied {
				t.Errorf("got the authorizer's log %q, want a denial logged: %v", s.log.String(), tt.denied)
			}
			s.assertNoSecret(t, err)
		})
	}
}

func TestBusyAndFailingAnswersAreTransient(t *testing.T) {
	tests := []struct {
		name     string
		arrange  func(s *stack)
		wantHTTP int
		wantCode string
	}{
		{"a 503 is transient", func(s *stack) { s.sim.FailNext(1, http.StatusServiceUnavailable) }, 503, "UNAVAILABLE"},
		{"a 429 is transient", func(s *stack) { s.sim.FailNext(1, http.StatusTooManyRequests) }, 429, "TOO_MANY_REQUESTS"},
		{"a 500 is transient", func(s *stack) { s.sim.FailNext(1, http.StatusInternalServerError) }, 500, "INTERNAL"},
		{
			name:     "a token store that throttles makes a transient 503",
			arrange:  func(s *stack) { s.store.fail(access.Unavailable(errors.New("throughput exceeded"))) },
			wantHTTP: 503, wantCode: "UNAVAILABLE",
		},
		{
			name:     "a token store that fails makes a transient 500",
			arrange:  func(s *stack) { s.store.fail(errors.New("connection reset")) },
			wantHTTP: 500, wantCode: "INTERNAL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, "", dcssim.Options{})
			s.sim.AddJob("acme", "job-1")
			c := s.client(t, s.adaToken(t), nil)
			tt.arrange(s)
			_, err := c.StartExecution(context.Background(), "job-1")
			e := apiError(t, err)
			if e.Status != tt.wantHTTP || e.Code != tt.wantCode {
				t.Errorf("got HTTP %d %s, want HTTP %d %s", e.Status, e.Code, tt.wantHTTP, tt.wantCode)
			}
			if !dcs.IsTransient(err) {
				t.Errorf("IsTransient(%v): got false, want true", err)
			}
			s.assertNoSecret(t, err)
			if n := len(s.sim.Executions()); n != 0 {
				t.Errorf("executions after a refused start: got %d, want 0", n)
			}

			s.store.fail(nil)
			if got := runToEnd(t, c, "job-1"); got[len(got)-1] != dcs.StatusSucceeded {
				t.Errorf("after the fault: got %v, want a run that succeeds", got)
			}
		})
	}
}

func TestPathsComeFromConfiguration(t *testing.T) {
	tests := []struct {
		name      string
		prefix    string // where the simulator is mounted, part of BaseURL
		opts      dcssim.Options
		cfg       func(*dcs.Config)
		jobID     string
		execID    string
		wantPaths []string // as the simulator received them
	}{
		{
			name:   "the default paths are used when none are configured",
			jobID:  "job-1",
			execID: "exec-1",
			wantPaths: []string{
				"/v1/compliance-jobs/job-1/executions", "/v1/executions/exec-1", "/v1/executions/exec-1",
				"/v1/compliance-jobs/job-1/executions",
			},
		},
		{
			name:   "configured paths under a base URL with a path prefix are used",
			prefix: "/dcs",
			opts:   dcssim.Options{StartPath: "/api/v2/jobs/{jobId}/run", StatusPath: "/api/v2/runs/{id}/state", ListPath: "/api/v2/jobs/{jobId}/runs"},
			cfg: func(c *dcs.Config) {
				c.BaseURL += "/"
				c.StartPath, c.StatusPath, c.ListPath = "/api/v2/jobs/{jobId}/run", "/api/v2/runs/{id}/state", "/api/v2/jobs/{jobId}/runs"
			},
			jobID:  "job-1",
			execID: "exec-1",
			wantPaths: []string{
				"/dcs/api/v2/jobs/job-1/run", "/dcs/api/v2/runs/exec-1/state", "/dcs/api/v2/runs/exec-1/state",
				"/dcs/api/v2/jobs/job-1/runs",
			},
		},
		{
			name:   "job and execution ids are escaped into one path segment each",
			jobID:  "job/1 ?#%é",
			execID: "run/../1?x=y&z#f",
			wantPaths: []string{
				"/v1/compliance-jobs/job%2F1%20%3F%23%25%C3%A9/executions",
				"/v1/executions/run%2F..%2F1%3Fx=y&z%23f",
				"/v1/executions/run%2F..%2F1%3Fx=y&z%23f",
				"/v1/compliance-jobs/job%2F1%20%3F%23%25%C3%A9/executions",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.NewID = func() string { return tt.execID }
			s := newStack(t, tt.prefix, tt.opts)
			s.sim.AddJob("acme", tt.jobID)
			c := s.client(t, s.adaToken(t), tt.cfg)
			if got := runToEnd(t, c, tt.jobID); got[len(got)-1] != dcs.StatusSucceeded {
				t.Fatalf("got %v, want a run that succeeds", got)
			}
			if list, err := c.Executions(context.Background(), tt.jobID); err != nil || len(list) != 1 || list[0].ID != tt.execID {
				t.Fatalf("list: got %+v, %v; want execution %q", list, err, tt.execID)
			}
			var gotPaths []string
			for _, call := range s.sim.Calls() {
				gotPaths = append(gotPaths, tt.prefix+call.Path)
			}
			if !reflect.DeepEqual(gotPaths, tt.wantPaths) {
				t.Errorf("paths: got %q, want %q", gotPaths, tt.wantPaths)
			}
			if e := s.sim.Executions()[0]; e.JobID != tt.jobID || e.ID != tt.execID {
				t.Errorf("simulator saw job %q execution %q, want %q and %q", e.JobID, e.ID, tt.jobID, tt.execID)
			}
		})
	}
}

func TestAJobsExecutionsAreListed(t *testing.T) {
	clock := t0
	s := newStack(t, "", dcssim.Options{Now: func() time.Time { return clock }})
	s.sim.AddJob("acme", "job-1")
	s.sim.AddJob("acme", "job-2")
	c := s.client(t, s.adaToken(t), nil)
	ctx := context.Background()
	if list, err := c.Executions(ctx, "job-1"); err != nil || len(list) != 0 {
		t.Fatalf("before any start: got %+v, %v; want none", list, err)
	}
	for _, job := range []string{"job-1", "job-2", "job-1"} {
		if _, err := c.StartExecution(ctx, job); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(90 * time.Second)
	}
	list, err := c.Executions(ctx, "job-1")
	want := []dcs.Execution{
		{ID: "exec-1", Status: dcs.StatusQueued, StartedAt: t0},
		{ID: "exec-3", Status: dcs.StatusQueued, StartedAt: t0.Add(3 * time.Minute)},
	}
	if err != nil || !reflect.DeepEqual(list, want) {
		t.Fatalf("got %+v, %v; want %+v", list, err, want)
	}
	if _, err := c.Executions(ctx, "job-9"); apiError(t, err).Status != http.StatusNotFound || dcs.IsTransient(err) {
		t.Fatalf("an unknown job: got %v, want a permanent 404", err)
	}
}
