package salesforce_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
)

// pollStatuses polls the latest refresh of sandbox at most n times, until it
// is Completed or Failed, and returns each status seen.
func pollStatuses(t *testing.T, c *salesforce.Client, sandbox string, n int) ([]string, salesforce.SandboxProcess) {
	t.Helper()
	var seen []string
	var p salesforce.SandboxProcess
	for range n {
		var err error
		if p, err = c.LatestSandboxProcess(context.Background(), sandbox); err != nil {
			t.Fatalf("LatestSandboxProcess: %v", err)
		}
		seen = append(seen, p.Status)
		if p.Status == salesforce.StatusCompleted || p.Status == salesforce.StatusFailed {
			break
		}
	}
	return seen, p
}

func TestRefreshSandboxEndToEnd(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sfsim.Options{StepPerPoll: true})
	f.sim.AddSandbox("dev", "DEVELOPER")
	f.sim.AddProdUsers(sfsim.User{Username: "alice@acme.example"}, sfsim.User{Username: "bob@acme.example"})
	prod := f.connect(t, integrationUser)

	info, err := prod.FindSandboxInfo(ctx, "dev")
	if err != nil {
		t.Fatalf("FindSandboxInfo: %v", err)
	}
	if info.ID == "" || info.SandboxName != "dev" || info.LicenseType != "DEVELOPER" {
		t.Errorf("FindSandboxInfo = %+v, want an id, name dev, license DEVELOPER", info)
	}
	if err := prod.RefreshSandbox(ctx, info.ID, "DEVELOPER PRO", true, ""); err != nil {
		t.Fatalf("RefreshSandbox: %v", err)
	}

	seen, p := pollStatuses(t, prod, "dev", 10)
	if want := []string{"Processing", "Activating", "Completed"}; !slices.Equal(seen, want) {
		t.Errorf("statuses = %v, want %v", seen, want)
	}
	if p.SandboxInfoID != info.ID || p.SandboxName != "dev" || p.LicenseType != "DEVELOPER PRO" || p.CopyProgress != 100 || !p.AutoActivate {
		t.Errorf("process = %+v, want SandboxInfoId %s, dev, DEVELOPER PRO, 100%%, AutoActivate", p, info.ID)
	}
	if !p.Activated() || p.CreatedDate.IsZero() || p.StartDate.IsZero() || p.EndDate.IsZero() {
		t.Errorf("process dates = created %v, start %v, end %v, activated %v; want all set", p.CreatedDate, p.StartDate, p.EndDate, p.ActivatedDate)
	}
	again, err := prod.FindSandboxInfo(ctx, "DEV") // names compare without case, as in SOQL
	if err != nil {
		t.Fatalf("FindSandboxInfo again: %v", err)
	}
	if again.LicenseType != "DEVELOPER PRO" || !again.AutoActivate {
		t.Errorf("SandboxInfo after the PATCH = %+v, want DEVELOPER PRO and AutoActivate", again)
	}

	sandbox := f.connect(t, integrationUser+".dev")
	if got, want := sandbox.InstanceURL(), f.srv.URL+"/org/sandbox-dev"; got != want {
		t.Errorf("sandbox InstanceURL() = %q, want %q", got, want)
	}
	users, err := sandbox.Users(ctx)
	if err != nil {
		t.Fatalf("Users in the sandbox: %v", err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Username)
		if !strings.HasSuffix(u.Email, ".invalid") {
			t.Errorf("sandbox user %s has e-mail %q, want it suffixed .invalid", u.Username, u.Email)
		}
	}
	if want := []string{integrationUser + ".dev", "alice@acme.example.dev", "bob@acme.example.dev"}; !slices.Equal(names, want) {
		t.Errorf("sandbox users = %v, want %v", names, want)
	}
}

func TestRefreshOutcomes(t *testing.T) {
	tests := []struct {
		name          string
		autoActivate  bool
		fault         func(*sfsim.Sim)
		wantStatuses  []string
		wantActivated bool
		wantSandbox   bool
	}{
		{
			name:         "a refresh with auto-activation passes through Activating and creates the sandbox org",
			autoActivate: true,
			wantStatuses: []string{"Processing", "Activating", "Completed"}, wantActivated: true, wantSandbox: true,
		},
		{
			name:         "a refresh without auto-activation completes but waits to be activated",
			wantStatuses: []string{"Processing", "Completed"},
		},
		{
			name:         "a failing refresh ends Failed and creates no sandbox",
			autoActivate: true,
			fault:        func(s *sfsim.Sim) { s.FailRefresh(true) },
			wantStatuses: []string{"Processing", "Failed"},
		},
		{
			name:         "a stalled refresh stays Processing",
			autoActivate: true,
			fault:        func(s *sfsim.Sim) { s.StallRefresh(true) },
			wantStatuses: []string{"Processing", "Processing", "Processing", "Processing", "Processing"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, sfsim.Options{StepPerPoll: true})
			id := f.sim.AddSandbox("qa", "PARTIAL")
			if tt.fault != nil {
				tt.fault(f.sim)
			}
			c := f.connect(t, integrationUser)
			if err := c.RefreshSandbox(ctx, id, "PARTIAL", tt.autoActivate, ""); err != nil {
				t.Fatalf("RefreshSandbox: %v", err)
			}
			seen, p := pollStatuses(t, c, "qa", 5)
			if !slices.Equal(seen, tt.wantStatuses) {
				t.Errorf("statuses = %v, want %v", seen, tt.wantStatuses)
			}
			if got := p.Activated(); got != tt.wantActivated {
				t.Errorf("Activated() = %v, want %v", got, tt.wantActivated)
			}
			if got := f.sim.SandboxExists("qa"); got != tt.wantSandbox {
				t.Errorf("SandboxExists = %v, want %v", got, tt.wantSandbox)
			}
		})
	}
}

func TestRefreshMovesWithTheClock(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	f := newFixture(t, sfsim.Options{Now: clk.Now, PendingFor: time.Minute, ProcessingFor: time.Hour, ActivatingFor: time.Minute})
	id := f.sim.AddSandbox("uat", "FULL")
	cfg := f.config(integrationUser)
	cfg.Now = clk.Now
	c, err := salesforce.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if err := c.RefreshSandbox(ctx, id, "FULL", true, "01p000000000001AAA"); err != nil {
		t.Fatalf("RefreshSandbox: %v", err)
	}
	steps := []struct {
		after        time.Duration
		wantStatus   string
		wantProgress int
	}{
		{0, "Pending", 0},
		{time.Minute, "Processing", 0},
		{30 * time.Minute, "Processing", 50},
		{30 * time.Minute, "Activating", 100},
		{time.Minute, "Completed", 100},
	}
	for _, s := range steps {
		clk.Advance(s.after)
		p, err := c.LatestSandboxProcess(ctx, "uat")
		if err != nil {
			t.Fatalf("LatestSandboxProcess: %v", err)
		}
		if p.Status != s.wantStatus || p.CopyProgress != s.wantProgress {
			t.Errorf("at %v: status %s %d%%, want %s %d%%", clk.Now().Sub(p.CreatedDate), p.Status, p.CopyProgress, s.wantStatus, s.wantProgress)
		}
	}
	info, err := c.FindSandboxInfo(ctx, "uat")
	if err != nil {
		t.Fatalf("FindSandboxInfo: %v", err)
	}
	if got, want := info.ApexClassID, "01p000000000001AAA"; got != want {
		t.Errorf("ApexClassID = %q, want %q", got, want)
	}
}

func TestRefreshRequestsThatFail(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sfsim.Options{StepPerPoll: true})
	id := f.sim.AddSandbox("dev", "DEVELOPER")
	c := f.connect(t, integrationUser)

	t.Run("an unknown sandbox is not found", func(t *testing.T) {
		_, err := c.FindSandboxInfo(ctx, "nosuch")
		if !errors.Is(err, salesforce.ErrNotFound) || salesforce.IsTransient(err) {
			t.Errorf("FindSandboxInfo error = %v, want a permanent ErrNotFound", err)
		}
	})
	t.Run("a sandbox never refreshed has no process", func(t *testing.T) {
		_, err := c.LatestSandboxProcess(ctx, "dev")
		if !errors.Is(err, salesforce.ErrNotFound) {
			t.Errorf("LatestSandboxProcess error = %v, want ErrNotFound", err)
		}
	})
	t.Run("an unknown license type is a permanent 400", func(t *testing.T) {
		err := c.RefreshSandbox(ctx, id, "HUGE", true, "")
		if e := apiError(t, err); e.Status != 400 || e.Code != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" || salesforce.IsTransient(err) {
			t.Errorf("error = %v, want a permanent 400 INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", err)
		}
	})
	t.Run("a second refresh while one runs is refused", func(t *testing.T) {
		if err := c.RefreshSandbox(ctx, id, "DEVELOPER", true, ""); err != nil {
			t.Fatalf("first RefreshSandbox: %v", err)
		}
		err := c.RefreshSandbox(ctx, id, "DEVELOPER", true, "")
		if e := apiError(t, err); e.Status != 400 {
			t.Errorf("error = %v, want a 400", err)
		}
	})
	t.Run("an unknown SandboxInfo id is a 404", func(t *testing.T) {
		err := c.RefreshSandbox(ctx, "0GQ000000000999AAA", "DEVELOPER", true, "")
		if e := apiError(t, err); e.Status != 404 || salesforce.IsTransient(err) {
			t.Errorf("error = %v, want a permanent 404", err)
		}
	})
}
