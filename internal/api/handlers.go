package api

import (
	"time"

	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/tenantpolicy"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// The constructors below build each handler on its service, with the real
// clock and ids, for the Lambda functions and the local stack alike. They
// take the services' own interfaces, so whoever calls them links only the
// adapters it passes in.

// NewTokens serves the /api-tokens routes on store; minter is nil in the
// functions that do not create tokens.
func NewTokens(store tokens.Store, minter tokens.Minter) *Tokens {
	// A store that can rotate (internal/dynamo's) serves rotations too.
	rotations, _ := store.(tokens.RotationStore)
	return &Tokens{Service: &tokens.Service{Store: store, Minter: minter, Now: time.Now, NewID: tokens.NewID, Rotations: rotations}, Now: time.Now}
}

// Routes are the routes of the function that mints tokens: creating and
// rotating them.
func (h *Tokens) Routes() Router {
	return Router{
		"POST /api-tokens":             h.Create,
		"POST /api-tokens/{id}/rotate": h.Rotate,
	}
}

// NewTenantPolicy serves GET and PUT /tenant-policy on store.
func NewTenantPolicy(store tenantpolicy.Store) *TenantPolicy {
	return &TenantPolicy{Service: &tenantpolicy.Service{Store: store, Now: time.Now}}
}

// NewLeaks serves leak revocation: tokens checked by verifier (the
// authorizer's), revoked in store, announced on bus.
func NewLeaks(verifier tokens.TokenVerifier, store tokens.RevokeStore, bus tokens.Publisher) *Leaks {
	return &Leaks{Service: &tokens.Leaks{
		Verifier: verifier, Store: store, Bus: bus, Now: time.Now,
		Floor: tokens.LeakAnswerFloor, PerToken: tokens.LeakAnswerPerToken, Wait: tokens.Sleep,
	}}
}

// NewPlans serves plans on store, each checked against Salesforce by checker
// before it is stored.
func NewPlans(store plans.Store, sched plans.Schedules, v plans.Validator, checker plans.Checker) *Plans {
	return &Plans{Service: &plans.Service{Store: store, Schedules: sched, Validator: v, Checker: checker, Now: time.Now}}
}

// Routes are the /sandbox-plans routes.
func (h *Plans) Routes() Router {
	return Router{
		"PUT /sandbox-plans/{sandbox}":    h.Put,
		"GET /sandbox-plans/{sandbox}":    h.Get,
		"GET /sandbox-plans":              h.List,
		"DELETE /sandbox-plans/{sandbox}": h.Delete,
	}
}

// RunStore keeps runs and reads the plans they run.
type RunStore interface {
	runs.Store
	runs.PlanReader
}

// NewRuns serves runs on store and machine. Outcomes and skipped requests
// are announced on bus, which only the events need (HandleEvent): the
// routes never publish, so the API function passes nil.
func NewRuns(store RunStore, machine runs.Machine, bus runs.Publisher) *Runs {
	return &Runs{Service: &runs.Service{Store: store, Plans: store, Machine: machine, Publisher: bus, Now: time.Now, RandomID: runs.RandomSuffix}}
}

// Routes are the /sandbox-refreshes routes.
func (h *Runs) Routes() Router {
	return Router{
		"POST /sandbox-refreshes":              h.Start,
		"GET /sandbox-refreshes":               h.List,
		"GET /sandbox-refreshes/{id}":          h.Get,
		"POST /sandbox-refreshes/{id}/redrive": h.Redrive,
	}
}
