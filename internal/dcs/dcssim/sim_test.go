package dcssim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/dcs/dcssim"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// fakeAuth is an Authenticator whose answer each test chooses.
type fakeAuth struct {
	AuthenticateFunc func(ctx context.Context, header string) (access.Principal, error)
}

func (f *fakeAuth) Authenticate(ctx context.Context, header string) (access.Principal, error) {
	return f.AuthenticateFunc(ctx, header)
}

// tokens maps each bearer to its principal; any other bearer is refused
// the way the authorizer refuses it.
func tokens(principals map[string]access.Principal) *fakeAuth {
	return &fakeAuth{AuthenticateFunc: func(_ context.Context, header string) (access.Principal, error) {
		if p, ok := principals[strings.TrimPrefix(header, "Bearer ")]; ok {
			return p, nil
		}
		return access.Principal{}, access.Errorf(access.EUNAUTHORIZED, "UNAUTHORIZED", "A valid bearer token is required.")
	}}
}

var (
	runner = []access.Scope{access.ScopeComplianceJobsRun}
	ada    = access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "tok-ada", Scopes: runner}
	grace  = access.Principal{User: "grace@example.com", Tenant: "globex", AuthType: access.AuthAPIToken, TokenID: "tok-grace", Scopes: runner}
)

func newSim(opts dcssim.Options) *dcssim.Sim {
	if opts.Auth == nil {
		opts.Auth = tokens(map[string]access.Principal{"ada-token": ada, "grace-token": grace})
	}
	opts.Now = func() time.Time { return t0 }
	s := dcssim.New(opts)
	s.AddJob("acme", "job-1")
	return s
}

// reply is an answer of the simulator, decoded.
type reply struct {
	status  int
	header  http.Header
	id      string
	state   string
	errCode string
	raw     string
}

// call sends method path with bearer (none when empty) to h.
func call(t *testing.T, h http.Handler, method, path, bearer string) reply {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, rec.Body, err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: got Content-Type %q, want application/json", method, path, ct)
	}
	if rec.Code >= 400 && (body.Error.Code == "" || body.Error.Message == "") {
		t.Errorf("%s %s: got error body %q, want {\"error\":{\"code\",\"message\"}}", method, path, rec.Body)
	}
	return reply{rec.Code, rec.Header(), body.ID, body.Status, body.Error.Code, rec.Body.String()}
}

func start(t *testing.T, h http.Handler, bearer string) reply {
	t.Helper()
	return call(t, h, "POST", "/v1/compliance-jobs/job-1/executions", bearer)
}

// statuses starts job-1 and polls it n times, returning every status.
func statuses(t *testing.T, s *dcssim.Sim, n int) []string {
	t.Helper()
	r := start(t, s, "ada-token")
	if r.status != http.StatusCreated {
		t.Fatalf("start: got %d %s, want 201", r.status, r.raw)
	}
	got := []string{r.state}
	for range n {
		got = append(got, call(t, s, "GET", "/v1/executions/"+r.id, "ada-token").state)
	}
	return got
}

func TestExecutionsAdvanceOneStatusPerConfiguredPolls(t *testing.T) {
	tests := []struct {
		name    string
		opts    dcssim.Options
		arrange func(*dcssim.Sim)
		polls   int
		want    []string
	}{
		{
			name:  "by default each poll advances it and a finished execution stays finished",
			polls: 4,
			want:  []string{"QUEUED", "RUNNING", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"},
		},
		{
			name:  "three polls per status slow it down",
			opts:  dcssim.Options{PollsPerStatus: 3},
			polls: 6,
			want:  []string{"QUEUED", "QUEUED", "QUEUED", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"},
		},
		{
			name:  "a configured progress is followed",
			opts:  dcssim.Options{Progress: []string{"QUEUED", "WAITING", "RUNNING", "RUNNING"}},
			polls: 4,
			want:  []string{"QUEUED", "WAITING", "RUNNING", "RUNNING", "SUCCEEDED"},
		},
		{
			name:    "a failed job ends FAILED",
			arrange: func(s *dcssim.Sim) { s.FailJob("job-1", "FAILED") },
			polls:   3,
			want:    []string{"QUEUED", "RUNNING", "FAILED", "FAILED"},
		},
		{
			name:    "a cancelled job ends CANCELLED",
			arrange: func(s *dcssim.Sim) { s.FailJob("job-1", "CANCELLED") },
			polls:   2,
			want:    []string{"QUEUED", "RUNNING", "CANCELLED"},
		},
		{
			name:    "a failure of another job changes nothing",
			arrange: func(s *dcssim.Sim) { s.FailJob("job-2", "FAILED") },
			polls:   2,
			want:    []string{"QUEUED", "RUNNING", "SUCCEEDED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(tt.opts)
			if tt.arrange != nil {
				tt.arrange(s)
			}
			if got := statuses(t, s, tt.polls); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEveryCallIsAuthenticated(t *testing.T) {
	tests := []struct {
		name      string
		auth      func(context.Context, string) (access.Principal, error)
		wantHTTP  int
		wantCode  string
		wantRealm bool
		// wantChallenge is the WWW-Authenticate value, when it is not the realm's.
		wantChallenge string
	}{
		{
			name: "a refused bearer is a 401",
			auth: func(context.Context, string) (access.Principal, error) {
				return access.Principal{}, access.Errorf(access.EUNAUTHORIZED, "UNAUTHORIZED", "no")
			},
			wantHTTP: 401, wantCode: "UNAUTHORIZED", wantRealm: true,
		},
		{
			name: "a user session is a 401",
			auth: func(context.Context, string) (access.Principal, error) {
				return access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthSession}, nil
			},
			wantHTTP: 401, wantCode: "UNAUTHORIZED", wantRealm: true,
		},
		{
			name: "an API token without the scope compliance-jobs:run is a 403 naming it",
			auth: func(context.Context, string) (access.Principal, error) {
				p := ada
				p.Scopes = slices.DeleteFunc(access.AllScopes(), func(s access.Scope) bool { return s == access.ScopeComplianceJobsRun })
				return p, nil
			},
			wantHTTP: 403, wantCode: "INSUFFICIENT_SCOPE", wantChallenge: `Bearer error="insufficient_scope", scope="compliance-jobs:run"`,
		},
		{
			name: "an authorizer whose store throttles gives a 503",
			auth: func(context.Context, string) (access.Principal, error) {
				return access.Principal{}, access.Unavailable(errors.New("throttled"))
			},
			wantHTTP: 503, wantCode: "UNAVAILABLE",
		},
		{
			name: "an authorizer that fails otherwise gives a 500",
			auth: func(context.Context, string) (access.Principal, error) {
				return access.Principal{}, errors.New("connection reset")
			},
			wantHTTP: 500, wantCode: "INTERNAL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(dcssim.Options{Auth: &fakeAuth{AuthenticateFunc: tt.auth}})
			for _, r := range []reply{
				start(t, s, "any"),
				call(t, s, "GET", "/v1/executions/exec-1", "any"),
				call(t, s, "GET", "/no/such/route", "any"),
			} {
				if r.status != tt.wantHTTP || r.errCode != tt.wantCode {
					t.Errorf("got %d %s, want %d %s", r.status, r.errCode, tt.wantHTTP, tt.wantCode)
				}
				if got := r.header.Get("WWW-Authenticate"); tt.wantChallenge != "" && got != tt.wantChallenge {
					t.Errorf("WWW-Authenticate: got %q, want %q", got, tt.wantChallenge)
				} else if tt.wantChallenge == "" && (got != "") != tt.wantRealm {
					t.Errorf("WWW-Authenticate present: got %v, want %v", got != "", tt.wantRealm)
				}
				if tt.wantCode == "INSUFFICIENT_SCOPE" && !strings.Contains(r.raw, "compliance-jobs:run") {
					t.Errorf("got %s, want the message to name compliance-jobs:run", r.raw)
				}
			}
			if n := len(s.Executions()); n != 0 {
				t.Errorf("executions: got %d, want 0", n)
			}
		})
	}
}

func TestTheHeaderReachesTheAuthenticatorAsSent(t *testing.T) {
	var got []string
	s := newSim(dcssim.Options{Auth: &fakeAuth{AuthenticateFunc: func(_ context.Context, header string) (access.Principal, error) {
		got = append(got, header)
		return ada, nil
	}}})
	start(t, s, "abc.def.ghi")
	if want := []string{"Bearer abc.def.ghi"}; !reflect.DeepEqual(got, want) {
		t.Errorf("headers: got %q, want %q", got, want)
	}

	req := httptest.NewRequest("POST", "/v1/compliance-jobs/job-1/executions", nil)
	req.Header.Add("Authorization", "Bearer one")
	req.Header.Add("Authorization", "Bearer two")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || len(got) != 1 {
		t.Errorf("two Authorization headers: got %d after %d authentications, want 401 after 1", rec.Code, len(got))
	}
}

func TestJobsAndExecutionsBelongToTheirTenant(t *testing.T) {
	s := newSim(dcssim.Options{})
	mine := start(t, s, "ada-token")
	tests := []struct {
		name     string
		method   string
		path     string
		bearer   string
		wantHTTP int
	}{
		{"the owner reads the execution", "GET", "/v1/executions/" + mine.id, "ada-token", 200},
		{"another tenant cannot start the job", "POST", "/v1/compliance-jobs/job-1/executions", "grace-token", 404},
		{"another tenant cannot read the execution", "GET", "/v1/executions/" + mine.id, "grace-token", 404},
		{"an unknown job is not found", "POST", "/v1/compliance-jobs/job-2/executions", "ada-token", 404},
		{"an unknown execution is not found", "GET", "/v1/executions/exec-9", "ada-token", 404},
		{"an unknown route is not found", "GET", "/v1/compliance-jobs/job-1", "ada-token", 404},
		{"another tenant cannot list the job's executions", "GET", "/v1/compliance-jobs/job-1/executions", "grace-token", 404},
		{"a start by PUT is not found", "PUT", "/v1/compliance-jobs/job-1/executions", "ada-token", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, tt.method, tt.path, tt.bearer)
			if r.status != tt.wantHTTP {
				t.Errorf("got %d %s, want %d", r.status, r.raw, tt.wantHTTP)
			}
			if tt.wantHTTP == 404 && r.errCode != "NOT_FOUND" {
				t.Errorf("code: got %q, want NOT_FOUND", r.errCode)
			}
		})
	}
	if e := s.Executions()[0]; e.Polls != 1 || e.Status != "RUNNING" {
		t.Errorf("owner's execution: got %d polls, %s; want 1 poll, RUNNING (others' polls do not count)", e.Polls, e.Status)
	}
}

func TestInjectedFaultsComeFirstAndChangeNothing(t *testing.T) {
	for _, status := range []int{429, 503, 500, 403} {
		t.Run(fmt.Sprintf("%d is answered to the next two calls only", status), func(t *testing.T) {
			authenticated := 0
			s := newSim(dcssim.Options{Auth: &fakeAuth{AuthenticateFunc: func(context.Context, string) (access.Principal, error) {
				authenticated++
				return ada, nil
			}}})
			s.FailNext(2, status)
			for i := range 2 {
				r := start(t, s, "ada-token")
				if r.status != status {
					t.Fatalf("call %d: got %d, want %d", i+1, r.status, status)
				}
				wantRetry := status == 429 || status == 503
				if got := r.header.Get("Retry-After") != ""; got != wantRetry {
					t.Errorf("Retry-After present: got %v, want %v", got, wantRetry)
				}
			}
			if authenticated != 0 || len(s.Executions()) != 0 {
				t.Errorf("got %d authentications and %d executions, want none", authenticated, len(s.Executions()))
			}
			if r := start(t, s, "ada-token"); r.status != http.StatusCreated || r.state != "QUEUED" {
				t.Errorf("third call: got %d %s, want 201 QUEUED", r.status, r.raw)
			}
		})
	}
}

func TestCallsAreRecordedWithoutTheBearer(t *testing.T) {
	s := newSim(dcssim.Options{NewID: func() string { return "e/1" }})
	start(t, s, "ada-token")
	call(t, s, "GET", "/v1/executions/e%2F1", "ada-token")
	call(t, s, "GET", "/v1/executions/e%2F1", "wrong-token")
	want := []dcssim.Call{
		{Method: "POST", Path: "/v1/compliance-jobs/job-1/executions", Status: 201, Tenant: "acme", TokenID: "tok-ada"},
		{Method: "GET", Path: "/v1/executions/e%2F1", Status: 200, Tenant: "acme", TokenID: "tok-ada"},
		{Method: "GET", Path: "/v1/executions/e%2F1", Status: 401},
	}
	if got := s.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls:\n got %+v\nwant %+v", got, want)
	}
	if got := fmt.Sprintf("%+v %+v", s.Calls(), s.Executions()); strings.Contains(got, "ada-token") || strings.Contains(got, "wrong-token") {
		t.Errorf("records hold a bearer: %s", got)
	}
}

func TestTheSimIsSafeForConcurrentUse(t *testing.T) {
	s := newSim(dcssim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range 5 {
				if i == 2 {
					s.FailJob("job-1", "FAILED")
					s.FailJob("job-1", "")
				}
				_ = s.Executions()
				_ = s.Calls()
				req, _ := http.NewRequest("POST", srv.URL+"/v1/compliance-jobs/job-1/executions", nil)
				req.Header.Set("Authorization", "Bearer ada-token")
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, e := range s.Executions() {
		ids[e.ID] = true
	}
	if len(ids) != 80 || len(s.Calls()) != 80 {
		t.Errorf("got %d distinct executions and %d calls, want 80 of each", len(ids), len(s.Calls()))
	}
}

func TestInvalidOptionsPanic(t *testing.T) {
	auth := tokens(nil)
	tests := []struct {
		name string
		f    func()
	}{
		{"a missing authenticator panics", func() { dcssim.New(dcssim.Options{}) }},
		{"a start path without {jobId} panics", func() { dcssim.New(dcssim.Options{Auth: auth, StartPath: "/v1/jobs"}) }},
		{"a status path with {id} twice panics", func() { dcssim.New(dcssim.Options{Auth: auth, StatusPath: "/{id}/{id}"}) }},
		{"a list path without {jobId} panics", func() { dcssim.New(dcssim.Options{Auth: auth, ListPath: "/v1/executions"}) }},
		{"losing a negative number of starts panics", func() { dcssim.New(dcssim.Options{Auth: auth}).LoseNextStarts(-1) }},
		{"a final status in progress panics", func() { dcssim.New(dcssim.Options{Auth: auth, Progress: []string{"SUCCEEDED"}}) }},
		{"failing a job with an unknown status panics", func() { dcssim.New(dcssim.Options{Auth: auth}).FailJob("job-1", "BROKEN") }},
		{"injecting a success panics", func() { dcssim.New(dcssim.Options{Auth: auth}).FailNext(1, 200) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("got no panic, want one")
				}
			}()
			tt.f()
		})
	}
}

// DCS documents no idempotency key (docs/pipeline.md, "DCS API"), so the
// simulator must not give the client a protection DCS may not give.
func TestAnIdempotencyKeyIsIgnored(t *testing.T) {
	s := newSim(dcssim.Options{})
	var ids []string
	for range 2 {
		req := httptest.NewRequest("POST", "/v1/compliance-jobs/job-1/executions", nil)
		req.Header.Set("Authorization", "Bearer ada-token")
		req.Header.Set("Idempotency-Key", "uat1-run-0")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var body struct{ ID string }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); rec.Code != http.StatusCreated || err != nil {
			t.Fatalf("start: got %d %s, want 201", rec.Code, rec.Body)
		}
		ids = append(ids, body.ID)
	}
	if ids[0] == ids[1] || len(s.Executions()) != 2 {
		t.Fatalf("got executions %v (%d in all), want two distinct: the key changes nothing", ids, len(s.Executions()))
	}
}

func TestAJobsExecutionsAreListedInStartOrder(t *testing.T) {
	clock := t0
	s := dcssim.New(dcssim.Options{
		Auth: tokens(map[string]access.Principal{"ada-token": ada, "grace-token": grace}),
		Now:  func() time.Time { return clock },
	})
	s.AddJob("acme", "job-1")
	s.AddJob("acme", "job-2")
	s.AddJob("globex", "job-1") // the same id in another tenant

	type item struct {
		ID, JobID, Status, StartTime string
	}
	list := func(path, bearer string) (int, []item) {
		t.Helper()
		r := call(t, s, "GET", path, bearer)
		var body struct{ Items []item }
		if r.status == http.StatusOK {
			if err := json.Unmarshal([]byte(r.raw), &body); err != nil || !strings.Contains(r.raw, `"items":`) {
				t.Fatalf("GET %s: body %s, want {\"items\":[…]}", path, r.raw)
			}
		}
		return r.status, body.Items
	}
	if status, items := list("/v1/compliance-jobs/job-1/executions", "ada-token"); status != 200 || items == nil || len(items) != 0 {
		t.Fatalf("before any start: got %d %v, want 200 and an empty list", status, items)
	}
	for _, job := range []string{"job-1", "job-2", "job-1"} {
		if r := call(t, s, "POST", "/v1/compliance-jobs/"+job+"/executions", "ada-token"); r.status != http.StatusCreated {
			t.Fatalf("start %s: got %d", job, r.status)
		}
		clock = clock.Add(time.Minute)
	}
	call(t, s, "POST", "/v1/compliance-jobs/job-1/executions", "grace-token")

	status, items := list("/v1/compliance-jobs/job-1/executions", "ada-token")
	want := []item{
		{"exec-1", "job-1", "QUEUED", "2026-11-27T12:00:00Z"},
		{"exec-3", "job-1", "QUEUED", "2026-11-27T12:02:00Z"},
	}
	if status != 200 || !reflect.DeepEqual(items, want) {
		t.Fatalf("acme's job-1: got %d %+v, want %+v", status, items, want)
	}
	if status, items := list("/v1/compliance-jobs/job-1/executions", "grace-token"); status != 200 || len(items) != 1 || items[0].ID != "exec-4" {
		t.Fatalf("globex's job-1: got %d %+v, want its one execution", status, items)
	}
	if status, _ := list("/v1/compliance-jobs/job-9/executions", "ada-token"); status != http.StatusNotFound {
		t.Fatalf("an unknown job: got %d, want 404", status)
	}
	if status, _ := list("/v1/compliance-jobs/job-1/executions", "wrong-token"); status != http.StatusUnauthorized {
		t.Fatalf("a wrong token: got %d, want 401", status)
	}
}

func TestALostStartStartsItsExecutionAndAnswersNothing(t *testing.T) {
	s := newSim(dcssim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	post := func() (*http.Response, error) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/compliance-jobs/job-1/executions", nil)
		req.Header.Set("Authorization", "Bearer ada-token")
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	s.LoseNextStarts(1)
	if resp, err := post(); err == nil {
		t.Fatalf("got HTTP %d, want no answer", resp.StatusCode)
	}
	if got := s.Executions(); len(got) != 1 || got[0].Status != dcssim.Queued {
		t.Fatalf("after the lost answer: got %+v, want the one execution it started", got)
	}
	if resp, err := post(); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("the next start: got %v, %v; want 201", resp, err)
	}
	var got []int
	for _, c := range s.Calls() {
		got = append(got, c.Status)
	}
	if !slices.Equal(got, []int{0, 201}) || len(s.Executions()) != 2 {
		t.Fatalf("got call statuses %v and %d executions, want [0 201] and 2", got, len(s.Executions()))
	}
}

// listPage is one page of a job's executions, as the simulator answers it.
type listPage struct {
	Items []struct {
		ID        string `json:"id"`
		StartTime string `json:"startTime"`
	} `json:"items"`
	Meta struct {
		NextCursor *string `json:"next_cursor"`
		Total      int     `json:"total"`
	} `json:"response_metadata"`
}

func listPages(t *testing.T, s *dcssim.Sim, path string) (ids []string, cursors []string) {
	t.Helper()
	for range 20 {
		r := call(t, s, "GET", path, "ada-token")
		var p listPage
		if r.status != 200 || json.Unmarshal([]byte(r.raw), &p) != nil {
			t.Fatalf("GET %s: got %d %s", path, r.status, r.raw)
		}
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		if p.Meta.NextCursor == nil {
			return ids, cursors
		}
		cursors = append(cursors, *p.Meta.NextCursor)
		path = "/v1/compliance-jobs/job-1/executions?cursor=" + *p.Meta.NextCursor
	}
	t.Fatal("the list did not end")
	return nil, nil
}

func TestAListIsAnsweredInPagesWithACursor(t *testing.T) {
	s := newSim(dcssim.Options{PageSize: 2})
	for range 5 {
		start(t, s, "ada-token")
	}
	ids, cursors := listPages(t, s, "/v1/compliance-jobs/job-1/executions")
	if fmt.Sprint(ids) != "[exec-1 exec-2 exec-3 exec-4 exec-5]" || len(cursors) != 2 {
		t.Fatalf("got %v over cursors %v, want the five in start order over three pages", ids, cursors)
	}
	r := call(t, s, "GET", "/v1/compliance-jobs/job-1/executions", "ada-token")
	var p listPage
	if json.Unmarshal([]byte(r.raw), &p) != nil || p.Meta.Total != 5 || len(p.Items) != 2 {
		t.Fatalf("the first page: got %s, want 2 items of a total of 5", r.raw)
	}
	if r := call(t, s, "GET", "/v1/compliance-jobs/job-1/executions?cursor=after-99", "ada-token"); r.status != http.StatusBadRequest {
		t.Fatalf("a cursor the simulator did not give: got %d, want 400", r.status)
	}
	// Without a page size, one answer holds them all, and says so.
	ids, cursors = listPages(t, newSimWith5(t), "/v1/compliance-jobs/job-1/executions")
	if len(ids) != 5 || len(cursors) != 0 {
		t.Fatalf("unpaged: got %v over cursors %v, want five in one answer", ids, cursors)
	}
}

func newSimWith5(t *testing.T) *dcssim.Sim {
	s := newSim(dcssim.Options{})
	for range 5 {
		start(t, s, "ada-token")
	}
	return s
}

func TestAStartCommittedLateIsListedOnlyLater(t *testing.T) {
	s := newSim(dcssim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.LoseNextStartsCommittedLate(1, 2)
	req, _ := http.NewRequest("POST", srv.URL+"/v1/compliance-jobs/job-1/executions", nil)
	req.Header.Set("Authorization", "Bearer ada-token")
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got HTTP %d, want no answer", resp.StatusCode)
	}
	var seen []int
	for range 3 {
		ids, _ := listPages(t, s, "/v1/compliance-jobs/job-1/executions")
		seen = append(seen, len(ids))
	}
	if !slices.Equal(seen, []int{0, 0, 1}) || len(s.Executions()) != 1 {
		t.Fatalf("the lists showed %v executions (%d in all), want [0 0 1]: committed after two lists", seen, len(s.Executions()))
	}
}

func TestDCSsClockMayRunAheadAndOthersMayStartTheJob(t *testing.T) {
	s := newSim(dcssim.Options{})
	s.SkewClock(time.Minute)
	e := s.StartExecution("acme", "job-1", "someone@example.com")
	if !e.StartedAt.Equal(t0.Add(time.Minute)) || e.StartedBy != "someone@example.com" || e.TokenID != "" {
		t.Fatalf("got %+v, want an execution dated by DCS's clock, a minute ahead, started by someone", e)
	}
	r := call(t, s, "GET", "/v1/compliance-jobs/job-1/executions", "ada-token")
	if !strings.Contains(r.raw, `"startTime":"2026-11-27T12:01:00Z"`) {
		t.Fatalf("got %s, want the skewed start time listed", r.raw)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("starting a job the tenant does not have did not panic")
		}
	}()
	s.StartExecution("globex", "job-1", "someone@example.com")
}
