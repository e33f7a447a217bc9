package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dcs-access/dcs-access/internal/dcs"
)

// Masking is the masking steps' result ($.masking).
type Masking struct {
	ExecutionID string `json:"executionId"` // "" until an execution is the run's
	Status      string `json:"status"`
	Done        bool   `json:"done"`
	WaitSeconds int    `json:"waitSeconds"`
	Polls       int    `json:"polls"`
	// Redrive is the execution's redrive count when this DCS execution started.
	Redrive int `json:"redrive"`
	// Baseline is the job's executions that existed before the run could
	// start one: none of them is ever taken as the run's.
	Baseline *Baseline `json:"baseline,omitempty"`
	// Replaced is the failed execution a redrive replaces, while the new
	// one is not started yet (ExecutionID is "").
	Replaced string `json:"replaced,omitempty"`
}

// Baseline is a listing of the masking job's executions taken after the
// copy was activated and before the run starts an execution (MaskingBaseline,
// or CheckMasking when a redrive replaces a failed one). DCS documents no
// idempotency key, and its clock is not Salesforce's, so the run recognises
// the execution it started (a start whose answer was lost) by proof, not
// by time: an execution that is not in the baseline was started after the
// baseline was taken, so after the activation, and masks the run's copy.
type Baseline struct {
	TakenAt time.Time `json:"takenAt"`
	// Since bounds the listing: executions DCS dates before it (24 h before
	// the activation, to the second) are not in IDs, and never taken either.
	Since time.Time `json:"since"`
	// Count is how many executions IDs holds; IDs, the executions started
	// since Since or without a start time. IDs are dropped once masking
	// succeeded, and from the run's record, to keep the state small.
	Count int      `json:"count"`
	IDs   []string `json:"ids,omitempty"`
}

const (
	// baselineWindow is how far before the activation the baseline lists
	// executions: far more than DCS's and Salesforce's clocks can differ,
	// so that an execution started after the baseline is never dated
	// before Since (which would only cost a second start, never data).
	baselineWindow = 24 * time.Hour
	// maxBaselineBytes bounds the baseline's ids in the run's state, which
	// Step Functions caps at 256 KiB with the plan and every step's result:
	// about 1,700 UUIDs, far more executions than one job runs in a day.
	maxBaselineBytes = 64 << 10

	// A start whose outcome is unknown lists the job again, every
	// awaitStartEvery for awaitStart, before it fails: DCS may commit a
	// start seconds after the request was cut off. Both fit the step's
	// budget after a start that took the client's whole timeout.
	awaitStart      = 15 * time.Second
	awaitStartEvery = 2 * time.Second
)

func (s *Steps) dcsClient(ctx context.Context, run State) (MaskingJobs, error) {
	token, err := s.Secrets.SecretString(ctx, run.Plan.DCS.APITokenSecretARN)
	if err != nil {
		return nil, classify("read the DCS API token secret", err)
	}
	c, err := s.NewDCS(dcs.Config{BaseURL: run.Plan.DCS.BaseURL, Token: token})
	if err != nil {
		return nil, &PermanentError{Message: "the DCS connection: " + err.Error()}
	}
	return c, nil
}

// maskingBaseline takes the baseline of the job's executions that
// startMasking starts against. It changes nothing, so a retry takes it
// again.
func (s *Steps) maskingBaseline(ctx context.Context, run State, redrive int) (*Masking, error) {
	if _, err := activatedAt(run); err != nil {
		return nil, err
	}
	c, err := s.dcsClient(ctx, run)
	if err != nil {
		return nil, err
	}
	b, err := s.takeBaseline(ctx, c, run)
	if err != nil {
		return nil, err
	}
	return &Masking{Baseline: b, Redrive: redrive, WaitSeconds: run.Plan.PollIntervals.MaskingSeconds}, nil
}

// startMasking starts the plan's DCS compliance job on the sandbox, unless
// an earlier attempt of this step started it already (see startJob).
func (s *Steps) startMasking(ctx context.Context, run State, redrive int) (*Masking, error) {
	b, err := baselineOf(run)
	if err != nil {
		return nil, err
	}
	c, err := s.dcsClient(ctx, run)
	if err != nil {
		return nil, err
	}
	return s.startJob(ctx, c, run, &Masking{Baseline: b, Redrive: redrive, WaitSeconds: run.Plan.PollIntervals.MaskingSeconds})
}

// activatedAt is when the run's copy replaced the sandbox.
func activatedAt(run State) (time.Time, error) {
	if run.Refresh == nil || run.Refresh.ActivatedAt == nil {
		return time.Time{}, &PermanentError{Message: "masking was asked for before the sandbox's copy was activated"}
	}
	return *run.Refresh.ActivatedAt, nil
}

// takeBaseline lists the job's executions now: those started since Since
// (24 h before the activation) or without a start time.
func (s *Steps) takeBaseline(ctx context.Context, c MaskingJobs, run State) (*Baseline, error) {
	activated, err := activatedAt(run)
	if err != nil {
		return nil, err
	}
	list, err := c.Executions(ctx, run.Plan.DCS.ComplianceJobID)
	if err != nil {
		return nil, classify("list the DCS compliance job's executions", err)
	}
	b := &Baseline{TakenAt: s.Now().UTC(), Since: activated.Add(-baselineWindow).Truncate(time.Second), IDs: []string{}}
	size := 0
	for _, e := range list {
		if b.bounds(e) && !slices.Contains(b.IDs, e.ID) {
			b.IDs = append(b.IDs, e.ID)
			size += len(e.ID) + len(`"",`)
		}
	}
	if size > maxBaselineBytes {
		return nil, &PermanentError{Message: fmt.Sprintf(
			"the DCS compliance job lists %d executions started since %s: more than the run's state can hold to tell the run's own execution apart (%d KiB of ids); the run does not start masking (its users stay dropped)",
			len(b.IDs), b.Since.Format(time.RFC3339), maxBaselineBytes>>10)}
	}
	b.Count = len(b.IDs)
	return b, nil
}

// baselineOf is the run's baseline, as a start needs it whole.
func baselineOf(run State) (*Baseline, error) {
	switch {
	case run.Masking == nil || run.Masking.Baseline == nil:
		return nil, &PermanentError{Message: "a masking start without a baseline of the DCS job's executions (MaskingBaseline) cannot tell the execution it may have started from any other: start a new run"}
	case run.Masking.Baseline.Count != len(run.Masking.Baseline.IDs):
		return nil, &PermanentError{Message: fmt.Sprintf("the masking baseline holds %d ids but says %d: it is not whole", len(run.Masking.Baseline.IDs), run.Masking.Baseline.Count)}
	}
	return run.Masking.Baseline, nil
}

// bounds reports whether e is within the baseline's listing: started at or
// after Since, or without a start time (which cannot be placed, so is
// listed, and never taken from the baseline).
func (b *Baseline) bounds(e dcs.Execution) bool {
	return e.StartedAt.IsZero() || !e.StartedAt.Before(b.Since)
}

// newer returns the executions of list started after the baseline was
// taken: not in it, and dated at or after Since. One without a start time is
// never among them, even when it is not in the baseline: the baseline left
// out executions dated before Since, so an old one that a later list shows
// undated could not be told from a new one (undated reports those).
func (b *Baseline) newer(list []dcs.Execution) []dcs.Execution {
	var out []dcs.Execution
	for _, e := range list {
		if !e.StartedAt.IsZero() && b.bounds(e) && !slices.Contains(b.IDs, e.ID) {
			out = append(out, e)
		}
	}
	return out
}

// undated returns an execution of list in progress, without a start time,
// that is not in the baseline: it may be the one this run started, or an
// old one whose start time DCS no longer gives, so the run neither takes it
// nor starts another until DCS dates it.
func (b *Baseline) undated(list []dcs.Execution) (dcs.Execution, bool) {
	for _, e := range list {
		if e.StartedAt.IsZero() && !e.Status.Done() && !slices.Contains(b.IDs, e.ID) {
			return e, true
		}
	}
	return dcs.Execution{}, false
}

// existed reports whether ex is one the baseline proves was there before the
// run could start one: listed in it, or dated before Since.
func (b *Baseline) existed(ex dcs.Execution) bool {
	return slices.Contains(b.IDs, ex.ID) || (!ex.StartedAt.IsZero() && ex.StartedAt.Before(b.Since))
}

// own picks, from executions started after the baseline (all dated), the
// one the run takes: the first started, leaving out any that ended without
// success, which would only fail the run. Whoever started it, it masks the
// run's copy, and if it fails the run fails as with its own.
func own(newer []dcs.Execution) (dcs.Execution, bool) {
	var usable []dcs.Execution
	for _, e := range newer {
		if !e.Status.Done() || e.Status.Succeeded() {
			usable = append(usable, e)
		}
	}
	if len(usable) == 0 {
		return dcs.Execution{}, false
	}
	return slices.MinFunc(usable, func(a, b dcs.Execution) int { return a.StartedAt.Compare(b.StartedAt) }), true
}

// startJob starts the plan's compliance job, or takes the execution an
// earlier attempt started (one started after m's baseline). DCS documents
// no idempotency key, so a start whose answer was lost is found by listing
// the job before asking for one; after a start whose outcome is unknown
// (a timeout, a dropped connection, a 5xx) the job is listed again for a
// while, as DCS may commit it later, before the step fails and is retried.
func (s *Steps) startJob(ctx context.Context, c MaskingJobs, run State, m *Masking) (*Masking, error) {
	jobID := run.Plan.DCS.ComplianceJobID
	list, err := c.Executions(ctx, jobID)
	if err != nil {
		return nil, classify("list the DCS compliance job's executions", err)
	}
	if ex, ok := own(m.Baseline.newer(list)); ok {
		s.log().InfoContext(ctx, "a DCS execution of the job started after the baseline: taking it rather than starting another",
			"runId", run.RunID, "executionId", ex.ID, "status", ex.Status, "startedAt", ex.StartedAt)
		return m.with(ex), nil
	}
	if ex, ok := m.Baseline.undated(list); ok {
		return nil, &TransientError{Message: fmt.Sprintf(
			"DCS lists execution %s of the compliance job, %s, without a start time: it may be the one this step started, so no other is started until DCS dates it", ex.ID, ex.Status)}
	}
	ex, err := c.StartExecution(ctx, jobID)
	if err == nil && m.Baseline.existed(ex) {
		// A DCS that answers a start with a job already running (started on
		// the old data) must not have it polled as the run's masking.
		return nil, &PermanentError{Message: fmt.Sprintf(
			"DCS answered the start with execution %s, which existed before the run could start one: it may have masked the data before the copy; the run does not take it (its users stay dropped)", ex.ID)}
	}
	if err == nil {
		return m.with(ex), nil
	}
	if !dcs.MayHaveHappened(err) {
		return nil, classify("start the DCS compliance job", err)
	}
	if ex, ok := s.awaitStart(ctx, c, jobID, m.Baseline); ok {
		s.log().InfoContext(ctx, "the DCS start's outcome was unknown; the job now lists an execution started after the baseline: taking it",
			"runId", run.RunID, "executionId", ex.ID, "status", ex.Status, "startError", err.Error())
		return m.with(ex), nil
	}
	return nil, classify("start the DCS compliance job", err)
}

// awaitStart lists the job until it shows an execution started after b, for
// at most the step's AwaitStart.
func (s *Steps) awaitStart(ctx context.Context, c MaskingJobs, jobID string, b *Baseline) (dcs.Execution, bool) {
	window, every := cmp.Or(s.AwaitStart, awaitStart), cmp.Or(s.AwaitStartEvery, awaitStartEvery)
	for end := time.Now().Add(window); time.Now().Before(end); {
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return dcs.Execution{}, false
		case <-t.C:
		}
		if list, err := c.Executions(ctx, jobID); err == nil {
			if ex, ok := own(b.newer(list)); ok {
				return ex, true
			}
		}
	}
	return dcs.Execution{}, false
}

// with makes ex the run's execution.
func (m *Masking) with(ex dcs.Execution) *Masking {
	m.ExecutionID, m.Status, m.Replaced = ex.ID, string(ex.Status), ""
	return m
}

// checkMasking polls the masking execution. Only SUCCEEDED lets the run go
// on to recreate users; FAILED and CANCELLED fail the run with users dropped.
// A failed DCS execution cannot succeed on a second look: when the run was
// redriven since it started (someone fixed the job), the poll takes a new
// baseline, and the next poll starts a new execution against it.
func (s *Steps) checkMasking(ctx context.Context, run State, redrive int) (*Masking, error) {
	if err := s.pastDeadline(run); err != nil {
		return nil, err
	}
	if run.Masking == nil {
		return nil, &PermanentError{Message: "checkMasking ran before startMasking"}
	}
	c, err := s.dcsClient(ctx, run)
	if err != nil {
		return nil, err
	}
	m := *run.Masking
	m.Polls++
	if m.ExecutionID == "" { // the baseline was taken by the last poll
		if _, err := baselineOf(run); err != nil {
			return nil, err
		}
		m.Redrive, m.WaitSeconds = redrive, run.Plan.PollIntervals.MaskingSeconds
		return s.startJob(ctx, c, run, &m)
	}
	m.WaitSeconds = backoff(m.WaitSeconds, run.Plan.PollIntervals.MaxMaskingSeconds)
	ex, err := c.Execution(ctx, m.ExecutionID)
	if err != nil {
		return nil, classify("read the DCS masking execution", err)
	}
	m.Status = string(ex.Status)
	if m.Polls == 1 || ex.Status.Done() {
		s.noteOtherExecutions(ctx, c, run, &m)
	}
	switch {
	case ex.Status.Succeeded():
		m.Done = true
		if m.Baseline != nil {
			b := *m.Baseline
			b.IDs = nil // no step needs them any more
			m.Baseline = &b
		}
	case ex.Status.Done() && redrive > m.Redrive:
		b, err := s.takeBaseline(ctx, c, run)
		if err != nil {
			return nil, err
		}
		return &Masking{Baseline: b, Replaced: ex.ID, Redrive: redrive, Polls: m.Polls, WaitSeconds: run.Plan.PollIntervals.MaskingSeconds}, nil
	case ex.Status.Done():
		return nil, &MaskingFailed{Message: fmt.Sprintf("DCS masking execution %s ended %s; the sandbox's users stay dropped", ex.ID, ex.Status)}
	}
	return &m, nil
}

// noteOtherExecutions logs, and counts in the metrics, the executions of
// the job started after the baseline when there is more than the run's: a
// start DCS committed after the step gave up on it (a second masking job
// on the same data), or someone else's. It only reports: a list that
// fails is logged and the poll goes on.
func (s *Steps) noteOtherExecutions(ctx context.Context, c MaskingJobs, run State, m *Masking) {
	if m.Baseline == nil {
		return
	}
	list, err := c.Executions(ctx, run.Plan.DCS.ComplianceJobID)
	if err != nil {
		s.log().WarnContext(ctx, "could not list the DCS job's executions to look for other starts", "runId", run.RunID, "error", err.Error())
		return
	}
	newer := m.Baseline.newer(list)
	if len(newer) <= 1 {
		return
	}
	ids := make([]string, 0, len(newer))
	for _, e := range newer {
		ids = append(ids, e.ID)
	}
	s.log().WarnContext(ctx, "more than one DCS execution of the job started after the masking baseline: the run polls one; the others are starts committed after the step gave up on them, or someone else's",
		"runId", run.RunID, "executionId", m.ExecutionID, "executions", ids)
	s.metrics().otherExecutions(run, len(newer)-1, s.Now().UTC())
}

// detail is the result as the run's record keeps it: without the
// baseline's ids.
func (m *Masking) detail() any {
	d := *m
	if d.Baseline != nil {
		b := *d.Baseline
		b.IDs = nil
		d.Baseline = &b
	}
	return &d
}

var _ MaskingJobs = (*dcs.Client)(nil)
