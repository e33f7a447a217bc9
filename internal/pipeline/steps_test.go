package pipeline_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/pipeline"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

const keyARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:dcs-access/acme/sf-key"

// world is production with a sandbox, on the Salesforce simulator.
type world struct {
	sim   *sfsim.Sim
	steps *pipeline.Steps
	run   pipeline.State
	// transport, when set, carries the steps' Salesforce requests (faults on the wire).
	transport http.RoundTripper
}

func newWorld(t testing.TB, users ...sfsim.User) *world {
	t.Helper()
	return newWorldWith(t, sfsim.Options{StepPerPoll: true}, users...)
}

func newWorldWith(t testing.TB, opts sfsim.Options, users ...sfsim.User) *world {
	t.Helper()
	sim := sfsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.SetBaseURL(srv.URL)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sim.TrustKey("ck", &key.PublicKey)
	sim.AddProdUsers(append([]sfsim.User{{Username: "integration@acme.example"}, {Username: "dcs@acme.example"}, {Username: "keep@acme.example"}}, users...)...)
	sim.AddSandbox("uat1", "PARTIAL")
	store := &secrets.Memory{}
	store.Put(keyARN, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	plan := plans.Plan{
		Sandbox: "uat1", LicenseType: "PARTIAL", AutoActivate: true,
		Salesforce: plans.Salesforce{LoginURL: srv.URL, SandboxLoginURL: srv.URL, ConsumerKey: "ck", Username: "integration@acme.example", PrivateKeySecretARN: keyARN},
		DCS:        plans.DCS{BaseURL: "http://127.0.0.1:1", ComplianceJobID: "job", APITokenSecretARN: keyARN, ConnectorUsername: "dcs@acme.example"},
		KeepUsers:  []string{"keep@acme.example"},
		NonProdUsers: []plans.User{{Username: "qa@acme.example.uat1", Email: "qa@acme.example", LastName: "QA", Alias: "qa",
			ProfileName: "Standard User", TimeZone: "America/Los_Angeles", Locale: "en_US", EmailEncoding: "UTF-8", Language: "en_US"}},
	}
	plan.Defaults()
	now := time.Now().UTC()
	w := &world{sim: sim, run: pipeline.State{Input: runs.Input{RunID: "uat1-1", Tenant: "acme", Sandbox: "uat1", RequestedAt: now, Deadline: now.Add(time.Hour), Plan: plan}}}
	w.steps = &pipeline.Steps{
		Secrets: store,
		Connect: func(ctx context.Context, c salesforce.Config) (pipeline.Org, error) {
			if w.transport != nil {
				c.HTTPClient = &http.Client{Transport: w.transport}
			}
			return salesforce.Connect(ctx, c)
		},
		NewDCS:    func(c dcs.Config) (pipeline.MaskingJobs, error) { return dcs.New(c) },
		Validator: plans.Validator{SecretPrefix: plans.SecretPrefix, AllowLoopback: true},
		Now:       time.Now,
	}
	return w
}

func (w *world) do(t testing.TB, step string) (any, error) {
	t.Helper()
	return w.steps.Handle(context.Background(), pipeline.Request{Step: step, Run: w.run})
}

// startRefresh runs the steps that ask for a copy: prepareRefresh, then
// startRefresh. It stops at the first error.
func (w *world) startRefresh(t testing.TB) error {
	t.Helper()
	for _, step := range []string{"prepareRefresh", "startRefresh"} {
		out, err := w.do(t, step)
		if err != nil {
			return err
		}
		w.run.Refresh = out.(*pipeline.Refresh)
	}
	return nil
}

// refresh runs the refresh steps until the sandbox copy is done.
func (w *world) refresh(t testing.TB) {
	t.Helper()
	if err := w.startRefresh(t); err != nil {
		t.Fatal(err)
	}
	for i := 0; !w.run.Refresh.Done; i++ {
		if i == 20 {
			t.Fatalf("refresh not done after 20 polls: %+v", w.run.Refresh)
		}
		out, err := w.do(t, "checkRefresh")
		if err != nil {
			t.Fatal(err)
		}
		w.run.Refresh = out.(*pipeline.Refresh)
	}
}

func TestDropUsersTwiceChangesNothingTheSecondTime(t *testing.T) {
	w := newWorld(t, sfsim.User{Username: "a@acme.example"}, sfsim.User{Username: "b@acme.example"})
	w.refresh(t)
	out, err := w.do(t, "dropUsers")
	if err != nil {
		t.Fatal(err)
	}
	first := out.(*pipeline.Dropped)
	if first.Frozen != 2 || first.Deactivated != 2 || first.Kept != 3 {
		t.Fatalf("got %+v, want a and b dropped, the integration, connector and kept users kept", first)
	}
	calls := len(w.sim.CollectionCalls())
	out, err = w.do(t, "dropUsers")
	if err != nil {
		t.Fatal(err)
	}
	if second := out.(*pipeline.Dropped); second.Frozen != first.Frozen || second.Deactivated != first.Deactivated ||
		second.Kept != first.Kept || second.Refused != 0 || second.Batches != 0 {
		t.Fatalf("second run: got %+v, want the same state as after the first (%+v) and no calls", second, first)
	}
	if got := len(w.sim.CollectionCalls()); got != calls {
		t.Fatalf("second run made %d collection calls, want none", got-calls)
	}
	for _, name := range []string{"integration@acme.example.uat1", "dcs@acme.example.uat1", "keep@acme.example.uat1"} {
		if u, _ := w.sim.User("uat1", name); !u.IsActive || u.IsFrozen {
			t.Fatalf("got %s %+v, want it kept active", name, u)
		}
	}
}

// failNthSave fails the nth sObject Collections request (counting from 1)
// as a lost connection would, once.
type failNthSave struct {
	mu   sync.Mutex
	n    int
	seen int
}

func (f *failNthSave) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/composite/sobjects") {
		f.mu.Lock()
		f.seen++
		fail := f.seen == f.n
		f.mu.Unlock()
		if fail {
			return nil, errors.New("connection reset by peer (simulated)")
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestDropUsersReportsWhatIsTrueAfterARetry(t *testing.T) {
	var many []sfsim.User
	for i := range 500 {
		many = append(many, sfsim.User{Username: fmt.Sprintf("u%03d@acme.example", i)})
	}
	w := newWorld(t, many...)
	w.refresh(t)
	// Freezing takes three calls of 200, 200 and 100 records; the second
	// deactivation call (the fifth) is lost, after 200 users were deactivated.
	w.transport = &failNthSave{n: 5}
	if _, err := w.do(t, "dropUsers"); !isType[*pipeline.TransientError](err) {
		t.Fatalf("first attempt: got %T %v, want TransientError", err, err)
	}
	out, err := w.do(t, "dropUsers")
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*pipeline.Dropped)
	if got.Frozen != 500 || got.Deactivated != 500 || got.Refused != 0 || got.Kept != 3 {
		t.Fatalf("after the retry: got %+v, want 500 frozen, 500 deactivated, none refused, 3 kept", got)
	}
}

func TestDropUsersCountsRefusedUsers(t *testing.T) {
	w := newWorld(t, sfsim.User{Username: "a@acme.example"}, sfsim.User{Username: "owner@acme.example", CannotDeactivate: "default workflow user"})
	w.refresh(t)
	for attempt := 1; attempt <= 2; attempt++ {
		out, err := w.do(t, "dropUsers")
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*pipeline.Dropped)
		if got.Frozen != 2 || got.Deactivated != 1 || got.Refused != 1 || len(got.DeactivateErrors) != 1 ||
			!strings.Contains(got.DeactivateErrors[0], "default workflow user") {
			t.Fatalf("attempt %d: got %+v, want both frozen, a deactivated, owner refused with its reason", attempt, got)
		}
	}
}

func TestUsersAreRecreatedOnlyAfterMaskingSucceeded(t *testing.T) {
	w := newWorld(t)
	w.refresh(t)
	for name, m := range map[string]*pipeline.Masking{
		"no masking result":   nil,
		"masking still runs":  {Status: "RUNNING"},
		"masking failed":      {Status: "FAILED", Done: true},
		"done without status": {Done: true},
	} {
		w.run.Masking = m
		if _, err := w.do(t, "recreateUsers"); !isType[*pipeline.PermanentError](err) {
			t.Fatalf("%s: got %v, want PermanentError", name, err)
		}
	}
	if _, ok := w.sim.User("uat1", "qa@acme.example.uat1"); ok {
		t.Fatal("a user was created before masking succeeded")
	}
	w.run.Masking = &pipeline.Masking{Status: "SUCCEEDED", Done: true}
	out, err := w.do(t, "recreateUsers")
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*pipeline.Recreated); r.Created != 1 || r.Results[0].Outcome != "created" {
		t.Fatalf("got %+v, want qa created", r)
	}
	// Again: the user exists now, so it is reactivated (and unfrozen), not created twice.
	out, err = w.do(t, "recreateUsers")
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*pipeline.Recreated); r.Reactivated != 1 || r.Created != 0 {
		t.Fatalf("second run: got %+v, want qa reactivated", r)
	}
}

func TestRecreatedUsersGetTheirRealAddressBack(t *testing.T) {
	// qa is a production user too: the copy holds qa@acme.example.invalid.
	w := newWorld(t, sfsim.User{Username: "qa@acme.example"})
	w.refresh(t)
	if u, _ := w.sim.User("uat1", "qa@acme.example.uat1"); u.Email != "qa@acme.example.invalid" {
		t.Fatalf("the copy has %q, want the .invalid address Salesforce gives it", u.Email)
	}
	if _, err := w.do(t, "dropUsers"); err != nil {
		t.Fatal(err)
	}
	w.run.Masking = &pipeline.Masking{Status: "SUCCEEDED", Done: true}
	if _, err := w.do(t, "recreateUsers"); err != nil {
		t.Fatal(err)
	}
	if u, _ := w.sim.User("uat1", "qa@acme.example.uat1"); u.Email != "qa@acme.example" || !u.IsActive || u.IsFrozen {
		t.Fatalf("got %+v, want qa active, unfrozen, at qa@acme.example", u)
	}
}

func TestAnUnknownProfileFailsTheStepAndSaysWho(t *testing.T) {
	w := newWorld(t)
	w.refresh(t)
	w.run.Plan.NonProdUsers[0].ProfileName = "No Such Profile"
	w.run.Masking = &pipeline.Masking{Status: "SUCCEEDED", Done: true}
	_, err := w.do(t, "recreateUsers")
	var perm *pipeline.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(perm.Message, "qa@acme.example.uat1") || !strings.Contains(perm.Message, "No Such Profile") {
		t.Fatalf("got %v, want a PermanentError naming the user and the profile", err)
	}
}

func TestTheAssertionAudienceIsSalesforcesNotTheLoginURL(t *testing.T) {
	// The plan's login URLs are the simulator's, as a My Domain URL would be:
	// the audience must still be Salesforce's generic one of each org.
	w := newWorld(t)
	w.refresh(t)
	if _, err := w.do(t, "dropUsers"); err != nil {
		t.Fatalf("sandbox sign-in with the sandbox audience: %v", err)
	}
	w.run.Plan.Salesforce.Audience = "https://acme.my.site.com/customers"
	_, err := w.do(t, "prepareRefresh")
	var perm *pipeline.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(perm.Message, "audience is invalid") {
		t.Fatalf("an audience Salesforce does not know: got %v, want a PermanentError saying so", err)
	}
}

func TestFaultsAreClassified(t *testing.T) {
	w := newWorld(t)
	w.sim.FailNext(1, 503)
	if _, err := w.do(t, "prepareRefresh"); !isType[*pipeline.TransientError](err) {
		t.Fatalf("503: got %T %v, want TransientError", err, err)
	}
	w.sim.ExceedLimitNext(1, sfsim.LimitConcurrentRequests)
	if _, err := w.do(t, "prepareRefresh"); !isType[*pipeline.TransientError](err) {
		t.Fatalf("the concurrent request limit: got %T %v, want TransientError", err, err)
	}
	w.sim.ExceedLimitNext(1, sfsim.LimitTotalRequests)
	_, err := w.do(t, "prepareRefresh")
	var perm *pipeline.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(perm.Message, "daily API request limit") || !strings.Contains(perm.Message, "TotalRequests") {
		t.Fatalf("the daily request limit: got %T %v, want a PermanentError that names the limit", err, err)
	}
	w.run.Plan.Salesforce.ConsumerKey = "not-trusted"
	if _, err := w.do(t, "prepareRefresh"); !isType[*pipeline.PermanentError](err) {
		t.Fatalf("rejected sign-in: got %T %v, want PermanentError", err, err)
	}
	w.run.Plan.Salesforce.ConsumerKey = "ck"
	w.run.Plan.Salesforce.PrivateKeySecretARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:dcs-access/globex/sf-key"
	if _, err := w.do(t, "prepareRefresh"); !isType[*pipeline.PermanentError](err) {
		t.Fatalf("another tenant's secret: got %T %v, want PermanentError", err, err)
	}
	w.run.Plan.Salesforce.PrivateKeySecretARN = keyARN
	if _, err := w.do(t, "nosuchstep"); !isType[*pipeline.PermanentError](err) {
		t.Fatalf("unknown step: got %T %v, want PermanentError", err, err)
	}
	w.run.Deadline = time.Now().Add(-time.Minute)
	w.run.Refresh = &pipeline.Refresh{WaitSeconds: 30}
	if _, err := w.do(t, "checkRefresh"); !isType[*pipeline.RunTimedOut](err) {
		t.Fatalf("past the deadline: got %T %v, want RunTimedOut", err, err)
	}
}

func TestACopyThatEndsWithoutASandboxFailsTheRunAtOnce(t *testing.T) {
	for _, status := range []string{sfsim.StatusStopped, sfsim.StatusSuspended, sfsim.StatusDeleting, sfsim.StatusDeleted, sfsim.StatusDiscarding} {
		t.Run(status, func(t *testing.T) {
			w := newWorld(t)
			w.sim.EndRefreshWith(status)
			if err := w.startRefresh(t); err != nil {
				t.Fatal(err)
			}
			for range 5 {
				out, err := w.do(t, "checkRefresh")
				if err != nil {
					var failed *pipeline.RefreshFailed
					if !errors.As(err, &failed) || !strings.Contains(failed.Message, status) {
						t.Fatalf("got %T %v, want RefreshFailed naming %s", err, err, status)
					}
					return
				}
				w.run.Refresh = out.(*pipeline.Refresh)
			}
			t.Fatalf("a copy that ended %s did not fail the run, it polled on: %+v", status, w.run.Refresh)
		})
	}
}

func TestAnUnknownStatusIsPolledAndShown(t *testing.T) {
	w := newWorld(t)
	var logs testenv.Buffer
	w.steps.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	w.sim.EndRefreshWith("Locked") // documented, with no meaning given
	if err := w.startRefresh(t); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		out, err := w.do(t, "checkRefresh")
		if err != nil {
			t.Fatalf("got %v, want the run to poll on", err)
		}
		w.run.Refresh = out.(*pipeline.Refresh)
	}
	if w.run.Refresh.Status != "Locked" || w.run.Refresh.Done {
		t.Fatalf("got %+v, want status Locked shown and the copy not done", w.run.Refresh)
	}
	if !strings.Contains(logs.String(), `"status":"Locked"`) {
		t.Fatalf("the unknown status was not logged: %s", logs.String())
	}
}

func TestThePipelineActivatesACopyThatWaitsForIt(t *testing.T) {
	w := newWorld(t, sfsim.User{Username: "a@acme.example"})
	w.run.Plan.AutoActivate = false
	w.refresh(t)
	r := w.run.Refresh
	if r.ActivationRequestedAt == nil || r.ActivatedAt == nil || !w.sim.SandboxExists("uat1") {
		t.Fatalf("got %+v, want the copy activated by the pipeline", r)
	}
	procs := w.sim.SandboxProcesses("uat1")
	if len(procs) != 1 || procs[0].RefreshAction != "ACTIVATE" || procs[0].AutoActivate {
		t.Fatalf("got %+v, want one copy started without AutoActivate and activated through RefreshAction", procs)
	}
	// At once: the users of the activated copy are dropped next.
	out, err := w.do(t, "dropUsers")
	if err != nil {
		t.Fatal(err)
	}
	if d := out.(*pipeline.Dropped); d.Frozen != 1 || d.Deactivated != 1 {
		t.Fatalf("got %+v, want a frozen and deactivated", d)
	}
}

func TestBackToBackRunsNeverShareACopy(t *testing.T) {
	// Salesforce's wait between refreshes is tested apart: here it is a second.
	w := newWorldWith(t, sfsim.Options{StepPerPoll: true, IntervalScale: 1e-9})
	w.steps.RefreshInterval = func(string) time.Duration { return 0 }
	w.refresh(t)
	first := w.run.Refresh.ProcessID
	// A second run, requested right after the first one's copy was made.
	w.run.RunID, w.run.RequestedAt, w.run.Refresh = "uat1-2", time.Now().UTC(), nil
	w.refresh(t)
	if second := w.run.Refresh.ProcessID; second == first || second == "" {
		t.Fatalf("the second run reports copy %q, the first %q: want a copy of its own", second, first)
	}
	if n := len(w.sim.SandboxProcesses("uat1")); n != 2 {
		t.Fatalf("got %d copies, want 2: the second run must ask for its own", n)
	}
}

func TestARetriedStartTakesTheCopyItsFirstAttemptStarted(t *testing.T) {
	w := newWorld(t)
	out, err := w.do(t, "prepareRefresh")
	if err != nil {
		t.Fatal(err)
	}
	w.run.Refresh = out.(*pipeline.Refresh)
	// The PATCH is sent, and its answer lost: Step Functions retries the Task
	// with the same input.
	w.transport = &loseAnswer{path: "/tooling/sobjects/SandboxInfo/"}
	if _, err := w.do(t, "startRefresh"); !isType[*pipeline.TransientError](err) {
		t.Fatalf("got %T %v, want a TransientError", err, err)
	}
	w.transport = nil
	out, err = w.do(t, "startRefresh")
	if err != nil {
		t.Fatal(err)
	}
	procs := w.sim.SandboxProcesses("uat1")
	if r := out.(*pipeline.Refresh); len(procs) != 1 || r.ProcessID != procs[0].ID {
		t.Fatalf("got %+v and copies %+v, want the one copy the first attempt started", r, procs)
	}
}

// loseAnswer sends requests whose path contains path, then drops the answer.
type loseAnswer struct{ path string }

func (l *loseAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && strings.Contains(r.URL.Path, l.path) {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer (simulated)")
	}
	return resp, err
}

func TestARunWaitsForSalesforcesRefreshInterval(t *testing.T) {
	w := newWorld(t)
	w.refresh(t)
	w.run.RunID, w.run.Refresh = "uat1-2", nil
	_, err := w.do(t, "prepareRefresh")
	var failed *pipeline.RefreshFailed
	if !errors.As(err, &failed) || !strings.Contains(failed.Message, "once every 5 days") || !strings.Contains(failed.Message, "next refresh is allowed after") {
		t.Fatalf("got %T %v, want RefreshFailed saying when the next refresh is allowed", err, err)
	}
	if n := len(w.sim.SandboxProcesses("uat1")); n != 1 {
		t.Fatalf("got %d copies, want no second one asked for", n)
	}
	// And Salesforce itself refuses it: the PATCH is a permanent error.
	w.steps.RefreshInterval = func(string) time.Duration { return 0 }
	if err := w.startRefresh(t); !isType[*pipeline.PermanentError](err) {
		t.Fatalf("got %T %v, want Salesforce's refusal as a PermanentError", err, err)
	}
}

func TestACopyInProgressIsNotTakenOver(t *testing.T) {
	w := newWorld(t)
	w.sim.StallRefresh(true)
	if err := w.startRefresh(t); err != nil {
		t.Fatal(err)
	}
	w.run.RunID, w.run.Refresh = "uat1-2", nil
	if _, err := w.do(t, "prepareRefresh"); !isType[*pipeline.RefreshFailed](err) {
		t.Fatalf("got %T %v, want RefreshFailed: another copy is in progress", err, err)
	}
}

func TestThePlansNamesAreLookedUpAndSent(t *testing.T) {
	w := newWorld(t, sfsim.User{Username: "tester@acme.example"})
	apex := w.sim.AddApexClass("PrepareSandbox", "")
	group := w.sim.AddPublicGroup("Sandbox testers", "tester@acme.example")
	w.run.Plan.ApexClassName, w.run.Plan.ActivationUserGroup, w.run.Plan.Description = "PrepareSandbox", "Sandbox testers", "masked nightly"
	w.refresh(t)
	p := w.sim.SandboxProcesses("uat1")[0]
	if p.ApexClassID != apex || p.ActivationUserGroupID != group || p.Description != "masked nightly" {
		t.Fatalf("got %+v, want the class, the group and the description sent", p)
	}

	w.sim.RemoveApexClass(apex)
	w.run.Refresh = nil
	_, err := w.do(t, "prepareRefresh")
	var perm *pipeline.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(perm.Message, "PrepareSandbox") || !strings.Contains(perm.Message, "apexClassName") {
		t.Fatalf("a class gone since the plan was saved: got %v, want a PermanentError naming it", err)
	}
}

func TestPollsBackOffUpToTheMaximum(t *testing.T) {
	// A copy hours from its end (0 % after a millisecond): waits double.
	w := newWorldWith(t, sfsim.Options{PendingFor: time.Millisecond, ProcessingFor: 4 * time.Hour})
	w.run.Plan.PollIntervals.RefreshSeconds, w.run.Plan.PollIntervals.MaxRefreshSeconds = 30, 600
	if err := w.startRefresh(t); err != nil {
		t.Fatal(err)
	}
	var waits []int
	for range 7 {
		out, err := w.do(t, "checkRefresh")
		if err != nil {
			t.Fatal(err)
		}
		w.run.Refresh = out.(*pipeline.Refresh)
		waits = append(waits, w.run.Refresh.WaitSeconds)
	}
	want := []int{60, 120, 240, 480, 600, 600, 600} // from 30 s, doubling, capped at 600 s
	if !slices.Equal(waits, want) {
		t.Fatalf("got waits %v, want %v", waits, want)
	}
}

func TestPollsQuickenNearTheCopysEnd(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	w := newWorldWith(t, sfsim.Options{Now: clock.Now, PendingFor: time.Minute, ProcessingFor: 4 * time.Hour, ActivatingFor: 5 * time.Minute})
	w.steps.Now = clock.Now
	w.run.RequestedAt, w.run.Deadline = clock.Now(), clock.Now().Add(72*time.Hour)
	w.run.Plan.LicenseType = "FULL" // no Sampling phase
	w.run.Plan.PollIntervals.RefreshSeconds, w.run.Plan.PollIntervals.MaxRefreshSeconds = 300, 600
	if err := w.startRefresh(t); err != nil {
		t.Fatal(err)
	}
	var late time.Duration // how long after the copy was activated the pipeline saw it
	for polls := 0; !w.run.Refresh.Done; polls++ {
		if polls > 200 {
			t.Fatalf("still copying after %d polls: %+v", polls, w.run.Refresh)
		}
		clock.Add(time.Duration(w.run.Refresh.WaitSeconds) * time.Second)
		out, err := w.do(t, "checkRefresh")
		if err != nil {
			t.Fatal(err)
		}
		w.run.Refresh = out.(*pipeline.Refresh)
		if w.run.Refresh.Done {
			late = clock.Now().Sub(*w.run.Refresh.ActivatedAt)
		}
	}
	if late > time.Minute || w.run.Refresh.Polls > 60 {
		t.Fatalf("the copy's end was seen %v late, after %d polls; want within a minute, in few polls", late, w.run.Refresh.Polls)
	}

}

func TestSandboxUsername(t *testing.T) {
	for in, want := range map[string]string{
		"ada@acme.com":      "ada@acme.com.uat1",
		"ada@acme.com.uat1": "ada@acme.com.uat1",
		"ada@acme.com.UAT1": "ada@acme.com.UAT1",
	} {
		if got := pipeline.SandboxUsername(in, "UAT1"); got != want {
			t.Errorf("got %q for %q, want %q", got, in, want)
		}
	}
}

func isType[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func TestCheckPlanSaysWhatTheOrgRefuses(t *testing.T) {
	w := newWorld(t)
	w.sim.AddApexClass("PrepareSandbox", "")
	ok := w.run.Plan
	ok.ApexClassName = "PrepareSandbox"
	if err := w.steps.CheckPlan(context.Background(), "acme", ok); err != nil {
		t.Fatalf("a plan the org can run: %v", err)
	}
	for name, c := range map[string]struct {
		change func(p *plans.Plan)
		says   string
	}{
		"a sandbox production does not have": {func(p *plans.Plan) { p.Sandbox = "uat9" }, "sandbox: production has no sandbox named uat9"},
		"a missing Apex class":               {func(p *plans.Plan) { p.ApexClassName = "Nope" }, `apexClassName names the Apex class "Nope"`},
		"a missing source sandbox":           {func(p *plans.Plan) { p.SourceSandbox, p.LicenseType = "full9", "" }, `sourceSandbox names the sandbox "full9"`},
		"a missing public group":             {func(p *plans.Plan) { p.ActivationUserGroup = "Nobody" }, `activationUserGroup names the public group "Nobody"`},
		"a sign-in production refuses":       {func(p *plans.Plan) { p.Salesforce.ConsumerKey = "other" }, "invalid_client_id"},
		"a key secret that does not exist":   {func(p *plans.Plan) { p.Salesforce.PrivateKeySecretARN += "-gone" }, "salesforce.privateKeySecretArn"},
	} {
		t.Run(name, func(t *testing.T) {
			p := w.run.Plan
			c.change(&p)
			err := w.steps.CheckPlan(context.Background(), "acme", p)
			if e := access.AsError(err); e.Kind != access.EINVALID || e.Code != "INVALID_PLAN" || !strings.Contains(e.Message, c.says) {
				t.Fatalf("got %v, want INVALID_PLAN saying %s", err, c.says)
			}
		})
	}
	w.sim.FailNext(1, 503)
	if err := w.steps.CheckPlan(context.Background(), "acme", ok); access.ErrorKind(err) != access.EUNAVAILABLE {
		t.Fatalf("Salesforce unavailable: got %v, want EUNAVAILABLE", err)
	}
}

// captureSaves keeps the bodies of sObject Collections requests.
type captureSaves struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (c *captureSaves) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/composite/sobjects") && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.bodies = append(c.bodies, body)
		c.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestTheUsersWhoSignedInLastAreFrozenFirst(t *testing.T) {
	var users []sfsim.User
	for i := range 250 {
		u := sfsim.User{Username: fmt.Sprintf("u%03d@acme.example", i)}
		if i%2 == 1 { // odd users signed in recently, the later the higher
			u.LastLogin = time.Now().Add(-time.Duration(1000-i) * time.Minute)
		}
		users = append(users, u)
	}
	w := newWorld(t, users...)
	w.refresh(t)
	capture := &captureSaves{}
	w.transport = capture
	if _, err := w.do(t, "dropUsers"); err != nil {
		t.Fatal(err)
	}
	var first struct {
		Records []struct {
			ID string `json:"Id"`
		} `json:"records"`
	}
	if len(capture.bodies) == 0 || json.Unmarshal(capture.bodies[0], &first) != nil {
		t.Fatal("no freeze request was sent")
	}
	byLogin := map[string]string{}
	for _, u := range w.sim.Users("uat1") {
		byLogin[u.LoginID] = u.Username
	}
	// The first batch of 200: the 125 who signed in, most recent first.
	for i, rec := range first.Records[:125] {
		if want := fmt.Sprintf("u%03d@acme.example.uat1", 249-2*i); byLogin[rec.ID] != want {
			t.Fatalf("freeze %d is %s, want %s: the users who signed in last go first", i, byLogin[rec.ID], want)
		}
	}
}
