package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/salesforce"
)

// activationWaitSeconds is the wait while the pipeline's own activation of
// a copy runs: activation takes minutes, and the sandbox is reachable, its
// users still active, from the moment it ends.
const activationWaitSeconds = 15

// Refresh is the refresh step's result ($.refresh).
type Refresh struct {
	SandboxInfoID string `json:"sandboxInfoId"`
	// BaselineProcessID is the sandbox's newest SandboxProcess before this
	// run asked for a copy ("" if it had none): the run's own copy is the
	// first one newer than it, so a run never takes over a copy that it did
	// not start.
	BaselineProcessID string `json:"baselineProcessId,omitempty"`
	// The ids of the records the plan names, as production had them when
	// the run started.
	ApexClassID           string `json:"apexClassId,omitempty"`
	SourceID              string `json:"sourceId,omitempty"`
	ActivationUserGroupID string `json:"activationUserGroupId,omitempty"`

	ProcessID    string    `json:"processId,omitempty"`
	StartedAt    time.Time `json:"startedAt"`
	Status       string    `json:"status"`
	CopyProgress int       `json:"copyProgress"`
	// CopyStartedAt is when Salesforce began copying (SandboxProcess.StartDate).
	CopyStartedAt *time.Time `json:"copyStartedAt,omitempty"`
	// ActivationRequestedAt is when the pipeline activated a copy that
	// waited in Pending Activation (the plan's autoActivate false).
	ActivationRequestedAt *time.Time `json:"activationRequestedAt,omitempty"`
	// ActivatedAt is when the copy replaced the sandbox: its data is
	// reachable from then on.
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
	Done        bool       `json:"done"`
	WaitSeconds int        `json:"waitSeconds"`
	Polls       int        `json:"polls"`
}

// prepareRefresh finds the sandbox and what the plan names, checks that
// Salesforce will refresh it now, and records the sandbox's newest copy. It
// changes nothing, so Step Functions may retry it freely.
func (s *Steps) prepareRefresh(ctx context.Context, run State) (*Refresh, error) {
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
	r := &Refresh{SandboxInfoID: info.ID, StartedAt: s.Now().UTC(), WaitSeconds: run.Plan.PollIntervals.RefreshSeconds}
	if r.ApexClassID, r.SourceID, r.ActivationUserGroupID, err = resolveNames(ctx, org, run.Plan); err != nil {
		return nil, err
	}
	latest, err := org.LatestSandboxProcess(ctx, run.Sandbox)
	switch {
	case errors.Is(err, salesforce.ErrNotFound):
		return r, nil
	case err != nil:
		return nil, classify("read the sandbox's copies", err)
	}
	r.BaselineProcessID = latest.ID
	switch {
	case latest.Status == salesforce.StatusPendingActivation:
		return nil, &RefreshFailed{Message: fmt.Sprintf("sandbox %s has a copy waiting for activation (requested %s) that this run did not start: activate or discard it in Setup, then start a new run",
			run.Sandbox, latest.CreatedDate.UTC().Format(time.RFC3339))}
	case inProgress(latest.Status):
		return nil, &RefreshFailed{Message: fmt.Sprintf("sandbox %s is already being copied (status %s, requested %s): a run never takes over a copy it did not start; start a new run when that copy has ended",
			run.Sandbox, latest.Status, latest.CreatedDate.UTC().Format(time.RFC3339))}
	}
	interval := s.refreshInterval(info.LicenseType)
	if next := latest.CreatedDate.Add(interval); latest.Status == salesforce.StatusCompleted && s.Now().Before(next) {
		return nil, &RefreshFailed{Message: fmt.Sprintf("Salesforce refreshes a %s sandbox at most once every %s: %s was last refreshed at %s, so the next refresh is allowed after %s (UTC)",
			info.LicenseType, days(interval), run.Sandbox, latest.CreatedDate.UTC().Format("Jan 2, 2006 15:04"), next.UTC().Format("Jan 2, 2006 15:04"))}
	}
	return r, nil
}

// resolveNames looks up the ids of the records the plan names in production.
// A name that names nothing is permanent: someone must fix the plan or the org.
func resolveNames(ctx context.Context, org Org, p plans.Plan) (apexClassID, sourceID, groupID string, err error) {
	look := func(field, what, name string, find func() (string, error)) (string, error) {
		if name == "" {
			return "", nil
		}
		id, err := find()
		switch {
		case errors.Is(err, salesforce.ErrNotFound):
			return "", &PermanentError{Message: fmt.Sprintf("the plan's %s names %s %q, which production does not have", field, what, name)}
		case errors.Is(err, salesforce.ErrAmbiguous):
			return "", &PermanentError{Message: fmt.Sprintf("the plan's %s names %s %q, and production has more than one of that name", field, what, name)}
		case err != nil:
			return "", classify("look up "+what+" "+name, err)
		}
		return id, nil
	}
	if apexClassID, err = look("apexClassName", "the Apex class", p.ApexClassName, func() (string, error) { return org.ApexClassID(ctx, p.ApexClassName) }); err != nil {
		return
	}
	if sourceID, err = look("sourceSandbox", "the sandbox", p.SourceSandbox, func() (string, error) {
		info, err := org.FindSandboxInfo(ctx, p.SourceSandbox)
		return info.ID, err
	}); err != nil {
		return
	}
	groupID, err = look("activationUserGroup", "the public group", p.ActivationUserGroup, func() (string, error) { return org.PublicGroupID(ctx, p.ActivationUserGroup) })
	return
}

func days(d time.Duration) string {
	if n := int(d / (24 * time.Hour)); n != 1 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", n)
	} else if n == 1 && d%(24*time.Hour) == 0 {
		return "day"
	}
	return d.String()
}

func (s *Steps) refreshInterval(license string) time.Duration {
	if s.RefreshInterval != nil {
		return s.RefreshInterval(license)
	}
	return salesforce.RefreshInterval(license)
}

// startRefresh asks production to refresh the sandbox (PATCH SandboxInfo),
// unless a retry finds the copy an earlier attempt started: one newer than
// the baseline prepareRefresh recorded.
func (s *Steps) startRefresh(ctx context.Context, run State) (*Refresh, error) {
	if run.Refresh == nil || run.Refresh.SandboxInfoID == "" {
		return nil, &PermanentError{Message: "startRefresh ran before prepareRefresh"}
	}
	org, err := s.production(ctx, run)
	if err != nil {
		return nil, err
	}
	r := *run.Refresh
	if p, ok, err := ownCopy(ctx, org, run.Sandbox, r.BaselineProcessID); err != nil {
		return nil, err
	} else if ok {
		r.follow(p)
		return &r, nil
	}
	p := run.Plan
	opts := salesforce.RefreshOptions{
		LicenseType: p.LicenseType, AutoActivate: p.AutoActivate, ApexClassID: r.ApexClassID,
		Description: p.Description, HistoryDays: p.HistoryDays, CopyChatter: p.CopyChatter,
		SourceID: r.SourceID, ActivationUserGroupID: r.ActivationUserGroupID,
	}
	if err := org.RefreshSandbox(ctx, r.SandboxInfoID, opts); err != nil {
		return nil, classify("start the refresh", err)
	}
	r.Status = salesforce.StatusPending
	if p, ok, err := ownCopy(ctx, org, run.Sandbox, r.BaselineProcessID); err == nil && ok {
		r.follow(p)
	} // else checkRefresh finds it
	return &r, nil
}

// ownCopy returns the sandbox's newest copy if it is newer than baseline.
func ownCopy(ctx context.Context, org Org, sandbox, baseline string) (salesforce.SandboxProcess, bool, error) {
	p, err := org.LatestSandboxProcess(ctx, sandbox)
	switch {
	case errors.Is(err, salesforce.ErrNotFound):
		return p, false, nil
	case err != nil:
		return p, false, classify("read the sandbox's copies", err)
	}
	return p, p.ID != baseline, nil
}

func (r *Refresh) follow(p salesforce.SandboxProcess) {
	r.ProcessID, r.Status, r.CopyProgress = p.ID, p.Status, p.CopyProgress
	if !p.StartDate.IsZero() {
		at := p.StartDate.UTC()
		r.CopyStartedAt = &at
	}
}

// inProgress reports whether a copy in this status is still under way.
func inProgress(status string) bool {
	switch status {
	case salesforce.StatusPending, salesforce.StatusProcessing, salesforce.StatusSampling,
		salesforce.StatusPendingActivation, salesforce.StatusActivating,
		salesforce.StatusActivationConfirmed, salesforce.StatusActivationProcessing:
		return true
	}
	return false
}

// endedWithoutCopy reports whether a copy in this status will never
// become the sandbox: it was stopped, suspended, discarded or deleted.
func endedWithoutCopy(status string) bool {
	switch status {
	case salesforce.StatusStopped, salesforce.StatusSuspended, salesforce.StatusDeleting,
		salesforce.StatusDeleted, salesforce.StatusDiscarding:
		return true
	}
	return false
}

// checkRefresh polls the run's copy until it is completed and activated. A
// copy that waits in Pending Activation is activated here: that is the
// moment its data becomes reachable, so the run drops users right after.
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
	now := s.Now().UTC()
	var p salesforce.SandboxProcess
	if r.ProcessID == "" {
		var ok bool
		if p, ok, err = ownCopy(ctx, org, run.Sandbox, r.BaselineProcessID); err != nil || !ok {
			r.WaitSeconds = s.refreshWait(r, run, now)
			return &r, err // the copy is not visible yet
		}
	} else if p, err = org.SandboxProcess(ctx, r.ProcessID); errors.Is(err, salesforce.ErrNotFound) {
		return nil, &RefreshFailed{Message: fmt.Sprintf("the copy %s of sandbox %s no longer exists", r.ProcessID, run.Sandbox)}
	} else if err != nil {
		return nil, classify("read the sandbox copy", err)
	}
	r.follow(p)
	switch {
	case endedWithoutCopy(p.Status):
		return nil, &RefreshFailed{Message: fmt.Sprintf("the copy of sandbox %s ended %s", run.Sandbox, p.Status)}
	case p.Status == salesforce.StatusPendingActivation:
		if err := s.activate(ctx, org, &r); err != nil {
			return nil, err
		}
	case p.Status == salesforce.StatusCompleted && p.Activated():
		// Users can be dropped only once the new copy is the sandbox in use.
		at := p.ActivatedDate.UTC()
		r.Done, r.ActivatedAt = true, &at
	case p.Status == salesforce.StatusActivating:
	case !inProgress(p.Status) && p.Status != salesforce.StatusCompleted:
		// A status this pipeline does not know: keep polling, and say so.
		s.log().WarnContext(ctx, "sandbox copy in an unknown status: polling on", "runId", run.RunID, "sandbox", run.Sandbox, "processId", p.ID, "status", p.Status)
	}
	r.WaitSeconds = s.refreshWait(r, run, now)
	return &r, nil
}

// Polling the copy (docs/pipeline.md): the waits double from the plan's
// first to its largest, so that a long copy costs few polls, but near the
// copy's end they shorten to nearEndSeconds, so that its end, when the
// sandbox becomes reachable, is seen within a minute.
const (
	nearEndSeconds = 30
	// PollBudget is the most polls of one phase a run may make: each adds
	// about 9 events to the execution's history, which holds 25,000 at
	// most. A plan's largest wait keeps a run within it over its whole
	// timeout (plans' historyBudget); the polls it leaves are what near-end
	// polling may spend.
	PollBudget = 1200
)

// refreshWait is the wait after poll r.Polls of the copy, at now: the
// doubling wait, or nearEndSeconds when Salesforce is activating the copy or
// its progress says it ends within a minute or two, as long as the polls
// left allow for the rest of the run at the largest wait.
func (s *Steps) refreshWait(r Refresh, run State, now time.Time) int {
	largest := run.Plan.PollIntervals.MaxRefreshSeconds
	wait := backoff(r.WaitSeconds, largest)
	if s.fixedBackoff || r.Done {
		return wait
	}
	activating := r.Status == salesforce.StatusActivating || r.Status == salesforce.StatusActivationConfirmed || r.Status == salesforce.StatusActivationProcessing
	near := wait
	switch {
	case activating && r.ActivationRequestedAt != nil:
		near = activationWaitSeconds // the pipeline's own activation: the users go the moment it ends
	case activating:
		near = nearEndSeconds
	case r.CopyProgress > 0 && r.CopyProgress < 100 && r.CopyStartedAt != nil:
		// Copies progress about evenly: what is left takes as long again,
		// in proportion. Poll at half of that, not below nearEndSeconds.
		elapsed := now.Sub(*r.CopyStartedAt)
		left := elapsed * time.Duration(100-r.CopyProgress) / time.Duration(r.CopyProgress)
		near = min(wait, max(nearEndSeconds, int(left.Seconds()/2)))
	}
	if near >= wait {
		return wait
	}
	rest := 0
	if !run.Deadline.IsZero() {
		rest = int(math.Ceil(run.Deadline.Sub(now).Seconds() / float64(largest)))
	}
	if PollBudget-r.Polls-rest <= 0 {
		return wait // no poll to spare: the rest of the run needs them
	}
	return near
}

// activate activates the copy that waits for it, and polls quickly until the
// activation ends. A copy that moved on meanwhile (someone activated it in
// Setup) is no fault.
func (s *Steps) activate(ctx context.Context, org Org, r *Refresh) error {
	if err := org.ActivateSandbox(ctx, r.ProcessID); err != nil {
		if again, rerr := org.SandboxProcess(ctx, r.ProcessID); rerr == nil && again.Status != salesforce.StatusPendingActivation {
			r.follow(again)
			return nil
		}
		return classify("activate the sandbox copy", err)
	}
	now := s.Now().UTC()
	r.Status, r.ActivationRequestedAt, r.WaitSeconds = salesforce.StatusActivating, &now, activationWaitSeconds
	return nil
}
