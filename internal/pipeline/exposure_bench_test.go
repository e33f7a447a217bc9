package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/pipeline"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/runs/runstest"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// The exposure benchmark runs a refresh as the state machine would, on the
// Salesforce simulator, in virtual time: the simulator's clock and the
// steps' are one clock, which each Wait moves on by its waitSeconds and
// each Salesforce request by salesforceLatency. So a 4-hour copy takes a
// moment, and the figures are those of real time: how long the sandbox was
// open to its users, and held unmasked data, after its copy was activated.

const (
	salesforceLatency = 150 * time.Millisecond // an API call, as seen from Lambda
	maskingTakes      = 30 * time.Minute       // the DCS job itself
	copyTakes         = 4 * time.Hour
)

// latency moves the clock on by each request's latency.
type latency struct {
	clock *testenv.Clock
	next  http.RoundTripper
}

func (l latency) RoundTrip(r *http.Request) (*http.Response, error) {
	l.clock.Add(salesforceLatency)
	return l.next.RoundTrip(r)
}

// timedJob is a DCS job that takes maskingTakes of the clock.
type timedJob struct {
	clock   *testenv.Clock
	mu      sync.Mutex
	started time.Time
}

func (j *timedJob) StartExecution(context.Context, string) (dcs.Execution, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started.IsZero() {
		j.started = j.clock.Now()
	}
	return dcs.Execution{ID: "exec-1", Status: dcs.StatusRunning, StartedAt: j.started}, nil
}

func (j *timedJob) Executions(context.Context, string) ([]dcs.Execution, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started.IsZero() {
		return nil, nil
	}
	return []dcs.Execution{{ID: "exec-1", Status: dcs.StatusRunning, StartedAt: j.started}}, nil
}

func (j *timedJob) Execution(context.Context, string) (dcs.Execution, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.clock.Now().Sub(j.started) >= maskingTakes {
		return dcs.Execution{ID: "exec-1", Status: dcs.StatusSucceeded}, nil
	}
	return dcs.Execution{ID: "exec-1", Status: dcs.StatusRunning}, nil
}

// exposureRun is the outcome of one simulated run.
type exposureRun struct {
	openToUsers, unmasked time.Duration
	refreshPolls, polls   int
}

func simulateRun(b *testing.B, users int, autoActivate, fixed bool) exposureRun {
	clock := testenv.NewClock(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC))
	var seeded []sfsim.User
	for i := range users {
		seeded = append(seeded, sfsim.User{Username: fmt.Sprintf("user%05d@acme.example", i)})
	}
	w := newWorldWith(b, sfsim.Options{Now: clock.Now, PendingFor: 2 * time.Minute, ProcessingFor: copyTakes, ActivatingFor: 5 * time.Minute}, seeded...)
	w.transport = latency{clock: clock, next: http.DefaultTransport}
	job := &timedJob{clock: clock}
	w.steps.Now = clock.Now
	w.steps.NewDCS = func(dcs.Config) (pipeline.MaskingJobs, error) { return job, nil }
	if fixed {
		pipeline.SetFixedBackoff(w.steps)
	}
	store := runstest.NewStore(clock.Now)
	w.steps.Records = store
	w.run.RequestedAt, w.run.Deadline = clock.Now(), clock.Now().Add(72*time.Hour)
	w.run.Plan.LicenseType, w.run.Plan.AutoActivate, w.run.Plan.TimeoutHours = "FULL", autoActivate, 72
	record := runs.Run{ID: w.run.RunID, Tenant: w.run.Tenant, Sandbox: w.run.Sandbox, RequestedAt: clock.Now()}
	record.Started(clock.Now())
	if err := store.ClaimRun(context.Background(), record, "", audittest.RunStarted(record.Tenant, record.ID)); err != nil {
		b.Fatal(err)
	}

	step := func(name string) any {
		out, err := w.do(b, name)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		return out
	}
	polls := 0
	w.run.Refresh = step("prepareRefresh").(*pipeline.Refresh)
	w.run.Refresh = step("startRefresh").(*pipeline.Refresh)
	for !w.run.Refresh.Done {
		clock.Add(time.Duration(w.run.Refresh.WaitSeconds) * time.Second)
		w.run.Refresh = step("checkRefresh").(*pipeline.Refresh)
		polls++
	}
	refreshPolls := polls
	w.run.DropUsers = step("dropUsers").(*pipeline.Dropped)
	w.run.Masking = step("maskingBaseline").(*pipeline.Masking)
	w.run.Masking = step("startMasking").(*pipeline.Masking)
	for !w.run.Masking.Done {
		clock.Add(time.Duration(w.run.Masking.WaitSeconds) * time.Second)
		w.run.Masking = step("checkMasking").(*pipeline.Masking)
		polls++
	}
	got, err := store.GetRun(context.Background(), w.run.Tenant, w.run.RunID)
	if err != nil {
		b.Fatal(err)
	}
	open, ok1 := got.Exposure.OpenToUsers()
	unmasked, ok2 := got.Exposure.Unmasked(clock.Now())
	if !ok1 || !ok2 {
		b.Fatalf("the run's record has no exposure figures: %+v", got.Exposure)
	}
	return exposureRun{openToUsers: open, unmasked: unmasked, refreshPolls: refreshPolls, polls: polls}
}

// BenchmarkExposure reports, for a 4-hour copy, how long the sandbox was
// open to its users (openToUsers-s) and held unmasked data (unmasked-s)
// after its copy was activated, and the polls the run used against its
// history (history-%: about 9 events a poll, of Step Functions' 25,000), with
// the pipeline activating the copy or Salesforce, for 200 and 5,000 users,
// and with the fixed doubling waits of before (fixed).
func BenchmarkExposure(b *testing.B) {
	for _, activation := range []string{"pipeline", "salesforce"} {
		for _, users := range []int{200, 5000} {
			for _, polling := range []string{"adaptive", "fixed"} {
				b.Run(fmt.Sprintf("activation=%s/users=%d/polling=%s", activation, users, polling), func(b *testing.B) {
					var r exposureRun
					for b.Loop() {
						r = simulateRun(b, users, activation == "salesforce", polling == "fixed")
					}
					b.ReportMetric(r.openToUsers.Seconds(), "openToUsers-s")
					b.ReportMetric(r.unmasked.Seconds(), "unmasked-s")
					b.ReportMetric(float64(r.refreshPolls), "refresh-polls")
					b.ReportMetric(float64(r.polls*9)/25000*100, "history-%")
				})
			}
		}
	}
}
