package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dcs-access/dcs-access/internal/salesforce"
)

// clockSkew allows for production's clock when matching the copy this run started.
const clockSkew = 5 * time.Minute

// Refresh is the refresh step's result ($.refresh).
type Refresh struct {
	SandboxInfoID string    `json:"sandboxInfoId"`
	ProcessID     string    `json:"processId,omitempty"`
	StartedAt     time.Time `json:"startedAt"`
	Status        string    `json:"status"`
	CopyProgress  int       `json:"copyProgress"`
	Done          bool      `json:"done"`
	WaitSeconds   int       `json:"waitSeconds"`
	Polls         int       `json:"polls"`
}

// startRefresh asks production to refresh the sandbox (PATCH SandboxInfo).
// A retry after a lost response must not refresh twice: a copy that started
// after the run was requested is taken as this run's.
func (s *Steps) startRefresh(ctx context.Context, run State) (*Refresh, error) {
	org, err := s.production(ctx, run)
	if err != nil {
		return nil, err
	}
	info, err := org.FindSandboxInfo(ctx, run.Sandbox)
	if errors.Is(err, salesforce.ErrNotFound) {
		return nil, &PermanentError{Message: fmt.Sprintf("production has no sandbox named %s", run.Sandbox)}
	}
	if err != nil {
		return nil, classify("find the sandbox", err)
	}
	result := &Refresh{SandboxInfoID: info.ID, StartedAt: s.Now().UTC(), Status: salesforce.StatusPending,
		WaitSeconds: run.Plan.PollIntervals.RefreshSeconds}
	if p, err := org.LatestSandboxProcess(ctx, run.Sandbox); err == nil && s.ours(run, p) {
		result.ProcessID, result.Status = p.ID, p.Status
		return result, nil
	} else if err != nil && !errors.Is(err, salesforce.ErrNotFound) {
		return nil, classify("read the sandbox's copies", err)
	}
	p := run.Plan
	if err := org.RefreshSandbox(ctx, info.ID, p.LicenseType, p.AutoActivate, p.ApexClassID); err != nil {
		return nil, classify("start the refresh", err)
	}
	return result, nil
}

// ours reports whether a copy was started by this run.
func (s *Steps) ours(run State, p salesforce.SandboxProcess) bool {
	return !p.CreatedDate.Before(run.RequestedAt.Add(-clockSkew))
}

// checkRefresh polls the copy until it is completed and activated.
func (s *Steps) checkRefresh(ctx context.Context, run State) (*Refresh, error) {
	if err := s.pastDeadline(run); err != nil {
		return nil, err
	}
	if run.Refresh == nil {
		return nil, &PermanentError{Message: "checkRefresh ran before startRefresh"}
	}
	org, err := s.production(ctx, run)
	if err != nil {
		return nil, err
	}
	r := *run.Refresh
	r.Polls++
	r.WaitSeconds = backoff(r.WaitSeconds, run.Plan.PollIntervals.MaxRefreshSeconds)
	p, err := org.LatestSandboxProcess(ctx, run.Sandbox)
	if errors.Is(err, salesforce.ErrNotFound) {
		return &r, nil // the copy is not visible yet
	}
	if err != nil {
		return nil, classify("read the sandbox copy", err)
	}
	if !s.ours(run, p) {
		return &r, nil // still the previous copy: ours has not appeared yet
	}
	r.ProcessID, r.Status, r.CopyProgress = p.ID, p.Status, p.CopyProgress
	switch p.Status {
	case salesforce.StatusFailed, salesforce.StatusDeleted, salesforce.StatusDiscarding:
		return nil, &RefreshFailed{Message: fmt.Sprintf("the copy of sandbox %s ended %s", run.Sandbox, p.Status)}
	case salesforce.StatusCompleted:
		// Users can be dropped only once the new copy is the sandbox in use.
		r.Done = p.Activated()
	}
	return &r, nil
}
