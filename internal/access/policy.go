package access

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy is a tenant's token policy: what the tenant's administrators allow
// of the API tokens its users create and rotate. Tokens made before a
// tighter policy keep working; the list flags them (Violations).
type Policy struct {
	// MaxLifespanDays is the longest lifespan a token may have; nil: no
	// maximum. A maximum implies an expiry: a token that never expires
	// outlives every maximum (tenantpolicy refuses a maximum without
	// RequireExpiry, so the stored policy says what it enforces).
	MaxLifespanDays *int
	// RequireExpiry refuses tokens that never expire.
	RequireExpiry bool
	// AllowedScopes are the scopes a token may have, in the documented
	// order. Written out, as a token's scopes are: a scope added to the
	// service later is not allowed by a policy stored before it.
	AllowedScopes []Scope
	// OwnerOnlyDelete lets only a token's associated user, or a tenant
	// administrator, delete it (rotation is its owner's alone anyway).
	OwnerOnlyDelete bool
	// Version counts the policy's changes: 0 for the default policy (none
	// stored), one more with each change. A change may name the version it
	// was made from, and is refused if another came first.
	Version int
}

// DefaultPolicy is the policy of a tenant whose administrators set none:
// everything is allowed, as before tenants had policies, every scope of
// the set included.
func DefaultPolicy() Policy { return Policy{AllowedScopes: AllScopes()} }

// The limits of a policy, by the name the API gives them: what a
// violation names.
const (
	LimitMaxLifespanDays = "maxLifespanDays"
	LimitRequireExpiry   = "requireExpiry"
	LimitAllowedScopes   = "allowedScopes"
)

// Violation is one way a token is outside a policy: the limit it breaks,
// and how, in words a list can show ("lifespan of 365 days exceeds the maximum of 90").
type Violation struct {
	Limit string
	Text  string
}

// Violations lists how t is outside the policy, in the order of the
// limits above; none when it is within it. The one rule for creating and
// rotating tokens (refused when there is any) and for the list's flags.
func (pol Policy) Violations(t Token) []Violation {
	var out []Violation
	switch {
	case t.ExpiresAt == nil && pol.MaxLifespanDays != nil && !pol.RequireExpiry:
		// Not a policy tenantpolicy stores, but never read as "no limit".
		out = append(out, Violation{LimitMaxLifespanDays, fmt.Sprintf("never expires, and the maximum lifespan is %d days", *pol.MaxLifespanDays)})
	case t.ExpiresAt == nil && pol.RequireExpiry:
		out = append(out, Violation{LimitRequireExpiry, "never expires"})
	case t.ExpiresAt != nil && pol.MaxLifespanDays != nil:
		if days := LifespanDays(t); days > *pol.MaxLifespanDays {
			out = append(out, Violation{LimitMaxLifespanDays, fmt.Sprintf("lifespan of %d days exceeds the maximum of %d", days, *pol.MaxLifespanDays)})
		}
	}
	var refused []string
	for _, s := range t.GrantedScopes() {
		if !slices.Contains(pol.AllowedScopes, s) {
			refused = append(refused, string(s))
		}
	}
	switch len(refused) {
	case 0:
	case 1:
		out = append(out, Violation{LimitAllowedScopes, "scope " + refused[0] + " is not allowed"})
	default:
		out = append(out, Violation{LimitAllowedScopes, "scopes " + strings.Join(refused, ", ") + " are not allowed"})
	}
	return out
}

// LifespanDays is how long t lives from its creation, in days, a part of a
// day counted as a day; 0 for a token that never expires. Tokens are made
// with whole days (a rotation keeps its token's), so this is the number
// they were made with.
func LifespanDays(t Token) int {
	if t.ExpiresAt == nil {
		return 0
	}
	d := t.ExpiresAt.Sub(t.CreatedAt)
	days := int(d / (24 * time.Hour))
	if d%(24*time.Hour) != 0 {
		days++
	}
	return days
}

// CodePolicyViolation is the error code of a token that the tenant policy
// does not allow.
const CodePolicyViolation = "POLICY_VIOLATION"

// PolicyError is the cause of a POLICY_VIOLATION: every way the token was
// outside the policy, for a caller that says what to do about it in its own
// words (the pipeline's secrets).
type PolicyError struct{ Violations []Violation }

func (e *PolicyError) Error() string {
	return "outside the tenant policy: " + FormatViolations(e.Violations)
}

// FormatViolations writes violations for a message, each naming its limit:
// "lifespan of 365 days exceeds the maximum of 90 (maxLifespanDays)".
func FormatViolations(vs []Violation) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Text + " (" + v.Limit + ")"
	}
	return strings.Join(parts, "; ")
}

// ErrPolicyViolation is the 400 POLICY_VIOLATION of a token outside the
// policy: the message names each limit it breaks, then says what to do.
func ErrPolicyViolation(vs []Violation, remedy string) *Error {
	return &Error{Kind: EINVALID, Code: CodePolicyViolation,
		Message: "The tenant policy does not allow this token: " + FormatViolations(vs) + ". " + remedy,
		Err:     &PolicyError{Violations: vs}}
}
