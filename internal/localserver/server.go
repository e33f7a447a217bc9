package localserver

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/afterresponse"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/console"
	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/dcs/dcssim"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/localkey"
	"github.com/dcs-access/dcs-access/internal/notices"
	"github.com/dcs-access/dcs-access/internal/openapi"
	"github.com/dcs-access/dcs-access/internal/pipeline"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
	"github.com/dcs-access/dcs-access/internal/schedules"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/session"
	"github.com/dcs-access/dcs-access/internal/stepfunctions"
	"github.com/dcs-access/dcs-access/internal/strictjson"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// Local issuers: distinct from anything in AWS, so a local token or session
// is never accepted by a deployed stack.
const (
	TokenIssuer     = "dcs-access:local"
	SessionIssuer   = "https://sessions.dcs-access.local"
	SessionAudience = "dcs-access-local"
	sessionLifetime = 12 * time.Hour
)

// Config is where the local stack keeps its state and finds its services.
type Config struct {
	DynamoDBEndpoint string // DynamoDB Local
	Table            string
	DataDir          string // signing and session keys live here
	Log              *slog.Logger
	// BaseURL is the server's own URL: the simulators are served under it.
	BaseURL string
	// StepFunctionsEndpoint is the Step Functions stand-in, and
	// StateMachineARN the sandbox-refresh state machine created there.
	// Without them the pipeline routes are not served.
	StepFunctionsEndpoint string
	StateMachineARN       string
	// Salesforce configures the Salesforce simulator (tests step refreshes per poll).
	Salesforce sfsim.Options
	// PipelineNow is the pipeline steps' clock (tests move it past a run's
	// deadline); time.Now when nil.
	PipelineNow func() time.Time
	// LeakAnswerFloor, when set, is how long POST /api-tokens/revoke takes
	// at the least, with nothing more per token (tests shorten it); tokens'
	// own floor otherwise.
	LeakAnswerFloor time.Duration
}

// Server is the local stack: the API and the simulators it is wired to.
type Server struct {
	http.Handler
	gateway    *Gateway
	Salesforce *sfsim.Sim
	DCS        *dcssim.Sim
	Secrets    *secrets.Memory
	Store      *dynamo.Store
	Bus        *eventbus.Memory // the local event bus: what came in and what was published
	Schedules  *schedules.Memory
	Notices    *notices.Finder // the tokens' expiry notices, onto Bus (RunNotices)
	// AuditStream puts the audit events on Bus from the table's stream
	// (New starts following it; its Run hands the records on).
	AuditStream *AuditStream
	onEvent     func(context.Context, events.EventBridgeEvent) error
}

// Routes are the API routes the local gateway serves ("METHOD /resource"),
// the local-only ones under /local/ among them.
func (s *Server) Routes() []string { return s.gateway.Routes() }

// RunNotices sends the tokens' expiry notices that are due onto the local
// bus, every interval until ctx ends, as EventBridge Scheduler runs
// ExpiryNoticesFunction every 15 minutes in AWS.
func (s *Server) RunNotices(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := s.Notices.Run(ctx); err != nil && ctx.Err() == nil {
			slog.ErrorContext(ctx, "expiry notices failed; the next run retries them", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunSchedules fires the plans' schedules until ctx ends, as EventBridge
// Scheduler does in AWS: at each due minute it puts "Sandbox Refresh
// Requested" on the local bus, with an id derived from the schedule and the
// minute, so a schedule starts at most one run a minute.
func (s *Server) RunSchedules(ctx context.Context, now func() time.Time) {
	if s.onEvent == nil {
		return
	}
	for {
		next := now().Truncate(time.Minute).Add(time.Minute)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		s.FireSchedules(ctx, next)
	}
}

// FireSchedules fires the schedules due in at's minute.
func (s *Server) FireSchedules(ctx context.Context, at time.Time) {
	for _, due := range s.Schedules.Due(at) {
		detail, _ := json.Marshal(map[string]string{"tenant": due.Tenant, "sandbox": due.Sandbox})
		e := events.EventBridgeEvent{ID: due.Name + "-" + at.UTC().Format("20060102T1504"), DetailType: schedules.DetailType,
			Source: schedules.Source, Time: at.UTC(), Detail: detail}
		s.Bus.Record(eventbus.Event{ID: e.ID, DetailType: e.DetailType, Source: e.Source, Time: e.Time, Detail: e.Detail})
		if err := s.onEvent(ctx, e); err != nil {
			slog.ErrorContext(ctx, "scheduled refresh failed", "schedule", due.Name, "error", err)
		}
	}
}

// New wires the local stack: the table is created if missing, and the keys
// are loaded from DataDir or made there on first run.
func New(ctx context.Context, cfg Config) (*Server, error) {
	client, err := ddb.New(awsconfig.Local(cfg.DynamoDBEndpoint))
	if err != nil {
		return nil, err
	}
	if err := dynamo.CreateTable(ctx, client, cfg.Table); err != nil {
		return nil, err
	}
	signingKey, err := localkey.LoadOrCreate(filepath.Join(cfg.DataDir, "signing-key.pem"))
	if err != nil {
		return nil, err
	}
	sessionKey, err := localkey.LoadOrCreate(filepath.Join(cfg.DataDir, "session-key.pem"))
	if err != nil {
		return nil, err
	}
	srv, err := NewWith(dynamo.New(client, cfg.Table, time.Now), signingKey, sessionKey, cfg)
	if err != nil {
		return nil, err
	}
	log := cmp.Or(cfg.Log, slog.Default())
	if srv.AuditStream, err = NewAuditStream(ctx, awsconfig.Local(cfg.DynamoDBEndpoint), cfg.Table, srv.Bus, log); err != nil {
		return nil, err
	}
	return srv, nil
}

// NewWith wires the local stack on a given store and keys.
func NewWith(store *dynamo.Store, signingKey, sessionKey *ecdsa.PrivateKey, cfg Config) (*Server, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	signer, err := apitoken.NewKeySigner(signingKey)
	if err != nil {
		return nil, err
	}
	issuer := &session.LocalIssuer{Issuer: SessionIssuer, Audience: SessionAudience, Key: sessionKey, Now: time.Now}
	// One key signs and is trusted locally; the authorizer verifies with it
	// and the JWKS publishes it, from the same map (in AWS both read
	// TRUSTED_KEY_IDS).
	trusted := map[string]*ecdsa.PublicKey{signer.KeyID(): signer.Public()}
	publicKeys, err := api.PublicKeys(trusted)
	if err != nil {
		return nil, err
	}
	auth := &authorizer.Authorizer{
		TokenIssuer: TokenIssuer,
		APITokens:   apitoken.NewVerifier(TokenIssuer, trusted, time.Now),
		Sessions:    session.NewVerifier(session.Config{Issuer: SessionIssuer, Audience: SessionAudience}, issuer.KeySet(), time.Now),
		Store:       store,
		Now:         time.Now,
		Log:         log,
		// No Lambda freeze here: the record of use is written before the
		// answer, so the next request sees it.
		Uses: store, AfterResponse: afterresponse.Inline(2 * time.Second),
	}
	tokenService := &tokens.Service{Store: store, Minter: apitoken.Minter{Issuer: TokenIssuer, Signer: signer}, Now: time.Now, NewID: tokens.NewID, Rotations: store}
	h := &api.Tokens{Service: tokenService, Now: time.Now}
	bus := &eventbus.Memory{}
	leaks := api.NewLeaks(auth.APITokens, store, bus)
	if cfg.LeakAnswerFloor != 0 {
		leaks.Service.Floor, leaks.Service.PerToken = cfg.LeakAnswerFloor, 0
	}
	leaks.Service.Log = log
	g := NewGateway(auth.Handle)
	// Each function's handler, by its logical id in template.yaml: the
	// route table (api.Routes) says which routes go to it.
	functions := map[string]api.Handler{
		"CreateTokenFunction":        h.Routes().Handle, // create and rotate
		"ListTokensFunction":         h.List,
		"DeleteTokenFunction":        h.Delete,
		"WhoAmIFunction":             api.WhoAmI,
		"PublicKeysFunction":         publicKeys,
		"IntrospectTokenFunction":    (&api.Introspection{Tokens: auth}).Introspect,
		"RevokeLeakedTokensFunction": leaks.Revoke,
		"ListAuditEventsFunction":    api.NewAudit(store).List,
	}
	g.Public("GET /openapi.yaml", openapi.Handler())
	g.Public("POST /local/sessions", sessionRoute(issuer))
	// The web console at "/", under every other route: it signs in with
	// POST /local/sessions, and answers any path it does not serve with
	// 404 NOT_FOUND, as the gateway did.
	page, err := console.Handler(console.Local())
	if err != nil {
		return nil, err
	}
	g.Public("/", page)
	sched := &schedules.Memory{}
	srv := &Server{Handler: g, gateway: g, Store: store, Secrets: &secrets.Memory{}, Bus: bus, Schedules: sched}
	srv.Notices = notices.New(store, srv.Bus)
	var checker plans.Checker // plans are checked against the simulated org, which comes with the pipeline
	if cfg.StepFunctionsEndpoint != "" {
		steps, refreshes, err := srv.pipeline(g, auth, tokenService, cfg)
		if err != nil {
			return nil, err
		}
		checker = steps
		functions["SandboxRefreshesFunction"] = refreshes.Routes().Handle
	}
	// Local plans may point at the simulators on loopback.
	planRoutes := api.NewPlans(store, sched, plans.Validator{SecretPrefix: plans.SecretPrefix, AllowLoopback: true}, checker)
	planRoutes.Service.Secrets = srv.Secrets // a plan gets the secrets stored for its sandbox
	functions["SandboxPlansFunction"] = planRoutes.Routes().Handle
	functions["PipelineSecretsFunction"] = srv.pipelineSecrets(tokenService).Routes().Handle
	functions["TenantPolicyFunction"] = api.NewTenantPolicy(store).Routes().Handle
	if err := g.Functions(api.Routes(), functions); err != nil {
		return nil, err
	}
	if err := srv.localRotation(g, cfg.BaseURL); err != nil {
		return nil, err
	}
	return srv, nil
}

// pipeline serves the run routes on the Step Functions stand-in, the
// simulators of Salesforce and DCS, and the Lambda Invoke endpoint through
// which the stand-in runs the pipeline's steps in this process.
func (s *Server) pipeline(g *Gateway, auth *authorizer.Authorizer, tokenService *tokens.Service, cfg Config) (*pipeline.Steps, *api.Runs, error) {
	sf := sfsim.New(cfg.Salesforce)
	sf.SetBaseURL(cfg.BaseURL + "/local/salesforce")
	s.Salesforce = sf
	s.DCS = dcssim.New(dcssim.Options{Auth: auth})
	g.Simulator("/local/salesforce/", sf)
	g.Simulator("/local/dcs/", s.DCS)

	sfnClient, err := awsjson.New(awsconfig.Local(cfg.StepFunctionsEndpoint), stepfunctions.Service)
	if err != nil {
		return nil, nil, err
	}
	refreshes := api.NewRuns(s.Store, stepfunctions.New(sfnClient, cfg.StateMachineARN), s.Bus)
	// The stand-in forgets executions when it restarts: runs it lost end
	// ABORTED, and no longer hold their sandboxes.
	if running, err := s.Store.RunningRuns(context.Background()); err != nil {
		return nil, nil, err
	} else if err := refreshes.Service.Reconcile(context.Background(), running); err != nil {
		return nil, nil, err
	}
	onEvent := refreshes.HandleEvent
	s.onEvent = onEvent
	g.Public("POST /local/events", eventRoute(s.Bus, onEvent))
	g.Public("GET /local/events", busRoute(s.Bus))

	now := cfg.PipelineNow
	if now == nil {
		now = time.Now
	}
	steps := &pipeline.Steps{
		Secrets: s.Secrets,
		Connect: func(ctx context.Context, c salesforce.Config) (pipeline.Org, error) {
			return salesforce.Connect(ctx, c)
		},
		NewDCS:    func(c dcs.Config) (pipeline.MaskingJobs, error) { return dcs.New(c) },
		Validator: plans.Validator{SecretPrefix: plans.SecretPrefix, AllowLoopback: true},
		Now:       now,
		Records:   s.Store,
		// The simulator's refresh intervals are scaled: so are the steps'.
		RefreshInterval: func(license string) time.Duration {
			return time.Duration(float64(salesforce.RefreshInterval(license)) * cmp.Or(cfg.Salesforce.IntervalScale, 1))
		},
	}
	g.Public("POST /local/lambda/2015-03-31/functions/{name}/invocations", invokeRoute(map[string]func(context.Context, pipeline.Request) (any, error){
		"PipelineStepsFunction": steps.Handle,
	}))

	demo, err := newDemo(s, tokenService, cfg.BaseURL)
	if err != nil {
		return nil, nil, err
	}
	g.Route("POST", "/local/sandbox-demo", demo.handle)
	return steps, refreshes, nil
}

// sessionRoute is the local sign-in: POST {"email","tenant","admin"?} →
// {"token"}. With "admin": true the session is a tenant administrator's,
// as a Cognito session of a member of the administrators' group is.
func sessionRoute(issuer *session.LocalIssuer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email  string `json:"email"`
			Tenant string `json:"tenant"`
			Admin  bool   `json:"admin"`
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<10))
		if err != nil || strictjson.Unmarshal(body, &in) != nil {
			writeError(w, http.StatusBadRequest, "INVALID_BODY", `The body must be {"email": "...", "tenant": "...", "admin": true or false (optional)}.`)
			return
		}
		addr, err := mail.ParseAddress(in.Email)
		if err != nil || addr.Address != in.Email {
			writeError(w, http.StatusBadRequest, "INVALID_EMAIL", "email must be a plain e-mail address such as ada@example.com.")
			return
		}
		in.Tenant = strings.TrimSpace(in.Tenant)
		if !access.TenantPattern.MatchString(in.Tenant) {
			writeError(w, http.StatusBadRequest, "INVALID_TENANT", "tenant must be 1 to 64 letters, digits, '.', '_' or '-'.")
			return
		}
		issue := issuer.Issue
		if in.Admin {
			issue = issuer.IssueAdmin
		}
		tok, err := issue(in.Email, in.Tenant, sessionLifetime)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL", "Could not sign a session.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	})
}

// newRSAKey is the simulated Salesforce org's trusted key for the local stack.
func newRSAKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }
