// Package plans is the refresh plan: what to do, for one Salesforce sandbox,
// when its refresh is requested. Plans are per tenant and hold no secrets,
// only the ARNs of the secrets the pipeline reads at run time.
package plans

import (
	"context"
	"strings"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
)

// License types a sandbox can be refreshed as (SandboxInfo.LicenseType, as
// the Tooling API reference spells them; "DEVELOPER PRO" is read as
// DEVELOPER_PRO).
var LicenseTypes = []string{"DEVELOPER", "DEVELOPER_PRO", "PARTIAL", "FULL"}

// Defaults for fields a plan may leave out.
const (
	DefaultSandboxLoginURL = "https://test.salesforce.com"
	DefaultAPIVersion      = "v62.0"
	DefaultTimeoutHours    = 72
	DefaultRefreshSeconds  = 300
	// DefaultMaxRefreshSeconds bounds how long users may keep working in a
	// freshly activated, still unmasked sandbox before they are dropped.
	DefaultMaxRefreshSeconds = 600
	DefaultMaskingSeconds    = 60
	DefaultMaxMaskingSeconds = 600
)

// Plan is one sandbox's refresh plan.
type Plan struct {
	Sandbox string `json:"sandbox"`
	// LicenseType is what the sandbox is refreshed as; empty for a clone
	// (SourceSandbox), which takes its source's.
	LicenseType string `json:"licenseType,omitempty"`
	// AutoActivate lets Salesforce activate the copy itself. Without it the
	// pipeline activates the copy, and drops its users right after.
	AutoActivate bool `json:"autoActivate"`
	// ApexClassName is a SandboxPostCopy class of production, run after
	// each copy; empty leaves the sandbox's own setting as it is.
	ApexClassName string `json:"apexClassName,omitempty"`
	// Description replaces the sandbox's description; empty keeps it.
	Description string `json:"description,omitempty"`
	// HistoryDays and CopyChatter apply to Full sandboxes: days of field
	// history to copy (-1 all, 0 Salesforce's default, 10 to 180), and
	// whether to copy Chatter data.
	HistoryDays int  `json:"historyDays,omitempty"`
	CopyChatter bool `json:"copyChatter,omitempty"`
	// SourceSandbox, when set, makes each refresh a clone of that sandbox
	// instead of a copy of production.
	SourceSandbox string `json:"sourceSandbox,omitempty"`
	// ActivationUserGroup is the public group of the users who may use the
	// sandbox (Selective Sandbox Access); Salesforce requires one for
	// Developer and Developer Pro sandboxes, and allows none for clones.
	ActivationUserGroup string        `json:"activationUserGroup,omitempty"`
	Salesforce          Salesforce    `json:"salesforce"`
	DCS                 DCS           `json:"dcs"`
	KeepUsers           []string      `json:"keepUsers"`
	NonProdUsers        []User        `json:"nonProdUsers"`
	PollIntervals       PollIntervals `json:"pollIntervals"`
	TimeoutHours        int           `json:"timeoutHours"`
	Schedule            string        `json:"schedule,omitempty"` // EventBridge cron(...) expression
	UpdatedAt           time.Time     `json:"updatedAt,omitzero"` // stamped when stored: absent from a plan not saved yet
	UpdatedBy           string        `json:"updatedBy,omitempty"`
}

// Salesforce is how the pipeline signs in to production (to refresh) and to
// the sandbox (to drop and recreate users): OAuth 2.0 JWT bearer flow.
type Salesforce struct {
	// LoginURL and SandboxLoginURL are where tokens are requested: the
	// generic login hosts or the orgs' My Domain URLs.
	LoginURL        string `json:"loginUrl"`
	SandboxLoginURL string `json:"sandboxLoginUrl"`
	// Audience and SandboxAudience override the assertions' audience
	// (https://login.salesforce.com and https://test.salesforce.com) for an
	// integration user that signs in through an Experience Cloud site. They
	// are never the My Domain URL: Salesforce refuses that audience.
	Audience            string `json:"audience,omitempty"`
	SandboxAudience     string `json:"sandboxAudience,omitempty"`
	ConsumerKey         string `json:"consumerKey"`
	Username            string `json:"username"`
	PrivateKeySecretARN string `json:"privateKeySecretArn"`
	APIVersion          string `json:"apiVersion"`
}

// DCS is where and how the masking job runs.
type DCS struct {
	BaseURL           string `json:"baseUrl"`
	ComplianceJobID   string `json:"complianceJobId"`
	APITokenSecretARN string `json:"apiTokenSecretArn"`
	// ConnectorUsername is the Salesforce user DCS signs in as to mask the
	// sandbox (production username); it is never dropped.
	ConnectorUsername string `json:"connectorUsername"`
}

// User is a non-production user recreated after masking.
type User struct {
	Username      string `json:"username"`
	Email         string `json:"email"`
	FirstName     string `json:"firstName"`
	LastName      string `json:"lastName"`
	Alias         string `json:"alias"`
	ProfileName   string `json:"profileName"`
	TimeZone      string `json:"timeZone"`
	Locale        string `json:"locale"`
	EmailEncoding string `json:"emailEncoding"`
	Language      string `json:"language"`
}

// PollIntervals are the starting and largest waits between status checks;
// each wait doubles until it reaches the largest.
type PollIntervals struct {
	RefreshSeconds    int `json:"refreshSeconds"`
	MaxRefreshSeconds int `json:"maxRefreshSeconds"`
	MaskingSeconds    int `json:"maskingSeconds"`
	MaxMaskingSeconds int `json:"maxMaskingSeconds"`
}

// Store keeps plans. Each change writes its audit event ev atomically with
// itself: both or neither.
type Store interface {
	PutPlan(ctx context.Context, tenant string, p Plan, ev audit.Event) (created bool, err error)
	GetPlan(ctx context.Context, tenant, sandbox string) (Plan, error)
	ListPlans(ctx context.Context, tenant string) ([]Plan, error)
	DeletePlan(ctx context.Context, tenant, sandbox string, ev audit.Event) error
}

// SavedEvent is the audit event of caller saving the plan of sandbox at at.
func SavedEvent(ctx context.Context, caller access.Principal, sandbox string, at time.Time) audit.Event {
	return audit.ByCaller(ctx, caller, audit.PlanSaved, audit.Target{Type: audit.TargetPlan, ID: strings.ToLower(sandbox)}, at)
}

// Schedules keeps each plan's schedule (EventBridge Scheduler in AWS).
type Schedules interface {
	Put(ctx context.Context, tenant, sandbox, expression string) error
	Delete(ctx context.Context, tenant, sandbox string) error
}

// Checker checks a plan against the org it names: that the pipeline can
// sign in to production, and that the sandbox and the records the plan
// names by name (Apex class, source sandbox, public group) exist there.
type Checker interface {
	CheckPlan(ctx context.Context, tenant string, p Plan) error
}

// Service applies the plan rules.
type Service struct {
	Store     Store
	Schedules Schedules
	Validator Validator
	// Checker, when set, checks each plan against Salesforce before it is
	// stored (every deployed and local stack sets it; domain tests need not).
	Checker Checker
	// Secrets, when set, fills in the secrets a plan leaves out with those
	// stored for its sandbox by the self-service routes (secrets.go).
	Secrets SecretARNs
	Now     func() time.Time
}

// Put validates and stores p as the plan of sandbox. created reports whether
// the plan is new.
func (s *Service) Put(ctx context.Context, caller access.Principal, sandbox string, p Plan) (Plan, bool, error) {
	if caller.AuthType != access.AuthSession {
		return Plan{}, false, access.Errorf(access.EFORBIDDEN, "SESSION_REQUIRED", "Refresh plans can only be changed by a signed-in user, not with an API token.")
	}
	p.Sandbox = sandbox
	p.Defaults()
	if err := s.fillSecrets(ctx, caller.Tenant, &p); err != nil {
		return Plan{}, false, err
	}
	if err := s.Validator.Validate(caller.Tenant, p); err != nil {
		return Plan{}, false, err
	}
	if s.Checker != nil {
		if err := s.Checker.CheckPlan(ctx, caller.Tenant, p); err != nil {
			return Plan{}, false, err
		}
	}
	clock := s.Now() // the event's time: events sort by it, to the millisecond
	p.UpdatedAt, p.UpdatedBy = clock.UTC().Truncate(time.Second), caller.User
	// The schedule first: Scheduler may refuse the expression, and then
	// nothing is written. If the plan write then fails, a schedule may fire
	// for a plan that is not there, which only announces a skipped refresh;
	// repeating the PUT puts both right.
	var err error
	if p.Schedule != "" {
		err = s.Schedules.Put(ctx, caller.Tenant, p.Sandbox, p.Schedule)
	} else {
		err = s.Schedules.Delete(ctx, caller.Tenant, p.Sandbox)
	}
	if err != nil {
		return Plan{}, false, err
	}
	created, err := s.Store.PutPlan(ctx, caller.Tenant, p, SavedEvent(ctx, caller, p.Sandbox, clock))
	return p, created, err
}

// Get returns the plan of sandbox.
func (s *Service) Get(ctx context.Context, caller access.Principal, sandbox string) (Plan, error) {
	if err := s.Validator.sandboxName(sandbox); err != nil {
		return Plan{}, ErrNotFound()
	}
	return s.Store.GetPlan(ctx, caller.Tenant, sandbox)
}

// List returns every plan of the caller's tenant.
func (s *Service) List(ctx context.Context, caller access.Principal) ([]Plan, error) {
	return s.Store.ListPlans(ctx, caller.Tenant)
}

// Delete removes the plan of sandbox.
func (s *Service) Delete(ctx context.Context, caller access.Principal, sandbox string) error {
	if caller.AuthType != access.AuthSession {
		return access.Errorf(access.EFORBIDDEN, "SESSION_REQUIRED", "Refresh plans can only be changed by a signed-in user, not with an API token.")
	}
	if err := s.Validator.sandboxName(sandbox); err != nil {
		return ErrNotFound()
	}
	// The schedule first: it must not outlive its plan.
	if err := s.Schedules.Delete(ctx, caller.Tenant, sandbox); err != nil {
		return err
	}
	ev := audit.ByCaller(ctx, caller, audit.PlanDeleted, audit.Target{Type: audit.TargetPlan, ID: strings.ToLower(sandbox)}, s.Now())
	return s.Store.DeletePlan(ctx, caller.Tenant, sandbox, ev)
}

// ErrNotFound is the error for a sandbox without a plan.
func ErrNotFound() *access.Error {
	return access.Errorf(access.ENOTFOUND, "PLAN_NOT_FOUND", "No refresh plan exists for this sandbox in your tenant.")
}

// Defaults fills in what a plan may leave out.
func (p *Plan) Defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if p.LicenseType == "DEVELOPER PRO" {
		p.LicenseType = "DEVELOPER_PRO"
	}
	if p.Salesforce.SandboxLoginURL == "" {
		p.Salesforce.SandboxLoginURL = DefaultSandboxLoginURL
	}
	if p.Salesforce.APIVersion == "" {
		p.Salesforce.APIVersion = DefaultAPIVersion
	}
	def(&p.TimeoutHours, DefaultTimeoutHours)
	def(&p.PollIntervals.RefreshSeconds, DefaultRefreshSeconds)
	def(&p.PollIntervals.MaxRefreshSeconds, DefaultMaxRefreshSeconds)
	def(&p.PollIntervals.MaskingSeconds, DefaultMaskingSeconds)
	def(&p.PollIntervals.MaxMaskingSeconds, DefaultMaxMaskingSeconds)
	if p.KeepUsers == nil {
		p.KeepUsers = []string{}
	}
	if p.NonProdUsers == nil {
		p.NonProdUsers = []User{}
	}
}
