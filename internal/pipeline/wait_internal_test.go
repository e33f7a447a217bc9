package pipeline

import (
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/salesforce"
)

func TestRefreshWaits(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	started := now.Add(-2 * time.Hour)
	run := State{Input: runs.Input{Deadline: now.Add(70 * time.Hour), Plan: plans.Plan{PollIntervals: plans.PollIntervals{RefreshSeconds: 300, MaxRefreshSeconds: 600}}}}
	s := &Steps{}
	for _, c := range []struct {
		name string
		r    Refresh
		want int
	}{
		{"no progress yet: the doubling wait", Refresh{Status: "Processing", WaitSeconds: 300, CopyStartedAt: &started}, 600},
		{"half way after two hours: two hours left, the doubling wait", Refresh{Status: "Processing", CopyProgress: 50, WaitSeconds: 600, CopyStartedAt: &started}, 600},
		{"99 % after two hours: about a minute left, poll at 36 s", Refresh{Status: "Processing", CopyProgress: 99, WaitSeconds: 600, CopyStartedAt: &started}, 36},
		{"Salesforce activating: every 30 s", Refresh{Status: salesforce.StatusActivating, CopyProgress: 100, WaitSeconds: 600}, nearEndSeconds},
		{"no polls to spare for the rest of the run: the doubling wait", Refresh{Status: salesforce.StatusActivating, WaitSeconds: 600, Polls: PollBudget - 100}, 600},
		{"the pipeline's own activation: every 15 s", Refresh{Status: salesforce.StatusActivating, WaitSeconds: 15, ActivationRequestedAt: &now}, activationWaitSeconds},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := s.refreshWait(c.r, run, now); got != c.want {
				t.Fatalf("got %d s, want %d s", got, c.want)
			}
		})
	}
	fixed := &Steps{fixedBackoff: true}
	if got := fixed.refreshWait(Refresh{Status: salesforce.StatusActivating, WaitSeconds: 600}, run, now); got != 600 {
		t.Fatalf("the fixed backoff: got %d s, want 600", got)
	}
}
