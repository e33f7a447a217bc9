// Package dcssim simulates the DCS masking-job API for tests and for the local
// stack: compliance jobs that belong to tenants, executions that move
// QUEUED → RUNNING → SUCCEEDED one status per poll, a job's list of
// executions (in pages, as Data Control Tower pages its "items" lists, when
// Options.PageSize says so), injectable job failures, 503/429 answers,
// starts whose answer is lost, starts that DCS commits only later, and a
// clock that may run ahead of or behind the caller's. Like DCS as far as it documents anything, it has no
// idempotency key: an Idempotency-Key header is ignored, and every start
// starts an execution. Every call's bearer is checked by an Authenticator,
// in practice the project's own authorizer, so a deleted API token makes a
// masking call fail with 401 exactly as it would in front of DCS, and a
// token without the scope compliance-jobs:run with 403 INSUFFICIENT_SCOPE.
package dcssim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
)

// Execution statuses, as the DCS API spells them.
const (
	Queued    = "QUEUED"
	Running   = "RUNNING"
	Waiting   = "WAITING"
	Succeeded = "SUCCEEDED"
	Failed    = "FAILED"
	Cancelled = "CANCELLED"
)

// Default paths, the same as the client's defaults.
const (
	DefaultStartPath  = "/v1/compliance-jobs/{jobId}/executions"
	DefaultStatusPath = "/v1/executions/{id}"
	DefaultListPath   = "/v1/compliance-jobs/{jobId}/executions"
)

// Authenticator decides who sent a request from its Authorization header.
// *authorizer.Authorizer satisfies it; its errors carry an access.Kind.
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (access.Principal, error)
}

// Options configure a Sim. Only Auth is required.
type Options struct {
	Auth       Authenticator
	StartPath  string // default DefaultStartPath; a ServeMux pattern path with {jobId}
	StatusPath string // default DefaultStatusPath; a ServeMux pattern path with {id}
	ListPath   string // default DefaultListPath; a ServeMux pattern path with {jobId}
	// Progress is the statuses an execution passes through before it ends,
	// default QUEUED, RUNNING. It ends SUCCEEDED, or as FailJob says.
	Progress []string
	// PollsPerStatus is how many GETs of an execution advance it one status
	// (default 1: each GET advances it).
	PollsPerStatus int
	// NewID makes execution ids (default exec-1, exec-2, …). It is called
	// with the Sim locked, so it must not call the Sim.
	NewID func() string
	Now   func() time.Time // default time.Now
	// PageSize is how many executions a list answers at most, with
	// response_metadata.next_cursor naming the next page; 0 answers
	// them all at once.
	PageSize int
}

// Execution is the simulator's record of one execution.
type Execution struct {
	ID        string
	Tenant    string
	JobID     string
	Status    string
	StartedBy string // the user of the token that started it
	TokenID   string // the id (jti) of that token; never the token
	Polls     int    // GETs answered for it
	StartedAt time.Time
	EndedAt   time.Time // zero until it is done
}

// Done reports whether the execution has reached a final status.
func (e Execution) Done() bool {
	return e.Status == Succeeded || e.Status == Failed || e.Status == Cancelled
}

// Call is one request the simulator answered.
type Call struct {
	Method string
	Path   string // as sent, escaped
	Status int    // the answer's HTTP status; 0 when the answer was lost (LoseNextStarts)
	// Tenant and TokenID are the caller's when authentication succeeded.
	Tenant  string
	TokenID string
}

// Sim is the simulated DCS job API, an http.Handler. It is safe for
// concurrent use.
type Sim struct {
	auth     Authenticator
	progress []string
	perPoll  int
	newID    func() string
	now      func() time.Time
	mux      *http.ServeMux

	mu       sync.Mutex
	jobs     map[jobKey]bool
	failures map[string]string // job id → FAILED or CANCELLED
	execs    map[string]*execution
	order    []string // execution ids in start order
	calls    []Call
	faults   []int // statuses of the next answers, before authentication
	lose     int   // starts whose answer is lost after they started
	late     int   // lists a lost start's execution stays out of (LoseNextStartsCommittedLate)
	skew     time.Duration
	pageSize int
	seq      int
}

type jobKey struct{ tenant, jobID string }

// execution is an Execution and where it is in Progress.
type execution struct {
	Execution
	step int
	// hidden is how many more lists leave it out: a start DCS committed
	// after it answered (or lost) the request.
	hidden int
}

// New returns a simulator. It panics on invalid options, as http.ServeMux
// does on an invalid pattern: they are a programming error.
func New(opts Options) *Sim {
	if opts.Auth == nil {
		panic("dcssim: Options.Auth is required")
	}
	s := &Sim{
		auth:     opts.Auth,
		progress: []string{Queued, Running},
		perPoll:  1,
		newID:    opts.NewID,
		now:      opts.Now,
		jobs:     map[jobKey]bool{},
		failures: map[string]string{},
		execs:    map[string]*execution{},
	}
	if len(opts.Progress) > 0 {
		for _, st := range opts.Progress {
			if st != Queued && st != Running && st != Waiting {
				panic(fmt.Sprintf("dcssim: Progress status %q is not QUEUED, RUNNING or WAITING", st))
			}
		}
		s.progress = append([]string(nil), opts.Progress...)
	}
	if opts.PageSize < 0 {
		panic(fmt.Sprintf("dcssim: PageSize %d is negative", opts.PageSize))
	}
	s.pageSize = opts.PageSize
	if opts.PollsPerStatus > 0 {
		s.perPoll = opts.PollsPerStatus
	}
	if s.newID == nil {
		s.newID = func() string { return fmt.Sprintf("exec-%d", s.seq) } // called with mu held
	}
	if s.now == nil {
		s.now = time.Now
	}
	start := pattern("StartPath", opts.StartPath, DefaultStartPath, "{jobId}")
	status := pattern("StatusPath", opts.StatusPath, DefaultStatusPath, "{id}")
	list := pattern("ListPath", opts.ListPath, DefaultListPath, "{jobId}")
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST "+start, s.start)
	s.mux.HandleFunc("GET "+status, s.status)
	s.mux.HandleFunc("GET "+list, s.list)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "No such route.")
	})
	return s
}

func pattern(name, path, def, param string) string {
	if path == "" {
		return def
	}
	if !strings.HasPrefix(path, "/") || strings.Count(path, param) != 1 {
		panic(fmt.Sprintf("dcssim: %s must start with / and contain %s once", name, param))
	}
	return path
}

// AddJob makes compliance job jobID exist in tenant.
func (s *Sim) AddJob(tenant, jobID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[jobKey{tenant, jobID}] = true
}

// FailJob makes executions of jobID end with status, FAILED or CANCELLED,
// instead of SUCCEEDED; "" clears the failure. It applies to every execution
// that has not ended yet, including those already running.
func (s *Sim) FailJob(jobID, status string) {
	if status != Failed && status != Cancelled && status != "" {
		panic(fmt.Sprintf("dcssim: FailJob status %q is not FAILED, CANCELLED or empty", status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == "" {
		delete(s.failures, jobID)
		return
	}
	s.failures[jobID] = status
}

// FailNext makes the next n requests, whatever they are, answer status (for
// example 503 or 429) before their bearer is checked, changing nothing.
func (s *Sim) FailNext(n, status int) {
	if n < 0 || status < 400 || status > 599 {
		panic(fmt.Sprintf("dcssim: FailNext(%d, %d): want n >= 0 and a 4xx or 5xx status", n, status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, status)
	}
}

// LoseNextStarts makes the next n starts start their execution and then
// lose the answer: the connection closes without a response, as when a
// network or a gateway drops it. The caller cannot tell whether DCS started
// anything.
func (s *Sim) LoseNextStarts(n int) {
	if n < 0 {
		panic(fmt.Sprintf("dcssim: LoseNextStarts(%d): want n >= 0", n))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose = n
}

// LoseNextStartsCommittedLate makes the next n starts lose their answer
// (as LoseNextStarts) and keeps each one's execution out of the job's list
// for the next lists list requests (pages): DCS took the request but committed the
// execution seconds later, after the caller gave up and looked.
func (s *Sim) LoseNextStartsCommittedLate(n, lists int) {
	if n < 0 || lists < 0 {
		panic(fmt.Sprintf("dcssim: LoseNextStartsCommittedLate(%d, %d): want n, lists >= 0", n, lists))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose, s.late = n, lists
}

// SetPageSize changes Options.PageSize.
func (s *Sim) SetPageSize(n int) {
	if n < 0 {
		panic(fmt.Sprintf("dcssim: SetPageSize(%d) is negative", n))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// SkewClock sets DCS's clock d ahead of Options.Now (behind when d is
// negative): the start times it gives are its own clock's, not the
// caller's.
func (s *Sim) SkewClock(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew = d
}

// StartExecution starts an execution of jobID in tenant as someone else
// would through the API (by, with no token): a colleague's run of the job,
// or one from before the sandbox's copy. It panics if there is no such job.
func (s *Sim) StartExecution(tenant, jobID, by string) Execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.jobs[jobKey{tenant, jobID}] {
		panic(fmt.Sprintf("dcssim: StartExecution: tenant %s has no job %s", tenant, jobID))
	}
	e, err := s.newExecution(tenant, jobID, by, "")
	if err != nil {
		panic("dcssim: " + err.Error())
	}
	return e.Execution
}

// newExecution records a new execution; called with mu held.
func (s *Sim) newExecution(tenant, jobID, by, tokenID string) (*execution, error) {
	s.seq++
	id := s.newID()
	if _, taken := s.execs[id]; taken || id == "" {
		return nil, fmt.Errorf("the simulator's NewID returned an empty or repeated id")
	}
	e := &execution{Execution: Execution{
		ID: id, Tenant: tenant, JobID: jobID, Status: s.progress[0],
		StartedBy: by, TokenID: tokenID, StartedAt: s.clock(),
	}}
	s.execs[id] = e
	s.order = append(s.order, id)
	return e, nil
}

// clock is DCS's time; called with mu held.
func (s *Sim) clock() time.Time { return s.now().Add(s.skew).UTC() }

// Executions returns a copy of every execution, in start order, including
// those a list does not show yet (LoseNextStartsCommittedLate).
func (s *Sim) Executions() []Execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Execution, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.execs[id].Execution)
	}
	return out
}

// Calls returns a copy of every request answered, in order.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}
