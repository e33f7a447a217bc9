// Package runs starts and reports sandbox refreshes: one Step Functions
// execution per run, at most one running per sandbox, with the run's record
// and a per-sandbox lock kept in DynamoDB so that two starts cannot race and a
// repeated start (a redelivered event, a retried request) starts nothing new.
package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/plans"
)

// Run is the record of one refresh: what was asked (written once, when the
// run is claimed) and how it goes (kept current: see record.go).
type Run struct {
	ID           string    `json:"id"`
	Tenant       string    `json:"tenant"`
	Sandbox      string    `json:"sandbox"`
	ExecutionARN string    `json:"executionArn"`
	RequestedAt  time.Time `json:"requestedAt"`
	RequestedBy  string    `json:"requestedBy"`
	Source       string    `json:"source"` // api, event or schedule
	Input        string    `json:"input"`  // the execution input, kept so a retried start sends the same
	// IdempotencyKey is the client's Idempotency-Key, remembered for
	// IdempotencyWindow so that a retried request returns this run.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`

	Status      string     `json:"status"` // RUNNING, then how the latest attempt ended
	CurrentStep string     `json:"currentStep,omitempty"`
	StoppedAt   *time.Time `json:"stoppedAt,omitempty"`
	Attempts    []Attempt  `json:"attempts"`
	Steps       []Step     `json:"steps"`
	Failure     *Failure   `json:"failure,omitempty"` // the latest attempt's, when it failed
	Exposure    Exposure   `json:"exposure"`
	// Version counts the record's updates: each update is conditional on
	// the version it read.
	Version int `json:"version"`
}

// IdempotencyWindow is how long a run answers for its Idempotency-Key.
const IdempotencyWindow = 24 * time.Hour

// Input is the execution's input: the state every step receives.
type Input struct {
	RunID       string     `json:"runId"`
	Tenant      string     `json:"tenant"`
	Sandbox     string     `json:"sandbox"`
	RequestedAt time.Time  `json:"requestedAt"`
	Deadline    time.Time  `json:"deadline"`
	Plan        plans.Plan `json:"plan"`
}

// Request is what asks for a run.
type Request struct {
	Tenant  string
	Sandbox string
	By      string      // the user, or the event's source
	Actor   audit.Actor // who asked, as the run's audit event names them
	Source  string      // api, event or schedule
	Key     string      // the event id or schedule time; "" for API requests
	At      time.Time   // the event's time; zero for API requests
}

// Lock names the run that holds a sandbox, and when it claimed it.
type Lock struct {
	RunID     string
	ClaimedAt time.Time
}

// claimLease is how long a fresh claim holds the sandbox while its
// execution is being started or redriven, whatever Step Functions says yet.
const claimLease = 2 * time.Minute

// Store keeps run records and the per-sandbox lock. Each change that is
// audited writes its event atomically with itself: both or neither.
type Store interface {
	// ActiveRun returns the sandbox's lock (a zero Lock when free).
	ActiveRun(ctx context.Context, tenant, sandbox string) (Lock, error)
	// ClaimRun takes the sandbox's lock from previous ("" when free),
	// writes the new run's record and its audit event ev, atomically;
	// ECONFLICT when someone else took it first, or the run exists.
	ClaimRun(ctx context.Context, run Run, previous string, ev audit.Event) error
	// ClaimRedrive takes the sandbox's lock from previous for an existing
	// run (a redrive) and writes its audit event ev, atomically; ECONFLICT
	// when someone else took it first.
	ClaimRedrive(ctx context.Context, run Run, previous string, ev audit.Event) error
	GetRun(ctx context.Context, tenant, id string) (Run, error) // ENOTFOUND when missing
	// UpdateRun applies change to the run's record and writes it if change
	// says it changed, conditionally on the version read (reading again
	// when another update came first), and returns the record as it is. An
	// update that ends a running run writes its FinishedEvent with it.
	UpdateRun(ctx context.Context, tenant, id string, change func(*Run) bool) (Run, error)
	// RunIDForKey returns the run an API request's Idempotency-Key started
	// within IdempotencyWindow ("" when none).
	RunIDForKey(ctx context.Context, tenant, sandbox, key string) (string, error)
	// ListRuns returns the newest runs of the sandbox, or of all the
	// tenant's sandboxes when sandbox is "", newest first: one query.
	ListRuns(ctx context.Context, tenant, sandbox string, limit int) ([]Run, error)
}

// PlanReader reads plans.
type PlanReader interface {
	GetPlan(ctx context.Context, tenant, sandbox string) (plans.Plan, error)
	ListPlans(ctx context.Context, tenant string) ([]plans.Plan, error)
}

// runIDPattern is the form of every run id runID makes.
var runIDPattern = regexp.MustCompile(`^[a-z0-9]{1,10}-[0-9]{8}t[0-9]{6}z-[a-z0-9]{1,16}$`)

// Service starts and reports runs.
type Service struct {
	Store     Store
	Plans     PlanReader
	Machine   Machine
	Publisher Publisher // where run outcomes are announced
	Now       func() time.Time
	RandomID  func() string // a short random suffix for API-started run ids
}

// ErrRunInProgress is the conflict of a second start while a run is active.
func ErrRunInProgress(sandbox, runID string) *access.Error {
	return access.Errorf(access.ECONFLICT, "RUN_IN_PROGRESS", "A refresh of sandbox %s is already running (run %s). Wait for it to finish, or follow it with GET /sandbox-refreshes/%s.", sandbox, runID, runID)
}

// ErrRunNotFound is the error for an unknown run id.
func ErrRunNotFound() *access.Error {
	return access.Errorf(access.ENOTFOUND, "RUN_NOT_FOUND", "No sandbox refresh with this id exists in your tenant.")
}

// Start starts a run of req's sandbox, or returns the run req already started.
// created is false when the run existed (an idempotent repeat).
func (s *Service) Start(ctx context.Context, req Request) (Run, bool, error) {
	if !plans.ValidSandbox(req.Sandbox) {
		return Run{}, false, plans.ErrNotFound()
	}
	plan, err := s.Plans.GetPlan(ctx, req.Tenant, req.Sandbox)
	if err != nil {
		return Run{}, false, err
	}
	clock := s.Now() // the event's time: events sort by it, to the millisecond
	now := clock.UTC().Truncate(time.Second)
	id := s.runID(plan.Sandbox, req, now)
	apiKey := ""
	if req.Key != "" && req.At.IsZero() {
		// An API request's run id cannot come from its time: look the key up.
		apiKey = req.Key
		known, err := s.Store.RunIDForKey(ctx, req.Tenant, plan.Sandbox, apiKey)
		if err != nil {
			return Run{}, false, err
		}
		if known != "" {
			id = known
		}
	}

	if existing, err := s.Store.GetRun(ctx, req.Tenant, id); err == nil {
		// A repeated event or request: make sure it was started, start nothing new.
		if err := s.Machine.Start(ctx, ExecutionName(req.Tenant, id), existing.Input); err != nil && !errors.Is(err, ErrExecutionExists) {
			return Run{}, false, err
		}
		return existing, false, nil
	} else if access.ErrorKind(err) != access.ENOTFOUND {
		return Run{}, false, err
	}

	lock, err := s.Store.ActiveRun(ctx, req.Tenant, plan.Sandbox)
	if err != nil {
		return Run{}, false, err
	}
	previous := lock.RunID
	if previous != "" {
		if err := s.checkFinished(ctx, req.Tenant, plan.Sandbox, lock); err != nil {
			return Run{}, false, err
		}
	}

	in := Input{RunID: id, Tenant: req.Tenant, Sandbox: plan.Sandbox, RequestedAt: now,
		Deadline: now.Add(time.Duration(plan.TimeoutHours) * time.Hour), Plan: plan}
	doc, err := json.Marshal(in)
	if err != nil {
		return Run{}, false, access.Internal(err)
	}
	run := Run{ID: id, Tenant: req.Tenant, Sandbox: plan.Sandbox, RequestedAt: now, RequestedBy: req.By,
		Source: req.Source, Input: string(doc), ExecutionARN: s.Machine.ExecutionARN(ExecutionName(req.Tenant, id)),
		IdempotencyKey: apiKey}
	run.Started(now)
	ev := audit.New(ctx, req.Tenant, req.Actor, audit.RunStarted, audit.Target{Type: audit.TargetRun, ID: id}, clock).
		With("sandbox", run.Sandbox).With("source", req.Source)
	if err := s.Store.ClaimRun(ctx, run, previous, ev); err != nil {
		return Run{}, false, s.lost(ctx, req.Tenant, plan.Sandbox, err)
	}
	// If this fails the lock is held by a run that never started; the next
	// start sees its execution missing and takes the lock over.
	if err := s.Machine.Start(ctx, ExecutionName(req.Tenant, id), run.Input); err != nil && !errors.Is(err, ErrExecutionExists) {
		return Run{}, false, err
	}
	return run, true, nil
}

// checkFinished returns RUN_IN_PROGRESS unless the lock holder has stopped.
// A holder whose record has ended is done; otherwise Step Functions says.
// A claim younger than claimLease whose execution has not started yet, or
// stopped before the claim (a redrive on its way), still holds the sandbox;
// an older one whose execution does not exist never started, or its
// execution was lost (the local stand-in restarted): its run is aborted.
func (s *Service) checkFinished(ctx context.Context, tenant, sandbox string, lock Lock) error {
	holder, err := s.Store.GetRun(ctx, tenant, lock.RunID)
	if access.ErrorKind(err) == access.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	fresh := s.Now().Sub(lock.ClaimedAt) < claimLease
	lost := holder.Failure != nil && holder.Failure.Code == LostExecution.Code
	if holder.Ended() && (!fresh || lost) {
		return nil
	}
	ex, err := s.Machine.Describe(ctx, holder.ExecutionARN)
	switch {
	case errors.Is(err, ErrExecutionNotFound):
		if fresh {
			return ErrRunInProgress(sandbox, lock.RunID)
		}
		return s.abortLost(ctx, holder)
	case err != nil:
		return err
	case ex.Status == StatusRunning:
		return ErrRunInProgress(sandbox, lock.RunID)
	case fresh && ex.StoppedAt != nil && ex.StoppedAt.Before(lock.ClaimedAt):
		return ErrRunInProgress(sandbox, lock.RunID)
	}
	return nil
}

// LostExecution is the failure of a run whose execution does not exist.
var LostExecution = Failure{Code: "EXECUTION_LOST", Message: "The run's Step Functions execution does not exist: it was never started, or the local Step Functions stand-in lost it when make run restarted. Start a new run."}

// abortLost ends a run whose execution does not exist as ABORTED.
func (s *Service) abortLost(ctx context.Context, run Run) error {
	_, err := s.Store.UpdateRun(ctx, run.Tenant, run.ID, func(r *Run) bool {
		if r.Ended() {
			return false
		}
		lost := LostExecution
		return r.Finish(r.latest().Number, StatusAborted, &lost, s.Now().UTC())
	})
	return err
}

// Reconcile aborts the running runs of running whose executions do not
// exist: the local stack calls it when it starts, before it serves (so no
// claim is on its way), since its Step Functions stand-in forgets
// executions when it restarts. (In AWS an execution outlives its record.)
func (s *Service) Reconcile(ctx context.Context, running []Run) error {
	for _, run := range running {
		if run.Ended() {
			continue
		}
		if _, err := s.Machine.Describe(ctx, run.ExecutionARN); errors.Is(err, ErrExecutionNotFound) {
			if err := s.abortLost(ctx, run); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// lost explains a failed claim: a conflict means another start won the lock.
func (s *Service) lost(ctx context.Context, tenant, sandbox string, err error) error {
	if access.ErrorKind(err) != access.ECONFLICT {
		return err
	}
	winner, readErr := s.Store.ActiveRun(ctx, tenant, sandbox)
	if readErr != nil || winner.RunID == "" {
		winner.RunID = "unknown"
	}
	return ErrRunInProgress(sandbox, winner.RunID)
}

// runID is "<sandbox>-<time>-<suffix>": time-ordered within a sandbox, and
// deterministic for events and schedules (the suffix is a hash of their id),
// so a redelivered event names the run it already started.
func (s *Service) runID(sandbox string, req Request, now time.Time) string {
	at, suffix := now, ""
	if req.Key != "" && !req.At.IsZero() {
		at = req.At.UTC()
		h := sha256.Sum256([]byte(req.Tenant + "|" + sandbox + "|" + req.Key))
		suffix = hex.EncodeToString(h[:4])
	} else {
		suffix = s.RandomID()
	}
	return strings.ToLower(sandbox) + "-" + at.Format("20060102t150405z") + "-" + suffix
}

// ExecutionName is the Step Functions execution name of a run: the run id
// behind a hash of the tenant, so runs of two tenants never collide.
func ExecutionName(tenant, runID string) string {
	h := sha256.Sum256([]byte(tenant))
	return hex.EncodeToString(h[:4]) + "-" + runID
}

// Redrive resumes a failed run from the step that failed, for by.
func (s *Service) Redrive(ctx context.Context, by audit.Actor, tenant, id string) (Run, error) {
	if !runIDPattern.MatchString(id) {
		return Run{}, ErrRunNotFound()
	}
	run, err := s.Store.GetRun(ctx, tenant, id)
	if access.ErrorKind(err) == access.ENOTFOUND {
		return Run{}, ErrRunNotFound()
	}
	if err != nil {
		return Run{}, err
	}
	var in Input
	if err := json.Unmarshal([]byte(run.Input), &in); err == nil && !in.Deadline.IsZero() && s.Now().After(in.Deadline) {
		return Run{}, access.Errorf(access.ECONFLICT, "RUN_NOT_REDRIVABLE", "This run is past its deadline (%s); start a new run instead.", in.Deadline.Format(time.RFC3339))
	}
	lock, err := s.Store.ActiveRun(ctx, tenant, run.Sandbox)
	if err != nil {
		return Run{}, err
	}
	previous := lock.RunID
	if previous != "" && previous != run.ID {
		if err := s.checkFinished(ctx, tenant, run.Sandbox, lock); err != nil {
			return Run{}, err
		}
	}
	ev := audit.New(ctx, tenant, by, audit.RunRedriven, audit.Target{Type: audit.TargetRun, ID: run.ID}, s.Now()).With("sandbox", run.Sandbox)
	if err := s.Store.ClaimRedrive(ctx, run, previous, ev); err != nil {
		return Run{}, s.lost(ctx, tenant, run.Sandbox, err)
	}
	if err := s.Machine.Redrive(ctx, run.ExecutionARN); err != nil {
		if errors.Is(err, ErrNotRedrivable) {
			return Run{}, access.Errorf(access.ECONFLICT, "RUN_NOT_REDRIVABLE", "Only a failed, timed-out or aborted run can be redriven, within 14 days of its failure.")
		}
		return Run{}, err
	}
	// The redrive's first step opens its attempt too; this makes the run
	// RUNNING at once. Its number: one more than the last one recorded.
	next := len(run.Attempts) + 1
	if last := run.latest(); last != nil {
		next = last.Number + 1
	}
	return s.Store.UpdateRun(ctx, tenant, id, func(r *Run) bool { return r.Redriven(next, s.Now().UTC()) })
}

// Get returns the run id, as its record tells it.
func (s *Service) Get(ctx context.Context, tenant, id string) (Run, error) {
	if !runIDPattern.MatchString(id) {
		return Run{}, ErrRunNotFound()
	}
	run, err := s.Store.GetRun(ctx, tenant, id)
	if access.ErrorKind(err) == access.ENOTFOUND {
		return Run{}, ErrRunNotFound()
	}
	return run, err
}

// List returns the recent runs of the sandbox, or of all the tenant's
// sandboxes when sandbox is "", newest first, as their records tell them.
func (s *Service) List(ctx context.Context, tenant, sandbox string, limit int) ([]Run, error) {
	if limit < 1 || limit > MaxListLimit {
		return nil, access.Errorf(access.EINVALID, "INVALID_LIMIT", "limit must be a whole number from 1 to %d.", MaxListLimit)
	}
	if sandbox != "" && !plans.ValidSandbox(sandbox) {
		return nil, access.Errorf(access.EINVALID, "INVALID_SANDBOX", "sandbox must be 1 to 10 letters or digits.")
	}
	return s.Store.ListRuns(ctx, tenant, sandbox, limit)
}

// The limits of a listing of runs.
const (
	DefaultListLimit = 20
	MaxListLimit     = 50
)

// FinishedEvent is the audit event of run (as an update left it) having
// stopped at at: what a store writes with the update that ends a running
// run. dcs-access acted: Step Functions told it how the run ended, or it
// found the run's execution gone.
func FinishedEvent(ctx context.Context, run Run, at time.Time) audit.Event {
	return audit.New(ctx, run.Tenant, audit.Service("sandbox-refreshes"), audit.RunFinished, audit.Target{Type: audit.TargetRun, ID: run.ID}, at).
		With("sandbox", run.Sandbox).With("status", run.Status)
}

// Finishes reports whether an update from before to after ends a running
// run: when a store writes FinishedEvent.
func Finishes(before, after Run) bool { return !before.Ended() && after.Ended() }

// String helps logs name a run without its input.
func (r Run) String() string { return fmt.Sprintf("run %s of %s/%s", r.ID, r.Tenant, r.Sandbox) }
