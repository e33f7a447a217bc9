package pipeline_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/pipeline"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
	"github.com/dcs-access/dcs-access/internal/secrets"
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

func newWorld(t *testing.T, users ...sfsim.User) *world {
	t.Helper()
	sim := sfsim.New(sfsim.Options{StepPerPoll: true})
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

func (w *world) do(t *testing.T, step string) (any, error) {
	t.Helper()
	return w.steps.Handle(context.Background(), pipeline.Request{Step: step, Run: w.run})
}

// refresh runs the refresh steps until the sandbox copy is done.
func (w *world) refresh(t *testing.T) {
	t.Helper()
	out, err := w.do(t, "startRefresh")
	if err != nil {
		t.Fatal(err)
	}
	w.run.Refresh = out.(*pipeline.Refresh)
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
	_, err := w.do(t, "startRefresh")
	var perm *pipeline.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(perm.Message, "audience is invalid") {
		t.Fatalf("an audience Salesforce does not know: got %v, want a PermanentError saying so", err)
	}
}

func TestFaultsAreClassified(t *testing.T) {
	w := newWorld(t)
	w.sim.FailNext(1, 503)
	if _, err := w.do(t, "startRefresh"); !isType[*pipeline.TransientError](err) {
		t.Fatalf("503: got %T %v, want TransientError", err, err)
	}
	w.run.Plan.Salesforce.ConsumerKey = "not-trusted"
	if _, err := w.do(t, "startRefresh"); !isType[*pipeline.PermanentError](err) {
		t.Fatalf("rejected sign-in: got %T %v, want PermanentError", err, err)
	}
	w.run.Plan.Salesforce.ConsumerKey = "ck"
	w.run.Plan.Salesforce.PrivateKeySecretARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:dcs-access/globex/sf-key"
	if _, err := w.do(t, "startRefresh"); !isType[*pipeline.PermanentError](err) {
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

func TestAFailedCopyIsRefreshFailed(t *testing.T) {
	w := newWorld(t)
	w.sim.FailRefresh(true)
	out, err := w.do(t, "startRefresh")
	if err != nil {
		t.Fatal(err)
	}
	w.run.Refresh = out.(*pipeline.Refresh)
	for range 10 {
		out, err := w.do(t, "checkRefresh")
		if err != nil {
			if !isType[*pipeline.RefreshFailed](err) {
				t.Fatalf("got %T %v, want RefreshFailed", err, err)
			}
			return
		}
		w.run.Refresh = out.(*pipeline.Refresh)
	}
	t.Fatal("a failing copy never failed the step")
}

func TestPollsBackOffUpToTheMaximum(t *testing.T) {
	w := newWorld(t)
	w.sim.StallRefresh(true)
	out, err := w.do(t, "startRefresh")
	if err != nil {
		t.Fatal(err)
	}
	w.run.Refresh = out.(*pipeline.Refresh)
	var waits []int
	for range 6 {
		out, err := w.do(t, "checkRefresh")
		if err != nil {
			t.Fatal(err)
		}
		w.run.Refresh = out.(*pipeline.Refresh)
		waits = append(waits, w.run.Refresh.WaitSeconds)
	}
	want := []int{600, 600, 600, 600, 600, 600} // from 300 s, doubling, capped at 600 s
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("got waits %v, want %v", waits, want)
		}
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
