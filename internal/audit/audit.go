// Package audit is the record of who changed what: one append-only event per
// change (a token created, a plan saved, a run finished…), written in the
// same DynamoDB transaction as the change itself (internal/dynamo), so that
// no change happens without its record and no record exists without its
// change. The events are listed newest first by GET /audit-events and put on
// the stack's bus (internal/auditstream). An event names its target by id and
// never holds a token string: nothing here is given one.
//
// A new kind of change gets an Action (and a TargetType when it changes a new
// kind of thing); its service builds the event with ByCaller (or New) and
// hands it to the store method that makes the change, which writes it in the
// change's transaction (dynamo's Store.writeAudited).
package audit

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
)

// Action is what a change did, "<target type>.<what happened>".
type Action string

// The actions: a closed set, as the list's action filter names them. An
// action may be added; it is never renamed (events keep it for the
// retention period).
const (
	TokenCreated         Action = "api-token.created"
	TokenRotated         Action = "api-token.rotated" // the target is the token rotated; details.newTokenId its replacement
	TokenDeleted         Action = "api-token.deleted"
	TokenRevokedAsLeaked Action = "api-token.revoked-as-leaked"
	TokenExpired         Action = "api-token.expired" // recorded with the token's "expired" notice (internal/notices)
	TokenUsedFromNewIP   Action = "api-token.used-from-new-ip"
	TenantPolicyChanged  Action = "tenant-policy.changed"
	PlanSaved            Action = "sandbox-plan.saved"
	PlanDeleted          Action = "sandbox-plan.deleted"
	RunStarted           Action = "sandbox-refresh.started"
	RunRedriven          Action = "sandbox-refresh.redriven"
	RunFinished          Action = "sandbox-refresh.finished" // each time the run stops: succeeded, failed, timed out or aborted
)

var actions = []Action{
	TokenCreated, TokenRotated, TokenDeleted, TokenRevokedAsLeaked, TokenExpired, TokenUsedFromNewIP,
	TenantPolicyChanged, PlanSaved, PlanDeleted, RunStarted, RunRedriven, RunFinished,
}

// Actions returns every action, in the documented order.
func Actions() []Action { return slices.Clone(actions) }

// Known reports whether a is one of the actions.
func (a Action) Known() bool { return slices.Contains(actions, a) }

// TargetType is the kind of thing an event's change was made to.
type TargetType string

// The target types, named as the API's resources are.
const (
	TargetToken        TargetType = "api-token"       // id: the token id
	TargetTenantPolicy TargetType = "tenant-policy"   // id: the tenant
	TargetPlan         TargetType = "sandbox-plan"    // id: the sandbox
	TargetRun          TargetType = "sandbox-refresh" // id: the run id
)

// Target is what a change was made to.
type Target struct {
	Type TargetType `json:"type"`
	ID   string     `json:"id"`
}

// ActorType says how whoever made a change proved who they were.
type ActorType string

// The actor types: the API's two kinds of caller, and those that change
// things without a bearer.
const (
	ActorSession             = ActorType(access.AuthSession)  // a signed-in user
	ActorAPIToken            = ActorType(access.AuthAPIToken) // a script with an API token
	ActorAnonymous ActorType = "anonymous"                    // whoever reported leaked tokens (POST /api-tokens/revoke needs no bearer)
	ActorEvent     ActorType = "event"                        // an event on the stack's bus (or a plan's schedule): whoever IAM let put it there
	ActorService   ActorType = "service"                      // dcs-access itself: a token's expiry, a run's end
)

// Actor is who made a change.
type Actor struct {
	Type    ActorType `json:"type"`
	User    string    `json:"user,omitempty"`    // the e-mail of a session's user or of an API token's user
	TokenID string    `json:"tokenId,omitempty"` // the API token's id
	// Source is, for an event, its source ("ci.example",
	// "dcs-access.schedule"); for the service, the part of it that acted
	// ("expiry-notices", "sandbox-refreshes").
	Source string `json:"source,omitempty"`
}

// ActorOf is the verified caller p as an actor.
func ActorOf(p access.Principal) Actor {
	a := Actor{Type: ActorType(p.AuthType), User: p.User}
	if p.AuthType == access.AuthAPIToken {
		a.TokenID = p.TokenID
	}
	return a
}

// Service is dcs-access's own part named part, as an actor.
func Service(part string) Actor { return Actor{Type: ActorService, Source: part} }

// Request is where a change was asked from, as API Gateway saw it: what the
// API functions put in the context of each request (WithRequest), and every
// event made in that context carries.
type Request struct {
	SourceIP  string // requestContext.identity.sourceIp, in its canonical form
	UserAgent string // the User-Agent header, cut to MaxUserAgent bytes
	RequestID string // requestContext.requestId (an event's id for a change an event asked for)
}

// Limits on what a request puts in an event: an event item stays small
// whatever a client sends.
const (
	MaxUserAgent = 512
	MaxRequestID = 128
)

// NewRequest is a Request of what API Gateway passed on, cleaned: an
// address that does not parse is left out, and long values are cut.
func NewRequest(sourceIP, userAgent, requestID string) Request {
	r := Request{UserAgent: cut(userAgent, MaxUserAgent), RequestID: cut(requestID, MaxRequestID)}
	if addr, err := netip.ParseAddr(sourceIP); err == nil {
		r.SourceIP = addr.String()
	}
	return r
}

// cut shortens s to at most n bytes, on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

type requestKey struct{}

// WithRequest is ctx carrying r: the request whose changes the events made
// in ctx record.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom is the request ctx carries; a zero Request for a change no
// request asked for.
func RequestFrom(ctx context.Context) Request {
	r, _ := ctx.Value(requestKey{}).(Request)
	return r
}

// Event is one change's record. Its JSON form is what the API lists, what is
// stored, and the detail of the event on the bus.
type Event struct {
	ID        string    `json:"id"` // a UUIDv7: the same in every copy (the bus may deliver one twice)
	Time      time.Time `json:"time"`
	Tenant    string    `json:"tenant"`
	Action    Action    `json:"action"`
	Actor     Actor     `json:"actor"`
	Target    Target    `json:"target"`
	SourceIP  string    `json:"sourceIp,omitempty"`
	UserAgent string    `json:"userAgent,omitempty"`
	RequestID string    `json:"requestId,omitempty"`
	// Details are a few facts of the change, by action (README, "Audit
	// trail"): a token's description, a rotation's new token, a run's
	// status. Never a secret.
	Details map[string]string `json:"details,omitempty"`
}

// Precision is the resolution of an event's time: events sort by it. A
// service gives an event its clock's reading, not the second its resource
// records (a token's createdAt): changes of the same second keep their order.
const Precision = time.Millisecond

// DefaultRetentionDays is how long events are kept when the stack does not
// say (its AuditRetentionDays parameter): 400 days, a year and its audit.
const DefaultRetentionDays = 400

// New is the event of actor doing action to target of tenant at at, asked by
// the request ctx carries (none when it carries none).
func New(ctx context.Context, tenant string, actor Actor, action Action, target Target, at time.Time) Event {
	r := RequestFrom(ctx)
	return Event{
		ID: uuid.Must(uuid.NewV7()).String(), Time: at.UTC().Truncate(Precision), Tenant: tenant,
		Action: action, Actor: actor, Target: target,
		SourceIP: r.SourceIP, UserAgent: r.UserAgent, RequestID: r.RequestID,
	}
}

// ByCaller is the event of the verified caller p doing action to target at at.
func ByCaller(ctx context.Context, p access.Principal, action Action, target Target, at time.Time) Event {
	return New(ctx, p.Tenant, ActorOf(p), action, target, at)
}

// PolicyChanged is the event of p setting its tenant's token policy to its
// version version at at (tenantpolicy.Service.Put builds it; the store
// writes it in the policy's transaction).
func PolicyChanged(ctx context.Context, p access.Principal, version int, at time.Time) Event {
	return ByCaller(ctx, p, TenantPolicyChanged, Target{Type: TargetTenantPolicy, ID: p.Tenant}, at).
		With("version", strconv.Itoa(version))
}

// With is e with detail key set to value (left out when value is empty).
func (e Event) With(key, value string) Event {
	if value == "" {
		return e
	}
	details := make(map[string]string, len(e.Details)+1)
	for k, v := range e.Details {
		details[k] = v
	}
	details[key] = value
	e.Details = details
	return e
}
