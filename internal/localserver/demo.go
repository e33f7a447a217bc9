package localserver

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// The simulated world of `make run`: a production org with a sandbox, the
// integration user the pipeline signs in as, the DCS connector user, and a
// few people whose access is dropped while the sandbox holds unmasked data.
const (
	DemoSandbox         = "uat1"
	DemoConsumerKey     = "local-consumer-key"
	DemoIntegrationUser = "integration@acme.example"
	DemoConnectorUser   = "dcs@acme.example"
	DemoJob             = "job-1"
	DemoApexClass       = "PrepareSandbox" // a SandboxPostCopy class of the simulated production org
	demoSecretARN       = "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + plans.SecretPrefix
)

type demo struct {
	s       *Server
	tokens  *tokens.Service
	baseURL string
	keyPEM  string
}

func newDemo(s *Server, tokenService *tokens.Service, baseURL string) (*demo, error) {
	key, err := newRSAKey()
	if err != nil {
		return nil, err
	}
	s.Salesforce.TrustKey(DemoConsumerKey, &key.PublicKey)
	users := []sfsim.User{
		{Username: DemoIntegrationUser, Profile: "System Administrator"},
		{Username: DemoConnectorUser, Profile: "System Administrator"},
		{Username: "admin@acme.example", Profile: "System Administrator"},
	}
	for i := 1; i <= 12; i++ {
		users = append(users, sfsim.User{Username: fmt.Sprintf("user%02d@acme.example", i), FirstName: "User", LastName: fmt.Sprint(i)})
	}
	s.Salesforce.AddProdUsers(users...)
	s.Salesforce.AddSandbox(DemoSandbox, "PARTIAL")
	s.Salesforce.AddApexClass(DemoApexClass, "")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return &demo{s: s, tokens: tokenService, baseURL: baseURL, keyPEM: string(keyPEM)}, nil
}

// handle is POST /local/sandbox-demo: for the signed-in user's tenant it
// stores the simulated org's private key and a new DCS API token (scope
// compliance-jobs:run alone) as local secrets, adds a DCS compliance job, and returns a plan ready to PUT.
func (d *demo) handle(ctx context.Context, req events.APIGatewayProxyRequest) (api.Response, error) {
	p, err := api.Principal(req)
	if err != nil {
		return api.Error(ctx, err), nil
	}
	// The pipeline's token only runs the masking job (least privilege).
	created, err := d.tokens.Create(ctx, p, tokens.CreateInput{
		Description: "local sandbox refresh " + uuid.NewString()[:8], LifespanDays: ptr(30),
		Scopes: &[]string{string(access.ScopeComplianceJobsRun)},
	})
	if err != nil {
		return api.Error(ctx, err), nil
	}
	base := demoSecretARN + p.Tenant + "/"
	d.s.Secrets.Put(base+"salesforce-key", d.keyPEM)
	d.s.Secrets.Put(base+"dcs-token", created.Secret)
	d.s.DCS.AddJob(p.Tenant, DemoJob)
	// The pipeline activates the copy (autoActivate false) and drops its
	// users right after: nobody works on the unmasked copy in between.
	plan := plans.Plan{
		Sandbox: DemoSandbox, LicenseType: "PARTIAL", AutoActivate: false,
		Description: "UAT: refreshed, then masked by DCS", ApexClassName: DemoApexClass,
		Salesforce: plans.Salesforce{
			LoginURL: d.baseURL + "/local/salesforce", SandboxLoginURL: d.baseURL + "/local/salesforce",
			ConsumerKey: DemoConsumerKey, Username: DemoIntegrationUser, PrivateKeySecretARN: base + "salesforce-key",
		},
		DCS:       plans.DCS{BaseURL: d.baseURL + "/local/dcs", ComplianceJobID: DemoJob, APITokenSecretARN: base + "dcs-token", ConnectorUsername: DemoConnectorUser},
		KeepUsers: []string{"admin@acme.example"},
		NonProdUsers: []plans.User{{
			Username: "qa.tester@acme.example." + DemoSandbox, Email: "qa.tester@acme.example", FirstName: "Quinn", LastName: "Tester",
			Alias: "qtester", ProfileName: "Standard User", TimeZone: "America/Los_Angeles", Locale: "en_US", EmailEncoding: "UTF-8", Language: "en_US",
		}},
		PollIntervals: plans.PollIntervals{RefreshSeconds: 30, MaxRefreshSeconds: 120, MaskingSeconds: 10, MaxMaskingSeconds: 60},
		TimeoutHours:  2, // a simulated refresh takes seconds
	}
	plan.Defaults()
	return api.JSON(http.StatusOK, plan), nil
}

func ptr[T any](v T) *T { return &v }

// eventRoute is POST /local/events: the local EventBridge bus. It takes
// "Sandbox Refresh Requested" events from people and scripts, and the Step
// Functions stand-in's status changes, and delivers both to the runs
// function's event handler, as the rules in template.yaml do in AWS.
func eventRoute(bus *eventbus.Memory, onEvent func(context.Context, events.EventBridgeEvent) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e events.EventBridgeEvent
		if err := json.NewDecoder(io.LimitReader(r.Body, 512<<10)).Decode(&e); err != nil || e.DetailType == "" {
			writeError(w, http.StatusBadRequest, "INVALID_EVENT", `The body must be an event such as {"detail-type": "Sandbox Refresh Requested", "detail": {"tenant": "acme", "sandbox": "uat1"}}.`)
			return
		}
		if e.ID == "" {
			e.ID = uuid.NewString()
		}
		if e.Time.IsZero() {
			e.Time = time.Now().UTC()
		}
		if e.Source == "" {
			e.Source = "local"
		}
		bus.Record(eventbus.Event{ID: e.ID, DetailType: e.DetailType, Source: e.Source, Time: e.Time, Detail: e.Detail})
		if err := onEvent(r.Context(), e); err != nil {
			writeError(w, http.StatusServiceUnavailable, access.AsError(err).Code, "The event could not be handled; send it again.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"EventId": e.ID})
	})
}

// busRoute is GET /local/events: every event on the local bus, oldest first.
func busRoute(bus *eventbus.Memory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(bus.Events())
	})
}
