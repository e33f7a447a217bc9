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
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// pollStatuses polls the latest refresh of sandbox at most n times, until it
// is Completed or waits for activation, and returns each status seen.
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
		if p.Status == salesforce.StatusCompleted || p.Status == salesforce.StatusPendingActivation {
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
	group := f.sim.AddPublicGroup("Sandbox testers", "alice@acme.example")
	prod := f.connect(t, integrationUser)

	info, err := prod.FindSandboxInfo(ctx, "dev")
	if err != nil {
		t.Fatalf("FindSandboxInfo: %v", err)
	}
	if info.ID == "" || info.SandboxName != "dev" || info.LicenseType != "DEVELOPER" {
		t.Errorf("FindSandboxInfo = %+v, want an id, name dev, license DEVELOPER", info)
	}
	opts := salesforce.RefreshOptions{LicenseType: "DEVELOPER PRO", AutoActivate: true, Description: "nightly", ActivationUserGroupID: group}
	if err := prod.RefreshSandbox(ctx, info.ID, opts); err != nil {
		t.Fatalf("RefreshSandbox: %v", err)
	}

	seen, p := pollStatuses(t, prod, "dev", 10)
	if want := []string{"Processing", "Activating", "Completed"}; !slices.Equal(seen, want) {
		t.Errorf("statuses = %v, want %v", seen, want)
	}
	if p.SandboxInfoID != info.ID || p.SandboxName != "dev" || p.LicenseType != "DEVELOPER_PRO" || p.CopyProgress != 100 || !p.AutoActivate {
		t.Errorf("process = %+v, want SandboxInfoId %s, dev, DEVELOPER_PRO, 100%%, AutoActivate", p, info.ID)
	}
	if !p.Activated() || p.CreatedDate.IsZero() || p.StartDate.IsZero() || p.EndDate.IsZero() {
		t.Errorf("process dates = created %v, start %v, end %v, activated %v; want all set", p.CreatedDate, p.StartDate, p.EndDate, p.ActivatedDate)
	}
	again, err := prod.FindSandboxInfo(ctx, "DEV") // names compare without case, as in SOQL
	if err != nil {
		t.Fatalf("FindSandboxInfo again: %v", err)
	}
	if again.LicenseType != "DEVELOPER_PRO" || !again.AutoActivate || again.Description != "nightly" || again.ActivationUserGroupID != group {
		t.Errorf("SandboxInfo after the PATCH = %+v, want DEVELOPER_PRO, AutoActivate, the description and the group", again)
	}

	// Selective sandbox access: the group's members and the user who asked
	// for the copy keep their addresses; everyone else's end .invalid and
	// they start frozen.
	sandbox := f.connect(t, integrationUser+".dev")
	if got, want := sandbox.InstanceURL(), f.srv.URL+"/org/sandbox-dev"; got != want {
		t.Errorf("sandbox InstanceURL() = %q, want %q", got, want)
	}
	users, err := sandbox.Users(ctx)
	if err != nil {
		t.Fatalf("Users in the sandbox: %v", err)
	}
	logins, err := sandbox.AllUserLogins(ctx)
	if err != nil {
		t.Fatalf("AllUserLogins: %v", err)
	}
	var got []string
	for _, u := range users {
		got = append(got, u.Username+" "+u.Email+" frozen="+map[bool]string{true: "yes", false: "no"}[logins[u.ID].IsFrozen])
	}
	want := []string{
		integrationUser + ".dev " + integrationUser + " frozen=no",
		"alice@acme.example.dev alice@acme.example frozen=no",
		"bob@acme.example.dev bob@acme.example.invalid frozen=yes",
	}
	if !slices.Equal(got, want) {
		t.Errorf("sandbox users = %q, want %q", got, want)
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
			name:         "a Partial Copy refresh with auto-activation samples, activates and creates the sandbox org",
			autoActivate: true,
			wantStatuses: []string{"Processing", "Sampling", "Activating", "Completed"}, wantActivated: true, wantSandbox: true,
		},
		{
			name:         "a refresh without auto-activation waits in Pending Activation",
			wantStatuses: []string{"Processing", "Sampling", "Pending Activation"},
		},
		{
			name:         "a copy that is stopped ends Stopped and creates no sandbox",
			autoActivate: true,
			fault:        func(s *sfsim.Sim) { s.EndRefreshWith(sfsim.StatusStopped) },
			wantStatuses: []string{"Processing", "Sampling", "Stopped", "Stopped", "Stopped"},
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
			if err := c.RefreshSandbox(ctx, id, salesforce.RefreshOptions{LicenseType: "PARTIAL", AutoActivate: tt.autoActivate}); err != nil {
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

func TestACopyWaitingForActivationIsActivatedThroughRefreshAction(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sfsim.Options{StepPerPoll: true})
	id := f.sim.AddSandbox("uat", "FULL")
	c := f.connect(t, integrationUser)
	if err := c.RefreshSandbox(ctx, id, salesforce.RefreshOptions{LicenseType: "FULL"}); err != nil {
		t.Fatalf("RefreshSandbox: %v", err)
	}
	first, err := c.LatestSandboxProcess(ctx, "uat")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ActivateSandbox(ctx, first.ID); err == nil {
		t.Fatal("ActivateSandbox of a copy still Pending succeeded, want a 400: only Pending Activation copies can be activated")
	}
	_, p := pollStatuses(t, c, "uat", 5)
	if p.Status != salesforce.StatusPendingActivation || f.sim.SandboxExists("uat") {
		t.Fatalf("got %s (sandbox exists: %v), want Pending Activation and no sandbox yet", p.Status, f.sim.SandboxExists("uat"))
	}
	if err := c.ActivateSandbox(ctx, p.ID); err != nil {
		t.Fatalf("ActivateSandbox: %v", err)
	}
	seen, p := pollStatuses(t, c, "uat", 5) // ACTIVATE set it Activating; each read moves it on
	if want := []string{"Completed"}; !slices.Equal(seen, want) || !p.Activated() || !f.sim.SandboxExists("uat") {
		t.Fatalf("after ACTIVATE: statuses %v, activated %v; want %v, activated, and the sandbox", seen, p.Activated(), want)
	}
	byID, err := c.SandboxProcess(ctx, p.ID)
	if err != nil || byID != p {
		t.Fatalf("SandboxProcess(%s) = %+v, %v; want %+v", p.ID, byID, err, p)
	}
	if got := f.sim.SandboxProcesses("uat")[0].RefreshAction; got != "ACTIVATE" {
		t.Errorf("RefreshAction = %q, want ACTIVATE", got)
	}
}

func TestRefreshMovesWithTheClock(t *testing.T) {
	ctx := context.Background()
	clk := testenv.NewClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)) // the simulator's and the client's
	f := newFixture(t, sfsim.Options{Now: clk.Now, PendingFor: time.Minute, ProcessingFor: time.Hour, ActivatingFor: time.Minute})
	id := f.sim.AddSandbox("uat", "FULL")
	apex := f.sim.AddApexClass("PrepareSandbox", "")
	cfg := f.config(integrationUser)
	cfg.Now = clk.Now
	c, err := salesforce.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if err := c.RefreshSandbox(ctx, id, salesforce.RefreshOptions{LicenseType: "FULL", AutoActivate: true, ApexClassID: apex, HistoryDays: 30, CopyChatter: true}); err != nil {
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
		clk.Add(s.after)
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
	if info.ApexClassID != apex || info.HistoryDays != 30 || !info.CopyChatter {
		t.Errorf("SandboxInfo = %+v, want Apex class %s, 30 history days and Chatter", info, apex)
	}
	// Salesforce's refresh interval: a Full sandbox again after 29 days.
	err = c.RefreshSandbox(ctx, id, salesforce.RefreshOptions{LicenseType: "FULL", AutoActivate: true})
	if e := apiError(t, err); e.Status != 400 || salesforce.IsTransient(err) {
		t.Errorf("a refresh the next minute: %v, want a permanent 400", err)
	}
	clk.Add(salesforce.RefreshInterval("FULL"))
	if err := c.RefreshSandbox(ctx, id, salesforce.RefreshOptions{LicenseType: "FULL", AutoActivate: true}); err != nil {
		t.Errorf("a refresh 29 days later: %v", err)
	}
}

func TestLookUpsByName(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sfsim.Options{})
	own := f.sim.AddApexClass("PrepareSandbox", "")
	f.sim.AddApexClass("PrepareSandbox", "vendor") // a managed package's class of the same name
	group := f.sim.AddPublicGroup("Sandbox testers")
	f.sim.AddPublicGroup("Twins")
	f.sim.AddPublicGroup("Twins")
	c := f.connect(t, integrationUser)
	if id, err := c.ApexClassID(ctx, "preparesandbox"); err != nil || id != own {
		t.Errorf("ApexClassID = %q, %v; want the org's own class %s", id, err, own)
	}
	if _, err := c.ApexClassID(ctx, "Missing"); !errors.Is(err, salesforce.ErrNotFound) {
		t.Errorf("ApexClassID of a missing class: %v, want ErrNotFound", err)
	}
	if id, err := c.PublicGroupID(ctx, "Sandbox testers"); err != nil || id != group {
		t.Errorf("PublicGroupID = %q, %v; want %s", id, err, group)
	}
	if _, err := c.PublicGroupID(ctx, "Twins"); !errors.Is(err, salesforce.ErrAmbiguous) {
		t.Errorf("PublicGroupID of a name two groups have: %v, want ErrAmbiguous", err)
	}
}

func TestRefreshRequestsThatFail(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sfsim.Options{StepPerPoll: true})
	id := f.sim.AddSandbox("dev", "DEVELOPER")
	group := f.sim.AddPublicGroup("Testers")
	c := f.connect(t, integrationUser)
	dev := salesforce.RefreshOptions{LicenseType: "DEVELOPER", AutoActivate: true, ActivationUserGroupID: group}

	permanent400 := func(t *testing.T, err error, code string) {
		t.Helper()
		if e := apiError(t, err); e.Status != 400 || (code != "" && e.Code != code) || salesforce.IsTransient(err) {
			t.Errorf("error = %v, want a permanent 400 %s", err, code)
		}
	}
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
		opts := dev
		opts.LicenseType = "HUGE"
		permanent400(t, c.RefreshSandbox(ctx, id, opts), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
	})
	t.Run("a Developer sandbox needs an activation user group", func(t *testing.T) {
		opts := dev
		opts.ActivationUserGroupID = ""
		permanent400(t, c.RefreshSandbox(ctx, id, opts), "")
	})
	t.Run("Chatter is copied only to Full sandboxes", func(t *testing.T) {
		opts := dev
		opts.CopyChatter = true
		// Sent only for Full: the client leaves it out for a Developer sandbox.
		if err := c.RefreshSandbox(ctx, id, opts); err != nil {
			t.Fatalf("RefreshSandbox: %v", err)
		}
		if p := f.sim.SandboxProcesses("dev"); p[len(p)-1].CopyChatter {
			t.Error("CopyChatter was sent for a Developer sandbox")
		}
	})
	t.Run("a second refresh while one runs is refused", func(t *testing.T) {
		permanent400(t, c.RefreshSandbox(ctx, id, dev), "")
	})
	t.Run("an unknown SandboxInfo id is a 404", func(t *testing.T) {
		err := c.RefreshSandbox(ctx, "0GQ000000000999AAA", dev)
		if e := apiError(t, err); e.Status != 404 || salesforce.IsTransient(err) {
			t.Errorf("error = %v, want a permanent 404", err)
		}
	})
}

func TestAnotherSandboxIsClonedWithoutALicenseType(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sfsim.Options{StepPerPoll: true})
	source := f.sim.AddSandbox("src", "FULL")
	id := f.sim.AddSandbox("clone", "PARTIAL")
	c := f.connect(t, integrationUser)
	if err := c.RefreshSandbox(ctx, id, salesforce.RefreshOptions{LicenseType: "PARTIAL", SourceID: source, AutoActivate: true}); err != nil {
		t.Fatalf("RefreshSandbox (clone): %v", err)
	}
	p := f.sim.SandboxProcesses("clone")
	if len(p) != 1 || p[0].SourceID != source || p[0].LicenseType != "FULL" {
		t.Fatalf("got %+v, want a clone of src with its license type", p)
	}
	if strings.Contains(p[0].ActivationUserGroupID, "00G") {
		t.Error("a clone got an activation user group")
	}
}
