package pipeline

import (
	"context"
	"fmt"

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

// startMasking starts the plan's DCS compliance job on the sandbox.
func (s *Steps) startMasking(ctx context.Context, run State, redrive int) (*Masking, error) {
	c, err := s.dcsClient(ctx, run)
	if err != nil {
		return nil, err
	}
	return s.startJob(ctx, c, run, redrive)
}

func (s *Steps) startJob(ctx context.Context, c MaskingJobs, run State, redrive int) (*Masking, error) {
	// One key per run and redrive: a retried start returns the job it started.
	key := fmt.Sprintf("%s-%d", run.RunID, redrive)
	ex, err := c.StartExecutionOnce(ctx, run.Plan.DCS.ComplianceJobID, key)
	if err != nil {
		return nil, classify("start the DCS compliance job", err)
	}
	return &Masking{ExecutionID: ex.ID, Status: string(ex.Status), WaitSeconds: run.Plan.PollIntervals.MaskingSeconds, Redrive: redrive}, nil
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
		return s.startJob(ctx, c, run, redrive)
	case ex.Status.Done():
		return nil, &MaskingFailed{Message: fmt.Sprintf("DCS masking execution %s ended %s; the sandbox's users stay dropped", ex.ID, ex.Status)}
	}
	return &m, nil
}

var _ MaskingJobs = (*dcs.Client)(nil)
