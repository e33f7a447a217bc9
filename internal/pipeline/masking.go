package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/dcs-access/dcs-access/internal/dcs"
)

// Masking is the masking step's result ($.masking).
type Masking struct {
	ExecutionID string `json:"executionId"`
	Status      string `json:"status"`
	Done        bool   `json:"done"`
	WaitSeconds int    `json:"waitSeconds"`
	Polls       int    `json:"polls"`
	// Redrive is the execution's redrive count when this DCS execution started.
	Redrive int `json:"redrive"`
}

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

// startMasking starts the plan's DCS compliance job on the sandbox, unless
// an earlier attempt of this step started it already.
func (s *Steps) startMasking(ctx context.Context, run State, redrive int) (*Masking, error) {
	since, err := activatedAt(run)
	if err != nil {
		return nil, err
	}
	c, err := s.dcsClient(ctx, run)
	if err != nil {
		return nil, err
	}
	return s.startJob(ctx, c, run, redrive, since, "")
}

// activatedAt is when the run's copy replaced the sandbox: an execution of
// the job started since then masks the data this run must mask.
func activatedAt(run State) (time.Time, error) {
	if run.Refresh == nil || run.Refresh.ActivatedAt == nil {
		return time.Time{}, &PermanentError{Message: "masking was asked for before the sandbox's copy was activated"}
	}
	return *run.Refresh.ActivatedAt, nil
}

// startJob starts the plan's compliance job, or takes the execution of it
// that this attempt already started. DCS documents no idempotency key, so a
// start whose answer was lost (a timeout, a dropped connection) is found by
// listing the job's executions before asking for one; a retry never starts
// a second masking job on the same data. See ownExecution for which one is
// taken.
func (s *Steps) startJob(ctx context.Context, c MaskingJobs, run State, redrive int, since time.Time, replaced string) (*Masking, error) {
	jobID := run.Plan.DCS.ComplianceJobID
	list, err := c.Executions(ctx, jobID)
	if err != nil {
		return nil, classify("list the DCS compliance job's executions", err)
	}
	ex, found, err := ownExecution(list, since, replaced)
	if err != nil {
		return nil, err
	}
	if found {
		s.log().InfoContext(ctx, "a DCS execution of the job started since the copy was activated: taking it rather than starting another",
			"runId", run.RunID, "executionId", ex.ID, "status", ex.Status, "startedAt", ex.StartedAt)
	} else if ex, err = c.StartExecution(ctx, jobID); err != nil {
		return nil, classify("start the DCS compliance job", err)
	}
	return &Masking{ExecutionID: ex.ID, Status: string(ex.Status), WaitSeconds: run.Plan.PollIntervals.MaskingSeconds, Redrive: redrive}, nil
}

// ownExecution picks, from a job's executions, the one this attempt takes:
// the first to start at or after since, other than replaced (the failed
// execution a redrive replaces). since is compared to the second, as DCS
// may give whole seconds. Whoever started it, such an execution masks the
// copy the run must mask, and if it fails the run fails as with its own.
//
// An execution in progress without a start time cannot be placed: it may be
// this attempt's, so it is a TransientError (retried; it gets a start time
// once it runs) rather than a second job. A finished one without a start
// time is left aside: whatever it was, it no longer masks anything.
func ownExecution(list []dcs.Execution, since time.Time, replaced string) (dcs.Execution, bool, error) {
	since = since.Truncate(time.Second)
	var own dcs.Execution
	found := false
	for _, e := range list {
		switch {
		case e.ID == replaced:
		case e.StartedAt.IsZero() && !e.Status.Done():
			return dcs.Execution{}, false, &TransientError{Message: fmt.Sprintf(
				"DCS lists execution %s of the compliance job, %s, without a start time: it may be the one this step started, so no other is started until it can be told apart", e.ID, e.Status)}
		case e.StartedAt.IsZero(), e.StartedAt.Before(since):
		case !found || e.StartedAt.Before(own.StartedAt):
			own, found = e, true
		}
	}
	return own, found, nil
}

// checkMasking polls the masking execution. Only SUCCEEDED lets the run go
// on to recreate users; FAILED and CANCELLED fail the run with users dropped.
// A failed DCS execution cannot succeed on a second look: when the run was
// redriven since it started (someone fixed the job), a new one is started.
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
	m.WaitSeconds = backoff(m.WaitSeconds, run.Plan.PollIntervals.MaxMaskingSeconds)
	ex, err := c.Execution(ctx, m.ExecutionID)
	if err != nil {
		return nil, classify("read the DCS masking execution", err)
	}
	m.Status = string(ex.Status)
	switch {
	case ex.Status.Succeeded():
		m.Done = true
	case ex.Status.Done() && redrive > m.Redrive:
		// The new execution is one started after the failed one.
		since, err := activatedAt(run)
		if err != nil {
			return nil, err
		}
		if ex.StartedAt.After(since) {
			since = ex.StartedAt
		}
		return s.startJob(ctx, c, run, redrive, since, ex.ID)
	case ex.Status.Done():
		return nil, &MaskingFailed{Message: fmt.Sprintf("DCS masking execution %s ended %s; the sandbox's users stay dropped", ex.ID, ex.Status)}
	}
	return &m, nil
}

var _ MaskingJobs = (*dcs.Client)(nil)
