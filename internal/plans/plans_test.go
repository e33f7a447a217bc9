package plans_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/plans"
)

const secretBase = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dcs-access/acme/"

// validPlan is a complete plan for tenant acme; tests break one field at a time.
func validPlan() plans.Plan {
	p := plans.Plan{
		Sandbox:     "uat1",
		LicenseType: "PARTIAL",
		Salesforce: plans.Salesforce{
			LoginURL: "https://login.salesforce.com", ConsumerKey: "3MVG9consumer",
			Username: "integration@acme.com", PrivateKeySecretARN: secretBase + "sf-key-AbCdEf",
		},
		DCS: plans.DCS{
			BaseURL: "https://dcs.delphix.com", ComplianceJobID: "job-42",
			APITokenSecretARN: secretBase + "dcs-token-AbCdEf", ConnectorUsername: "dcs@acme.com",
		},
		KeepUsers: []string{"admin@acme.com"},
		NonProdUsers: []plans.User{{
			Username: "qa@acme.com.uat1", Email: "qa@acme.com", FirstName: "Quinn", LastName: "Ames",
			Alias: "qames", ProfileName: "Standard User", TimeZone: "America/Los_Angeles",
			Locale: "en_US", EmailEncoding: "UTF-8", Language: "en_US",
		}},
	}
	p.Defaults()
	return p
}

func TestAValidPlanPassesWithItsDefaults(t *testing.T) {
	p := validPlan()
	if err := (plans.Validator{SecretPrefix: "dcs-access/"}).Validate("acme", p); err != nil {
		t.Fatal(err)
	}
	if p.TimeoutHours != 72 || p.Salesforce.SandboxLoginURL != "https://test.salesforce.com" || p.Salesforce.APIVersion != "v62.0" || p.PollIntervals.RefreshSeconds != 300 {
		t.Fatalf("got %+v, want the documented defaults", p)
	}
}

func TestTheSandboxOptionsAnAdminExpects(t *testing.T) {
	for name, mutate := range map[string]func(p *plans.Plan){
		"a Full sandbox with history, Chatter, a description and a post-copy class": func(p *plans.Plan) {
			p.LicenseType, p.HistoryDays, p.CopyChatter, p.Description, p.ApexClassName = "FULL", -1, true, "Refreshed nightly", "PrepareSandbox"
		},
		"a Developer Pro sandbox with its activation user group": func(p *plans.Plan) {
			p.LicenseType, p.ActivationUserGroup = "DEVELOPER PRO", "Sandbox testers"
		},
		"a clone of another sandbox": func(p *plans.Plan) { p.LicenseType, p.SourceSandbox = "", "full1" },
	} {
		t.Run(name, func(t *testing.T) {
			p := validPlan()
			mutate(&p)
			p.Defaults()
			if err := (plans.Validator{SecretPrefix: "dcs-access/"}).Validate("acme", p); err != nil {
				t.Fatal(err)
			}
		})
	}
	p := validPlan()
	p.LicenseType = "DEVELOPER PRO"
	p.ActivationUserGroup = "Testers"
	p.Defaults()
	if p.LicenseType != "DEVELOPER_PRO" {
		t.Errorf("got license type %q, want the reference's spelling DEVELOPER_PRO", p.LicenseType)
	}
}

func TestEveryBadFieldIsA400NamingIt(t *testing.T) {
	tests := []struct {
		field  string
		mutate func(p *plans.Plan)
	}{
		{"sandbox", func(p *plans.Plan) { p.Sandbox = "toolongname1" }},
		{"sandbox", func(p *plans.Plan) { p.Sandbox = "uat-1" }},
		{"licenseType", func(p *plans.Plan) { p.LicenseType = "partial" }},
		{"apexClassName", func(p *plans.Plan) { p.ApexClassName = "Not A Class" }},
		{"description", func(p *plans.Plan) { p.Description = strings.Repeat("x", 1001) }},
		{"historyDays", func(p *plans.Plan) { p.HistoryDays = 15 }},
		{"historyDays", func(p *plans.Plan) { p.HistoryDays = 30 }}, // a Partial Copy sandbox
		{"copyChatter", func(p *plans.Plan) { p.CopyChatter = true }},
		{"sourceSandbox", func(p *plans.Plan) { p.SourceSandbox = "uat1" }},
		{"sourceSandbox", func(p *plans.Plan) { p.SourceSandbox = "no-dashes" }},
		{"licenseType", func(p *plans.Plan) { p.SourceSandbox = "full1" }}, // a clone has its source's license type
		{"activationUserGroup", func(p *plans.Plan) { p.SourceSandbox, p.LicenseType, p.ActivationUserGroup = "full1", "", "Testers" }},
		{"activationUserGroup", func(p *plans.Plan) { p.LicenseType = "DEVELOPER" }},
		{"activationUserGroup", func(p *plans.Plan) { p.LicenseType = "DEVELOPER_PRO" }},
		{"salesforce.loginUrl", func(p *plans.Plan) { p.Salesforce.LoginURL = "http://login.salesforce.com" }},
		{"salesforce.loginUrl", func(p *plans.Plan) { p.Salesforce.LoginURL = "https://evil.example.com" }},
		{"salesforce.loginUrl", func(p *plans.Plan) { p.Salesforce.LoginURL = "http://127.0.0.1:9000" }},
		{"salesforce.sandboxLoginUrl", func(p *plans.Plan) { p.Salesforce.SandboxLoginURL = "https://test.salesforce.com/path" }},
		{"salesforce.audience", func(p *plans.Plan) { p.Salesforce.Audience = "https://acme.my.salesforce.com" }},
		{"salesforce.audience", func(p *plans.Plan) { p.Salesforce.Audience = "http://acme.my.site.com/customers" }},
		{"salesforce.sandboxAudience", func(p *plans.Plan) { p.Salesforce.SandboxAudience = "https://acme--uat1.sandbox.my.salesforce.com" }},
		{"salesforce.consumerKey", func(p *plans.Plan) { p.Salesforce.ConsumerKey = "" }},
		{"salesforce.username", func(p *plans.Plan) { p.Salesforce.Username = "not an address" }},
		{"salesforce.privateKeySecretArn", func(p *plans.Plan) { p.Salesforce.PrivateKeySecretARN = "my-secret" }},
		{"salesforce.privateKeySecretArn", func(p *plans.Plan) {
			p.Salesforce.PrivateKeySecretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dcs-access/globex/sf-key"
		}},
		{"salesforce.apiVersion", func(p *plans.Plan) { p.Salesforce.APIVersion = "v59.0" }},
		{"salesforce.apiVersion", func(p *plans.Plan) { p.Salesforce.APIVersion = "62" }},
		{"dcs.baseUrl", func(p *plans.Plan) { p.DCS.BaseURL = "https://10.0.0.1" }},
		{"dcs.baseUrl", func(p *plans.Plan) { p.DCS.BaseURL = "https://user:pw@dcs.delphix.com" }},
		{"dcs.baseUrl", func(p *plans.Plan) { p.DCS.BaseURL = "ftp://dcs.delphix.com" }},
		{"dcs.complianceJobId", func(p *plans.Plan) { p.DCS.ComplianceJobID = "job 42" }},
		{"dcs.apiTokenSecretArn", func(p *plans.Plan) { p.DCS.APITokenSecretARN = "" }},
		{"dcs.connectorUsername", func(p *plans.Plan) { p.DCS.ConnectorUsername = "" }},
		{"keepUsers[1]", func(p *plans.Plan) { p.KeepUsers = append(p.KeepUsers, "nope") }},
		{"nonProdUsers[0].alias", func(p *plans.Plan) { p.NonProdUsers[0].Alias = "ninechars" }},
		{"nonProdUsers[0].lastName", func(p *plans.Plan) { p.NonProdUsers[0].LastName = "" }},
		{"nonProdUsers[0].email", func(p *plans.Plan) { p.NonProdUsers[0].Email = "x" }},
		{"nonProdUsers[0].profileName", func(p *plans.Plan) { p.NonProdUsers[0].ProfileName = "" }},
		{"nonProdUsers[0].timeZone", func(p *plans.Plan) { p.NonProdUsers[0].TimeZone = "Pacific Time" }},
		{"nonProdUsers[1].username", func(p *plans.Plan) { p.NonProdUsers = append(p.NonProdUsers, p.NonProdUsers[0]) }},
		{"pollIntervals.refreshSeconds", func(p *plans.Plan) { p.PollIntervals.RefreshSeconds = 5 }},
		{"pollIntervals.maxRefreshSeconds", func(p *plans.Plan) { p.PollIntervals.MaxRefreshSeconds = 60 }},
		{"pollIntervals.maxMaskingSeconds", func(p *plans.Plan) { p.PollIntervals.MaxMaskingSeconds = 7200 }},
		{"pollIntervals.maxRefreshSeconds", func(p *plans.Plan) {
			p.PollIntervals.RefreshSeconds, p.PollIntervals.MaxRefreshSeconds = 30, 60 // 72 h of 60 s polls: 4,320 polls
		}},
		{"pollIntervals.maxMaskingSeconds", func(p *plans.Plan) {
			p.PollIntervals.MaskingSeconds, p.PollIntervals.MaxMaskingSeconds = 10, 100
		}},
		{"timeoutHours", func(p *plans.Plan) { p.TimeoutHours = 73 }},
		{"schedule", func(p *plans.Plan) { p.Schedule = "0 2 * * *" }},
		{"schedule", func(p *plans.Plan) { p.Schedule = "cron(0 2 * * *)" }},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("a bad %s is refused", tc.field), func(t *testing.T) {
			p := validPlan()
			tc.mutate(&p)
			err := (plans.Validator{SecretPrefix: "dcs-access/"}).Validate("acme", p)
			e := access.AsError(err)
			if err == nil || e.Kind != access.EINVALID || e.Code != "INVALID_PLAN" || !strings.HasPrefix(e.Message, tc.field+" ") {
				t.Fatalf("got %v, want INVALID_PLAN naming %s", err, tc.field)
			}
		})
	}
}

func TestLoopbackURLsAreAllowedOnlyLocally(t *testing.T) {
	p := validPlan()
	p.Salesforce.LoginURL, p.DCS.BaseURL = "http://127.0.0.1:9000", "http://localhost:9001"
	if err := (plans.Validator{SecretPrefix: "dcs-access/", AllowLoopback: true}).Validate("acme", p); err != nil {
		t.Fatalf("got %v locally, want loopback allowed", err)
	}
	if err := (plans.Validator{SecretPrefix: "dcs-access/"}).Validate("acme", p); err == nil {
		t.Fatal("got loopback accepted in AWS mode")
	}
}

type fakeStore struct {
	PutPlanFn func(ctx context.Context, tenant string, p plans.Plan) (bool, error)
}

func (f fakeStore) PutPlan(ctx context.Context, tenant string, p plans.Plan, _ audit.Event) (bool, error) {
	return f.PutPlanFn(ctx, tenant, p)
}
func (fakeStore) GetPlan(context.Context, string, string) (plans.Plan, error) {
	return plans.Plan{}, nil
}
func (fakeStore) ListPlans(context.Context, string) ([]plans.Plan, error)       { return nil, nil }
func (fakeStore) DeletePlan(context.Context, string, string, audit.Event) error { return nil }

func TestPutStampsTheEditorAndTakesTheSandboxFromThePath(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var stored plans.Plan
	svc := &plans.Service{
		Store:     fakeStore{PutPlanFn: func(_ context.Context, tenant string, p plans.Plan) (bool, error) { stored = p; return true, nil }},
		Schedules: &fakeSchedules{},
		Validator: plans.Validator{SecretPrefix: "dcs-access/"},
		Now:       func() time.Time { return now },
	}
	ada := access.Principal{User: "ada@acme.com", Tenant: "acme", AuthType: access.AuthSession}
	p := validPlan()
	p.Sandbox = ""
	got, created, err := svc.Put(context.Background(), ada, "uat1", p)
	if err != nil || !created {
		t.Fatalf("got %v, created %v", err, created)
	}
	if got.Sandbox != "uat1" || stored.UpdatedBy != "ada@acme.com" || !stored.UpdatedAt.Equal(now) {
		t.Fatalf("got %+v, want sandbox from the path and the editor stamped", stored)
	}
	bot := ada
	bot.AuthType = access.AuthAPIToken
	if _, _, err := svc.Put(context.Background(), bot, "uat1", p); access.AsError(err).Code != "SESSION_REQUIRED" {
		t.Fatalf("got %v, want SESSION_REQUIRED for an API token", err)
	}
}

type fakeSchedules struct{ calls []string }

func (f *fakeSchedules) Put(_ context.Context, tenant, sandbox, expr string) error {
	f.calls = append(f.calls, "put "+tenant+"/"+sandbox+" "+expr)
	return nil
}

func (f *fakeSchedules) Delete(_ context.Context, tenant, sandbox string) error {
	f.calls = append(f.calls, "delete "+tenant+"/"+sandbox)
	return nil
}

func TestAPlansScheduleFollowsThePlan(t *testing.T) {
	sched := &fakeSchedules{}
	var log []string
	svc := &plans.Service{
		Store: fakeStore{PutPlanFn: func(_ context.Context, tenant string, p plans.Plan) (bool, error) {
			log = append(log, "store "+p.Sandbox)
			return true, nil
		}},
		Schedules: sched, Validator: plans.Validator{SecretPrefix: "dcs-access/"}, Now: time.Now,
	}
	ada := access.Principal{User: "ada@acme.com", Tenant: "acme", AuthType: access.AuthSession}
	p := validPlan()
	p.Schedule = "cron(0 2 ? * SUN *)"
	if _, _, err := svc.Put(context.Background(), ada, "uat1", p); err != nil {
		t.Fatal(err)
	}
	p.Schedule = ""
	if _, _, err := svc.Put(context.Background(), ada, "uat1", p); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(context.Background(), ada, "uat1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"put acme/uat1 cron(0 2 ? * SUN *)", "delete acme/uat1", "delete acme/uat1"}
	if strings.Join(sched.calls, "|") != strings.Join(want, "|") || len(log) != 2 {
		t.Fatalf("got schedule calls %q after stores %q, want %q", sched.calls, log, want)
	}
	// A schedule Scheduler refuses writes no plan.
	refused := &plans.Service{
		Store: fakeStore{PutPlanFn: func(context.Context, string, plans.Plan) (bool, error) {
			t.Fatal("plan written although its schedule was refused")
			return false, nil
		}},
		Schedules: refusingSchedules{}, Validator: plans.Validator{SecretPrefix: "dcs-access/"}, Now: time.Now,
	}
	p.Schedule = "cron(0 2 ? * SUN *)"
	if _, _, err := refused.Put(context.Background(), ada, "uat1", p); access.AsError(err).Code != "INVALID_PLAN" {
		t.Fatalf("got %v, want the schedule's INVALID_PLAN", err)
	}
	if len(sched.calls) != 3 {
		t.Fatalf("got schedule calls %q after stores %q, want %q", sched.calls, log, want)
	}
}

type refusingSchedules struct{}

func (refusingSchedules) Put(context.Context, string, string, string) error {
	return access.Errorf(access.EINVALID, "INVALID_PLAN", "schedule is not an expression EventBridge Scheduler accepts")
}
func (refusingSchedules) Delete(context.Context, string, string) error { return nil }

// checkerFunc is a Checker of one function.
type checkerFunc func(ctx context.Context, tenant string, p plans.Plan) error

func (f checkerFunc) CheckPlan(ctx context.Context, tenant string, p plans.Plan) error {
	return f(ctx, tenant, p)
}

func TestAPlanTheOrgRefusesIsNeitherStoredNorScheduled(t *testing.T) {
	sched := &fakeSchedules{}
	stored := 0
	var checked []string
	refusal := access.Errorf(access.EINVALID, "INVALID_PLAN", "apexClassName: production has no such class.")
	svc := &plans.Service{
		Store:     fakeStore{PutPlanFn: func(context.Context, string, plans.Plan) (bool, error) { stored++; return true, nil }},
		Schedules: sched, Validator: plans.Validator{SecretPrefix: "dcs-access/"}, Now: time.Now,
		Checker: checkerFunc(func(_ context.Context, tenant string, p plans.Plan) error {
			checked = append(checked, tenant+"/"+p.Sandbox)
			if p.ApexClassName == "Missing" {
				return refusal
			}
			return nil
		}),
	}
	ada := access.Principal{User: "ada@acme.com", Tenant: "acme", AuthType: access.AuthSession}
	p := validPlan()
	p.Schedule, p.ApexClassName = "cron(0 2 ? * SUN *)", "Missing"
	if _, _, err := svc.Put(context.Background(), ada, "uat1", p); err != refusal {
		t.Fatalf("got %v, want the checker's refusal", err)
	}
	if stored != 0 || len(sched.calls) != 0 {
		t.Fatalf("a refused plan was stored %d times, scheduled %q", stored, sched.calls)
	}
	p.ApexClassName = "PrepareSandbox"
	if _, _, err := svc.Put(context.Background(), ada, "uat1", p); err != nil || stored != 1 {
		t.Fatalf("got %v and %d stores, want the plan stored", err, stored)
	}
	if strings.Join(checked, ",") != "acme/uat1,acme/uat1" {
		t.Fatalf("checked %q, want each put checked for the caller's tenant", checked)
	}
}
