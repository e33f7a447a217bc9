package localserver_test

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/localserver"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
	"github.com/dcs-access/dcs-access/internal/statemachinetest"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// These tests run the real definition on the Step Functions stand-in, whose
// Lambda tasks are the project's Go step handlers in the local server,
// against the Salesforce and DCS simulators and DynamoDB Local: make run's
// stack, end to end, with waits scaled down.

// clock is the pipeline steps' clock; a test moves it past a run's deadline.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

type pipelineStack struct {
	srv     *localserver.Server
	http    *httptest.Server
	clock   *clock
	session string
	admin   string // a tenant administrator's session, of the same tenant
	plan    map[string]any
	// What a restart keeps: the table and the keys (make run's .local/).
	store                *dynamo.Store
	client               *ddb.Client // the store's, for what no route does
	table                string      // the audit tests follow its stream
	signing, sessionKeys *ecdsa.PrivateKey
	salesforce           sfsim.Options
}

func newPipelineStack(t *testing.T) *pipelineStack {
	t.Helper()
	return newPipelineStackWith(t, sfsim.Options{StepPerPoll: true})
}

func newPipelineStackWith(t *testing.T, sf sfsim.Options) *pipelineStack {
	t.Helper()
	client, table := testenv.Table(t)
	s := &pipelineStack{clock: &clock{}, store: dynamo.New(client, table, time.Now), client: client, table: table, signing: key(t), sessionKeys: key(t), salesforce: sf}
	s.serve(t)
	s.session = signIn(t, s.http, "ada@acme.example", "acme")
	s.admin = signInAdmin(t, s.http, "grace@acme.example", "acme")
	status, plan := call(t, s.http, "POST", "/local/sandbox-demo", s.session, "")
	if status != 200 {
		t.Fatalf("sandbox demo: got %d %v", status, plan)
	}
	s.plan = plan
	return s
}

// serve starts the local server, with a Step Functions stand-in of its own,
// on the stack's table and keys.
func (s *pipelineStack) serve(t *testing.T) {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	sfn, arn := statemachinetest.StartForLocalServer(t, base)
	srv, err := localserver.NewWith(s.store, s.signing, s.sessionKeys, localserver.Config{
		BaseURL: base, StepFunctionsEndpoint: sfn.Endpoint, StateMachineARN: arn,
		Salesforce: s.salesforce, PipelineNow: s.clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = srv
	hs.Start()
	t.Cleanup(hs.Close)
	s.srv, s.http = srv, hs
}

// restart is make run stopped and started again: the table and the keys
// are kept, the Step Functions stand-in and its executions are not (nor are
// the simulators: the new server makes its own).
func (s *pipelineStack) restart(t *testing.T) {
	t.Helper()
	s.http.Close()
	s.serve(t)
}

func (s *pipelineStack) putPlan(t *testing.T) {
	t.Helper()
	body, _ := json.Marshal(s.plan)
	if status, out := call(t, s.http, "PUT", "/sandbox-plans/uat1", s.session, string(body)); status != 201 && status != 200 {
		t.Fatalf("put plan: got %d %v", status, out)
	}
}

func (s *pipelineStack) start(t *testing.T) string {
	t.Helper()
	status, out := call(t, s.http, "POST", "/sandbox-refreshes", s.session, `{"sandbox":"uat1"}`)
	if status != 202 {
		t.Fatalf("start: got %d %v", status, out)
	}
	return out["id"].(string)
}

// wait polls the run until it is no longer RUNNING.
func (s *pipelineStack) wait(t *testing.T, id string) map[string]any {
	t.Helper()
	return s.waitFor(t, id, "to end", func(run map[string]any) bool {
		return run["status"] != "RUNNING" && run["status"] != "NOT_STARTED"
	})
}

// waitRedriven polls the run until its redrive has ended.
func (s *pipelineStack) waitRedriven(t *testing.T, id string) map[string]any {
	t.Helper()
	return s.waitFor(t, id, "to end after its redrive", func(run map[string]any) bool {
		return run["redriveCount"] == float64(1) && run["status"] != "RUNNING"
	})
}

// waitFor polls the run until done holds, for at most a minute.
func (s *pipelineStack) waitFor(t *testing.T, id, what string, done func(run map[string]any) bool) map[string]any {
	t.Helper()
	var run map[string]any
	if !testenv.Eventually(time.Minute, func() bool {
		var status int
		if status, run = call(t, s.http, "GET", "/sandbox-refreshes/"+id, s.session, ""); status != 200 {
			t.Fatalf("get run: got %d %v", status, run)
		}
		return done(run)
	}) {
		t.Fatalf("run %s did not come %s within a minute: %v", id, what, run)
	}
	return run
}

// failure returns a failed run's error code and message.
func failure(run map[string]any) (code, message string) {
	e, _ := run["error"].(map[string]any)
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	return code, message
}

// steps returns "name=outcome" for each step of a run.
func steps(run map[string]any) string {
	var out []string
	for _, st := range run["steps"].([]any) {
		m := st.(map[string]any)
		out = append(out, fmt.Sprintf("%s=%s", m["name"], m["outcome"]))
	}
	return strings.Join(out, " ")
}

func (s *pipelineStack) dropped(t *testing.T) (active, unfrozen []string) {
	t.Helper()
	keep := map[string]bool{"integration@acme.example.uat1": true, "dcs@acme.example.uat1": true, "admin@acme.example.uat1": true, "qa.tester@acme.example.uat1": true}
	users := s.srv.Salesforce.Users("uat1")
	if len(users) == 0 {
		t.Fatal("the sandbox has no users: was it refreshed?")
	}
	for _, u := range users {
		if keep[u.Username] {
			continue
		}
		if u.IsActive {
			active = append(active, u.Username)
		}
		if !u.IsFrozen {
			unfrozen = append(unfrozen, u.Username)
		}
	}
	return active, unfrozen
}

// published returns the detail-types the runs published on the local bus,
// once there are want of them: the stand-in sends its status change after
// the execution has ended, so it may arrive a moment after the run reads so.
func (s *pipelineStack) published(want int) []string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out []string
		for _, e := range s.srv.Bus.Events() {
			if e.Source == "dcs-access" {
				out = append(out, e.DetailType)
			}
		}
		if len(out) >= want || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestARefreshRunsEndToEnd(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	run := s.wait(t, s.start(t))
	if run["status"] != "SUCCEEDED" {
		t.Fatalf("got %v %v %v, want SUCCEEDED", run["status"], run["error"], run["cause"])
	}
	if got, want := steps(run), "refreshSandbox=SUCCEEDED dropUsers=SUCCEEDED masking=SUCCEEDED recreateUsers=SUCCEEDED"; got != want {
		t.Fatalf("got steps %s, want %s", got, want)
	}
	if active, unfrozen := s.dropped(t); len(active) != 0 || len(unfrozen) != 0 {
		t.Fatalf("got active %v and unfrozen %v, want every dropped user inactive and frozen", active, unfrozen)
	}
	qa, ok := s.srv.Salesforce.User("uat1", "qa.tester@acme.example.uat1")
	if !ok || !qa.IsActive || qa.IsFrozen {
		t.Fatalf("got the non-production user %+v (exists %v), want it created, active and not frozen", qa, ok)
	}
	kept, _ := s.srv.Salesforce.User("uat1", "admin@acme.example.uat1")
	if !kept.IsActive || kept.IsFrozen {
		t.Fatalf("got the kept user %+v, want it untouched", kept)
	}
	if got := s.published(1); len(got) != 1 || got[0] != "Sandbox Refresh Succeeded" {
		t.Fatalf("got published events %v, want one Sandbox Refresh Succeeded", got)
	}
	// Each step says in a line what it did; the exposure clock has run.
	for _, st := range run["steps"].([]any) {
		if step := st.(map[string]any); step["summary"] == "" || step["summary"] == nil {
			t.Fatalf("got step %v, want a summary", step)
		}
	}
	if dropped := run["steps"].([]any)[1].(map[string]any); !strings.Contains(fmt.Sprint(dropped["summary"]), "users frozen and deactivated") {
		t.Fatalf("got the drop's summary %q", dropped["summary"])
	}
	exposure := run["exposure"].(map[string]any)
	for _, field := range []string{"activatedAt", "usersFrozenAt", "maskedAt", "usersRecreatedAt", "openToUsersSeconds", "unmaskedSeconds"} {
		if exposure[field] == nil {
			t.Fatalf("got exposure %v, want %s", exposure, field)
		}
	}
	// The demo plan leaves activation to the pipeline, which drops users
	// right after it.
	procs := s.srv.Salesforce.SandboxProcesses("uat1")
	if s.plan["autoActivate"] != false || len(procs) != 1 || procs[0].AutoActivate || procs[0].RefreshAction != "ACTIVATE" || !procs[0].Activated {
		t.Fatalf("got copies %+v (plan autoActivate %v), want one copy the pipeline activated", procs, s.plan["autoActivate"])
	}
}

func TestRunsBackToBackEachRefreshTheirOwnCopy(t *testing.T) {
	// Salesforce's wait between refreshes, scaled to a millisecond.
	s := newPipelineStackWith(t, sfsim.Options{StepPerPoll: true, IntervalScale: 1e-8})
	s.putPlan(t)
	var copies []string
	for range 2 {
		run := s.wait(t, s.start(t))
		if run["status"] != "SUCCEEDED" {
			t.Fatalf("got %v %v %v, want SUCCEEDED", run["status"], run["error"], run["cause"])
		}
		detail := run["steps"].([]any)[0].(map[string]any)["detail"].(map[string]any)
		copies = append(copies, fmt.Sprint(detail["processId"]))
	}
	procs := s.srv.Salesforce.SandboxProcesses("uat1")
	if len(procs) != 2 || copies[0] == copies[1] || copies[0] != procs[0].ID || copies[1] != procs[1].ID {
		t.Fatalf("the runs report copies %v, Salesforce has %+v: want each run its own", copies, procs)
	}
}

func TestARefreshTooSoonFailsSayingWhenTheNextIsAllowed(t *testing.T) {
	s := newPipelineStack(t) // real intervals: a Partial Copy sandbox again after 5 days
	s.putPlan(t)
	if run := s.wait(t, s.start(t)); run["status"] != "SUCCEEDED" {
		t.Fatalf("first run: got %v %v", run["status"], run["cause"])
	}
	run := s.wait(t, s.start(t))
	if code, msg := failure(run); run["status"] != "FAILED" || code != "REFRESH_FAILED" || run["failedStep"] != "refreshSandbox" || !strings.Contains(msg, "next refresh is allowed after") {
		t.Fatalf("second run: got %v %v, want FAILED REFRESH_FAILED in refreshSandbox saying when the next refresh is allowed", run["status"], run["error"])
	}
	if n := len(s.srv.Salesforce.SandboxProcesses("uat1")); n != 1 {
		t.Fatalf("got %d copies, want the second run to ask for none", n)
	}
}

func TestRunsOutliveARestartOfTheLocalStack(t *testing.T) {
	s := newPipelineStackWith(t, sfsim.Options{StepPerPoll: true, IntervalScale: 1e-8})
	s.putPlan(t)
	// A run that fails at masking (its DCS token was deleted), is redriven
	// after the fix, and succeeds.
	s.deleteDCSToken(t)
	redriven := s.start(t)
	if run := s.wait(t, redriven); run["failedStep"] != "masking" {
		t.Fatalf("got %v %v, want a failure in masking", run["status"], run["error"])
	}
	if status, _ := call(t, s.http, "POST", "/local/sandbox-demo", s.session, ""); status != 200 {
		t.Fatalf("new token: got %d", status)
	}
	if status, out := call(t, s.http, "POST", "/sandbox-refreshes/"+redriven+"/redrive", s.session, ""); status != 202 {
		t.Fatalf("redrive: got %d %v", status, out)
	}
	if run := s.waitRedriven(t, redriven); run["status"] != "SUCCEEDED" {
		t.Fatalf("after the redrive: got %v %v", run["status"], run["error"])
	}
	// And a run still copying when make run stops.
	s.srv.Salesforce.StallRefresh(true)
	lost := s.start(t)
	s.waitFor(t, lost, "to be copying", func(run map[string]any) bool { return run["currentStep"] == "refreshSandbox" })

	s.restart(t)
	status, run := call(t, s.http, "GET", "/sandbox-refreshes/"+redriven, s.session, "")
	if status != 200 || run["status"] != "SUCCEEDED" || run["redriveCount"] != 1.0 {
		t.Fatalf("after the restart: got %d %v, want the redriven run SUCCEEDED", status, run)
	}
	if got, want := steps(run), "refreshSandbox=SUCCEEDED dropUsers=SUCCEEDED masking=FAILED masking=SUCCEEDED recreateUsers=SUCCEEDED"; got != want {
		t.Fatalf("after the restart: got steps %s, want %s (both attempts)", got, want)
	}
	attempts := run["attempts"].([]any)
	first := attempts[0].(map[string]any)
	f, _ := first["failure"].(map[string]any)
	if len(attempts) != 2 || first["status"] != "FAILED" || f["step"] != "masking" || !strings.Contains(fmt.Sprint(f["message"]), "401") {
		t.Fatalf("got attempts %v, want attempt 1 failed in masking with the 401", attempts)
	}
	exposure := run["exposure"].(map[string]any)
	if exposure["openToUsersSeconds"] == nil || exposure["unmaskedSeconds"] == nil || exposure["maskedAt"] == nil {
		t.Fatalf("got exposure %v, want both figures and the masking time", exposure)
	}
	status, run = call(t, s.http, "GET", "/sandbox-refreshes/"+lost, s.session, "")
	if code, _ := failure(run); status != 200 || run["status"] != "ABORTED" || code != "EXECUTION_LOST" {
		t.Fatalf("the run the stand-in lost: got %d %v %v, want ABORTED with EXECUTION_LOST", status, run["status"], run["error"])
	}
	// It holds its sandbox no more, and the list is read from the records.
	// (The local secrets live in memory: the demo stores them again.)
	if status, s.plan = call(t, s.http, "POST", "/local/sandbox-demo", s.session, ""); status != 200 {
		t.Fatalf("sandbox demo after the restart: got %d %v", status, s.plan)
	}
	s.putPlan(t)
	s.wait(t, s.start(t))
	status, list := call(t, s.http, "GET", "/sandbox-refreshes", s.session, "")
	if items, _ := list["items"].([]any); status != 200 || len(items) != 3 {
		t.Fatalf("got %d %v, want the three runs", status, list)
	}
}

func TestFailedMaskingLeavesUsersDropped(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	s.srv.DCS.FailJob(localserver.DemoJob, "FAILED")
	run := s.wait(t, s.start(t))
	if code, _ := failure(run); run["status"] != "FAILED" || code != "MASKING_FAILED" || run["failedStep"] != "masking" {
		t.Fatalf("got %v %v, want FAILED with MASKING_FAILED in masking", run["status"], run["error"])
	}
	if active, unfrozen := s.dropped(t); len(active) != 0 || len(unfrozen) != 0 {
		t.Fatalf("got active %v and unfrozen %v, want users still dropped", active, unfrozen)
	}
	if _, ok := s.srv.Salesforce.User("uat1", "qa.tester@acme.example.uat1"); ok {
		t.Fatal("the non-production user was created although masking failed")
	}
	if got := steps(run); got != "refreshSandbox=SUCCEEDED dropUsers=SUCCEEDED masking=FAILED" {
		t.Fatalf("got steps %s", got)
	}
	if got := s.published(1); len(got) != 1 || got[0] != "Sandbox Refresh Failed" {
		t.Fatalf("got published events %v, want one Sandbox Refresh Failed", got)
	}
}

// deleteDCSToken revokes the API token the pipeline uses for DCS.
func (s *pipelineStack) deleteDCSToken(t *testing.T) {
	t.Helper()
	_, list := call(t, s.http, "GET", "/api-tokens", s.session, "")
	for _, it := range list["items"].([]any) {
		tok := it.(map[string]any)
		if strings.HasPrefix(tok["description"].(string), "local sandbox refresh") {
			if status, _ := call(t, s.http, "DELETE", "/api-tokens/"+tok["id"].(string), s.session, ""); status != 204 {
				t.Fatalf("delete the DCS token: got %d", status)
			}
			return
		}
	}
	t.Fatal("no DCS token found")
}

func TestADeletedDCSTokenFailsTheRunAtOnceAndARedriveResumesAfterTheFix(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	s.deleteDCSToken(t)
	id := s.start(t)
	run := s.wait(t, id)
	if code, msg := failure(run); run["status"] != "FAILED" || code != "PERMANENT_ERROR" || !strings.Contains(msg, "401") {
		t.Fatalf("got %v %v, want FAILED with PERMANENT_ERROR naming the 401", run["status"], run["error"])
	}
	unauthorized := 0
	for _, c := range s.srv.DCS.Calls() {
		if c.Status == 401 {
			unauthorized++
		}
	}
	if unauthorized != 1 {
		t.Fatalf("got %d calls answered 401, want exactly 1: a 401 is never retried", unauthorized)
	}
	refreshes := len(s.srv.Salesforce.SandboxProcesses("uat1"))
	collections := len(s.srv.Salesforce.CollectionCalls())

	// The fix: a new token in the secret. Then redrive.
	status, fresh := call(t, s.http, "POST", "/local/sandbox-demo", s.session, "")
	if status != 200 || fresh["dcs"] == nil {
		t.Fatalf("new token: got %d", status)
	}
	if status, out := call(t, s.http, "POST", "/sandbox-refreshes/"+id+"/redrive", s.session, ""); status != 202 {
		t.Fatalf("redrive: got %d %v", status, out)
	}
	run = s.waitRedriven(t, id)
	if run["status"] != "SUCCEEDED" {
		t.Fatalf("after redrive: got %v %v %v, want SUCCEEDED", run["status"], run["error"], run["cause"])
	}
	if got := len(s.srv.Salesforce.SandboxProcesses("uat1")); got != refreshes {
		t.Fatalf("got %d refreshes after the redrive, want %d: finished steps are not repeated", got, refreshes)
	}
	for _, c := range s.srv.Salesforce.CollectionCalls()[collections:] {
		if c.Method == "PATCH" && len(c.Types) == 1 && c.Types[0] == "UserLogin" && c.Records > 1 {
			t.Fatalf("users were frozen again after the redrive: %+v", c)
		}
	}
	if run["redriveCount"] != float64(1) {
		t.Fatalf("got redriveCount %v, want 1", run["redriveCount"])
	}
}

func TestSalesforceOutagesAreRetried(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	s.srv.Salesforce.FailNext(3, 503)
	run := s.wait(t, s.start(t))
	if run["status"] != "SUCCEEDED" {
		t.Fatalf("got %v %v %v, want SUCCEEDED after retries", run["status"], run["error"], run["cause"])
	}
}

func TestARefreshThatNeverCompletesTimesOut(t *testing.T) {
	s := newPipelineStack(t)
	s.plan["timeoutHours"] = 1
	s.putPlan(t)
	s.srv.Salesforce.StallRefresh(true)
	id := s.start(t)
	// Let it poll a few times, then move the steps' clock past the deadline.
	s.waitFor(t, id, "to poll the copy twice", func(run map[string]any) bool {
		steps, _ := run["steps"].([]any)
		if len(steps) == 0 {
			return false
		}
		detail, _ := steps[0].(map[string]any)["detail"].(map[string]any)
		polls, _ := detail["polls"].(float64)
		return polls >= 2
	})
	s.clock.advance(2 * time.Hour)
	run := s.wait(t, id)
	if code, _ := failure(run); run["status"] != "FAILED" || code != "RUN_TIMED_OUT" {
		t.Fatalf("got %v %v, want FAILED with RUN_TIMED_OUT", run["status"], run["error"])
	}
	if users := s.srv.Salesforce.Users("uat1"); len(users) != 0 {
		t.Fatalf("got %d users in a sandbox that was never refreshed, want none touched", len(users))
	}
}

func TestDroppingFourHundredFiftyUsersTakesThreeBatches(t *testing.T) {
	s := newPipelineStack(t)
	var many []sfsim.User
	for i := range 450 {
		many = append(many, sfsim.User{Username: fmt.Sprintf("bulk%03d@acme.example", i)})
	}
	s.srv.Salesforce.AddProdUsers(many...)
	s.putPlan(t)
	run := s.wait(t, s.start(t))
	if run["status"] != "SUCCEEDED" {
		t.Fatalf("got %v %v %v", run["status"], run["error"], run["cause"])
	}
	batches := map[string][]int{}
	for _, c := range s.srv.Salesforce.CollectionCalls() {
		if c.Sandbox == "uat1" && c.Method == "PATCH" && len(c.Types) == 1 {
			batches[c.Types[0]] = append(batches[c.Types[0]], c.Records)
		}
	}
	// 450 bulk users and the demo's 12 are dropped (462): freezing and deactivating each take 3 batches.
	if got := batches["User"]; len(got) < 3 || got[0] != 200 || got[1] != 200 || got[2] != 62 {
		t.Fatalf("got User batches %v, want 200, 200, 62 first", got)
	}
	if got := batches["UserLogin"]; len(got) < 3 || got[0] != 200 || got[1] != 200 || got[2] != 62 {
		t.Fatalf("got UserLogin batches %v, want 200, 200, 62 first", got)
	}
	if active, unfrozen := s.dropped(t); len(active) != 0 || len(unfrozen) != 0 {
		t.Fatalf("got %d active and %d unfrozen, want none", len(active), len(unfrozen))
	}
}

func TestAnEventStartsARunOnce(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	event := `{"id":"evt-1","detail-type":"Sandbox Refresh Requested","source":"acme.scheduler","time":"2026-11-27T02:00:00Z","detail":{"tenant":"acme","sandbox":"uat1"}}`
	for range 2 {
		if status, out := call(t, s.http, "POST", "/local/events", "", event); status != 200 {
			t.Fatalf("event: got %d %v", status, out)
		}
	}
	_, list := call(t, s.http, "GET", "/sandbox-refreshes?sandbox=uat1", s.session, "")
	items := list["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("got %d runs for a repeated event, want 1", len(items))
	}
	run := s.wait(t, items[0].(map[string]any)["id"].(string))
	if run["status"] != "SUCCEEDED" || run["source"] != "event" {
		t.Fatalf("got %v from %v, want SUCCEEDED from an event", run["status"], run["source"])
	}
}

func TestAPlansScheduleStartsARunOncePerMinute(t *testing.T) {
	s := newPipelineStack(t)
	s.plan["schedule"] = "cron(0 2 ? * SUN *)"
	s.putPlan(t)
	sunday := time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)
	s.srv.FireSchedules(t.Context(), sunday.Add(-time.Minute)) // not due
	_, list := call(t, s.http, "GET", "/sandbox-refreshes?sandbox=uat1", s.session, "")
	if items := list["items"].([]any); len(items) != 0 {
		t.Fatalf("got %d runs before the schedule was due, want 0", len(items))
	}
	s.srv.FireSchedules(t.Context(), sunday)
	s.srv.FireSchedules(t.Context(), sunday) // the same minute again: the same event id
	_, list = call(t, s.http, "GET", "/sandbox-refreshes?sandbox=uat1", s.session, "")
	items := list["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("got %d runs, want 1", len(items))
	}
	run := s.wait(t, items[0].(map[string]any)["id"].(string))
	if run["status"] != "SUCCEEDED" || run["requestedBy"] != "dcs-access.schedule" {
		t.Fatalf("got %v requested by %v, want SUCCEEDED from the schedule", run["status"], run["requestedBy"])
	}
}

func TestARedriveAfterAFailedMaskingJobStartsANewOne(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	s.srv.DCS.FailJob(localserver.DemoJob, "FAILED")
	id := s.start(t)
	if run := s.wait(t, id); run["failedStep"] != "masking" {
		t.Fatalf("got %v %v, want a failure in masking", run["status"], run["error"])
	}
	s.srv.DCS.FailJob(localserver.DemoJob, "") // the job is fixed in DCS
	if status, out := call(t, s.http, "POST", "/sandbox-refreshes/"+id+"/redrive", s.session, ""); status != 202 {
		t.Fatalf("redrive: got %d %v", status, out)
	}
	run := s.waitRedriven(t, id)
	if run["status"] != "SUCCEEDED" {
		t.Fatalf("after the redrive: got %v %v %v, want SUCCEEDED", run["status"], run["error"], run["cause"])
	}
	if got := len(s.srv.DCS.Executions()); got != 2 {
		t.Fatalf("got %d DCS executions, want 2: the failed one and the one the redrive started", got)
	}
	if qa, ok := s.srv.Salesforce.User("uat1", "qa.tester@acme.example.uat1"); !ok || !qa.IsActive {
		t.Fatal("the non-production user was not recreated after the successful masking")
	}
}

// DCS documents no idempotency key: a start whose answer is lost, and that
// DCS lists only a little later, is found by the step's own listing after
// the lost answer (or by Step Functions' retry), never started twice.
func TestAMaskingStartWhoseAnswerIsLostStartsOneJob(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	s.srv.DCS.LoseNextStartsCommittedLate(1, 2)
	run := s.wait(t, s.start(t))
	if run["status"] != "SUCCEEDED" {
		t.Fatalf("got %v %v, want SUCCEEDED", run["status"], run["error"])
	}
	lost := 0
	for _, c := range s.srv.DCS.Calls() {
		if c.Status == 0 {
			lost++
		}
	}
	if got := len(s.srv.DCS.Executions()); lost != 1 || got != 1 {
		t.Fatalf("got %d lost answers and %d DCS executions, want 1 of each: the retry took the execution the lost start made", lost, got)
	}
}

// maskingExecution is the DCS execution the run's masking step polled.
func maskingExecution(run map[string]any) string {
	for _, st := range run["steps"].([]any) {
		if m := st.(map[string]any); m["name"] == "masking" {
			id, _ := m["detail"].(map[string]any)["executionId"].(string)
			return id
		}
	}
	return ""
}

// DCS's clock is not Salesforce's. With DCS's an hour ahead, an execution a
// colleague started before the copy was activated (masking the old data)
// carries a start time after the activation: the run must not take it,
// however it ends, and starts its own against the baseline it took after
// the activation.
func TestAMaskingJobStartedBeforeTheActivationIsNotTheRunsWhateverDCSsClock(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	s.srv.DCS.SkewClock(time.Hour)
	id := s.start(t)
	startedBefore := time.Now()
	before := s.srv.DCS.StartExecution("acme", localserver.DemoJob, "colleague@acme.example")
	run := s.wait(t, id)
	if run["status"] != "SUCCEEDED" {
		t.Fatalf("got %v %v, want SUCCEEDED", run["status"], run["error"])
	}
	activated, err := time.Parse(time.RFC3339Nano, run["exposure"].(map[string]any)["activatedAt"].(string))
	if err != nil || !activated.After(startedBefore) || !before.StartedAt.After(activated) {
		t.Fatalf("activated at %v (%v), the colleague's execution started at %v and dated %v: the test needs it started before the activation and dated after", activated, err, startedBefore, before.StartedAt)
	}
	execs := s.srv.DCS.Executions()
	if got := maskingExecution(run); len(execs) != 2 || got == before.ID || got != execs[1].ID {
		t.Fatalf("the run polled execution %q of %+v, want the one it started, not the colleague's %s", got, execs, before.ID)
	}
}

// A list of the job's executions in pages is read whole: the start whose
// answer was lost is on the last page, found there, and not started again.
func TestTheJobsExecutionsAreListedPageByPage(t *testing.T) {
	s := newPipelineStack(t)
	s.putPlan(t)
	s.srv.DCS.SetPageSize(2)
	for range 5 {
		s.srv.DCS.StartExecution("acme", localserver.DemoJob, "colleague@acme.example")
	}
	s.srv.DCS.LoseNextStarts(1)
	run := s.wait(t, s.start(t))
	if run["status"] != "SUCCEEDED" {
		t.Fatalf("got %v %v, want SUCCEEDED", run["status"], run["error"])
	}
	execs := s.srv.DCS.Executions()
	if got := maskingExecution(run); len(execs) != 6 || got != execs[5].ID {
		t.Fatalf("the run polled execution %q of %d, want the sixth, which it started once", got, len(execs))
	}
}
