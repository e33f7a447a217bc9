// Package pipeline is the sandbox-refresh pipeline's task handlers: one
// Lambda function that Step Functions calls with {"step", "run"} for each
// Task state of statemachine/sandbox-refresh.asl.json (see docs/pipeline.md).
// Each step is idempotent: Step Functions retries and redrives re-run steps.
package pipeline

import (
	"cmp"
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/workflow"
)

// Request is the payload of every Task state.
type Request struct {
	Step string `json:"step"`
	Run  State  `json:"run"`
	// RedriveCount is the execution's ($$.Execution.RedriveCount): the
	// run's attempt is RedriveCount+1, and a redrive after a failed masking
	// job starts a new one.
	RedriveCount int `json:"redriveCount"`
}

// State is the run's state: its input and the results of the steps so far.
type State struct {
	runs.Input
	Refresh       *Refresh       `json:"refresh,omitempty"`
	DropUsers     *Dropped       `json:"dropUsers,omitempty"`
	Masking       *Masking       `json:"masking,omitempty"`
	RecreateUsers *Recreated     `json:"recreateUsers,omitempty"`
	Error         map[string]any `json:"error,omitempty"`
}

// Org is one Salesforce org, as the steps use it.
type Org interface {
	FindSandboxInfo(ctx context.Context, name string) (salesforce.SandboxInfo, error)
	ApexClassID(ctx context.Context, name string) (string, error)
	PublicGroupID(ctx context.Context, name string) (string, error)
	RefreshSandbox(ctx context.Context, id string, opts salesforce.RefreshOptions) error
	LatestSandboxProcess(ctx context.Context, sandboxName string) (salesforce.SandboxProcess, error)
	SandboxProcess(ctx context.Context, id string) (salesforce.SandboxProcess, error)
	ActivateSandbox(ctx context.Context, processID string) error
	Users(ctx context.Context) ([]salesforce.User, error)
	AllUserLogins(ctx context.Context) (map[string]salesforce.UserLogin, error)
	UserLogins(ctx context.Context, userIDs []string) (map[string]salesforce.UserLogin, error)
	UsersByUsername(ctx context.Context, usernames []string) ([]salesforce.User, error)
	ProfileIDs(ctx context.Context, names []string) (map[string]string, error)
	UpdateRecords(ctx context.Context, sobjectType string, records []map[string]any) ([]salesforce.SaveResult, error)
	CreateRecords(ctx context.Context, sobjectType string, records []map[string]any) ([]salesforce.SaveResult, error)
}

// MaskingJobs is the DCS job API.
type MaskingJobs interface {
	StartExecution(ctx context.Context, jobID string) (dcs.Execution, error)
	Execution(ctx context.Context, id string) (dcs.Execution, error)
	// Executions lists the job's executions, all of them: the baseline,
	// and a start whose answer was lost, are found there (DCS has no
	// idempotency key).
	Executions(ctx context.Context, jobID string) ([]dcs.Execution, error)
}

// Secrets reads secret values by ARN.
type Secrets interface {
	SecretString(ctx context.Context, arn string) (string, error)
}

// Steps runs the steps. Connect and NewDCS build clients, so tests and the
// local stack can point them at the simulators.
type Steps struct {
	Secrets   Secrets
	Connect   func(ctx context.Context, cfg salesforce.Config) (Org, error)
	NewDCS    func(cfg dcs.Config) (MaskingJobs, error)
	Validator plans.Validator
	Now       func() time.Time
	// RefreshInterval is Salesforce's wait between refreshes of a sandbox
	// of a license; salesforce.RefreshInterval when nil. The local stack
	// scales it as it scales the simulator's.
	RefreshInterval func(license string) time.Duration
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Records keeps the runs' records; nil in tests of a step alone.
	Records Records
	// Metrics receives the exposure figures in CloudWatch's embedded
	// metric format (the Lambda's stdout); nil sends them nowhere.
	Metrics *Metrics

	// AwaitStart and AwaitStartEvery: how long, and how often, a masking
	// start whose outcome is unknown lists the job again for the execution
	// DCS may commit late; 15 s and 2 s when zero.
	AwaitStart, AwaitStartEvery time.Duration

	fixedBackoff bool // the polling of before issue 11, for the exposure benchmark's comparison
}

func (s *Steps) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Handle runs req's step and returns its result.
func (s *Steps) Handle(ctx context.Context, req Request) (any, error) {
	run := req.Run
	// The plan was validated when saved; check it again, as it decides where
	// secrets are sent.
	if err := s.Validator.Validate(run.Tenant, run.Plan); err != nil {
		return nil, &PermanentError{Message: "the run's plan is not valid: " + access.AsError(err).Message}
	}
	step, known := workflow.StepNamed(req.Step)
	handle := handlers[step.Name]
	if !known || handle == nil {
		return nil, &PermanentError{Message: fmt.Sprintf("unknown step %q", req.Step)}
	}
	// Reports have a few seconds of their own: the step's budget may be
	// spent, and the Task's timeout is BudgetMargin after it.
	reportCtx, cancelReports := context.WithTimeout(context.WithoutCancel(ctx), step.Budget+workflow.BudgetMargin/2)
	defer cancelReports()
	if err := s.reportStart(reportCtx, req, step); err != nil {
		return nil, err
	}
	// The step's budget ends before its Task's TimeoutSeconds (see
	// workflow.Step.Budget).
	stepCtx, cancel := context.WithTimeout(ctx, step.Budget)
	defer cancel()
	result, err := handle(s, stepCtx, req)
	if reportErr := s.reportResult(reportCtx, req, step, result, err); reportErr != nil && err == nil {
		return nil, reportErr
	}
	return result, err
}

// handler runs one step.
type handler func(s *Steps, ctx context.Context, req Request) (any, error)

// handlers are the handlers of workflow.Steps, by step name.
var handlers = map[string]handler{
	workflow.PrepareRefresh:  ofRun((*Steps).prepareRefresh),
	workflow.StartRefresh:    ofRun((*Steps).startRefresh),
	workflow.CheckRefresh:    ofRun((*Steps).checkRefresh),
	workflow.DropUsers:       ofRun((*Steps).dropUsers),
	workflow.MaskingBaseline: ofRedrive((*Steps).maskingBaseline),
	workflow.StartMasking:    ofRedrive((*Steps).startMasking),
	workflow.CheckMasking:    ofRedrive((*Steps).checkMasking),
	workflow.RecreateUsers:   ofRun((*Steps).recreateUsers),
}

// ofRun is the handler of a step that needs only the run's state.
func ofRun[T any](step func(*Steps, context.Context, State) (T, error)) handler {
	return func(s *Steps, ctx context.Context, req Request) (any, error) {
		return step(s, ctx, req.Run)
	}
}

// ofRedrive is the handler of a step that also needs the execution's redrive count.
func ofRedrive[T any](step func(*Steps, context.Context, State, int) (T, error)) handler {
	return func(s *Steps, ctx context.Context, req Request) (any, error) {
		return step(s, ctx, req.Run, req.RedriveCount)
	}
}

func (s *Steps) pastDeadline(run State) error {
	if !run.Deadline.IsZero() && s.Now().After(run.Deadline) {
		return &RunTimedOut{Message: fmt.Sprintf("the run passed its deadline of %s (%d hours after it was requested)", run.Deadline.Format(time.RFC3339), run.Plan.TimeoutHours)}
	}
	return nil
}

// production signs in to the production org, where sandboxes are refreshed.
func (s *Steps) production(ctx context.Context, run State) (Org, error) {
	sf := run.Plan.Salesforce
	return s.signIn(ctx, run, sf.LoginURL, cmp.Or(sf.Audience, salesforce.AudienceProduction), sf.Username)
}

// sandbox signs in to the refreshed sandbox, where Salesforce has appended
// ".<sandbox>" to every username copied from production.
func (s *Steps) sandbox(ctx context.Context, run State) (Org, error) {
	sf := run.Plan.Salesforce
	return s.signIn(ctx, run, sf.SandboxLoginURL, cmp.Or(sf.SandboxAudience, salesforce.AudienceSandbox), SandboxUsername(sf.Username, run.Sandbox))
}

func (s *Steps) signIn(ctx context.Context, run State, loginURL, audience, username string) (Org, error) {
	key, err := s.privateKey(ctx, run.Plan)
	if err != nil {
		return nil, err
	}
	org, err := s.Connect(ctx, salesforce.Config{
		LoginURL: loginURL, Audience: audience, ConsumerKey: run.Plan.Salesforce.ConsumerKey, Username: username,
		PrivateKey: key, APIVersion: run.Plan.Salesforce.APIVersion, Now: s.Now,
	})
	if err != nil {
		return nil, classify("sign in to Salesforce as "+username, err)
	}
	return org, nil
}

// privateKey reads the integration user's private key from the plan's secret.
func (s *Steps) privateKey(ctx context.Context, p plans.Plan) (*rsa.PrivateKey, error) {
	pemKey, err := s.Secrets.SecretString(ctx, p.Salesforce.PrivateKeySecretARN)
	if err != nil {
		return nil, classify("read the Salesforce private key secret", err)
	}
	key, err := salesforce.ParsePrivateKey(pemKey)
	if err != nil {
		return nil, &PermanentError{Message: "the Salesforce private key secret: " + err.Error()}
	}
	return key, nil
}

// SandboxUsername is a production username as it is in the sandbox.
func SandboxUsername(username, sandbox string) string {
	suffix := "." + strings.ToLower(sandbox)
	if strings.HasSuffix(strings.ToLower(username), suffix) {
		return username
	}
	return username + suffix
}

// backoff doubles a wait up to max.
func backoff(prev, max int) int {
	if prev*2 > max {
		return max
	}
	return prev * 2
}
