package access

import (
	"fmt"
	"slices"
	"strings"
)

// Scope is one thing a caller may do. An API token carries the scopes it
// was created with, as its signed "scope" claim; a signed-in session has
// every scope. Every route of the API names the scope it needs
// (internal/api's route table), and DCS's masking call needs
// ScopeComplianceJobsRun.
type Scope string

// The scopes: a closed set. A scope may be added; it is never renamed or
// removed, because a token naming a scope outside the set is refused.
const (
	ScopeTokensRead           Scope = "tokens:read"            // list the tenant's tokens
	ScopeTokensWrite          Scope = "tokens:write"           // create and delete tokens
	ScopeTokensIntrospect     Scope = "tokens:introspect"      // ask whether a token is active (token introspection)
	ScopeSandboxPlansRead     Scope = "sandbox-plans:read"     // read refresh plans
	ScopeSandboxPlansWrite    Scope = "sandbox-plans:write"    // save and delete refresh plans
	ScopeSandboxRefreshesRead Scope = "sandbox-refreshes:read" // list and read runs
	ScopeSandboxRefreshesRun  Scope = "sandbox-refreshes:run"  // start and redrive runs
	ScopeComplianceJobsRun    Scope = "compliance-jobs:run"    // run a DCS compliance (masking) job
	ScopeAuditRead            Scope = "audit:read"             // read the tenant's audit trail
)

// allScopes is the set, in the order the documentation lists it; every
// list of scopes this service writes is in this order.
var allScopes = []Scope{
	ScopeTokensRead, ScopeTokensWrite, ScopeTokensIntrospect,
	ScopeSandboxPlansRead, ScopeSandboxPlansWrite,
	ScopeSandboxRefreshesRead, ScopeSandboxRefreshesRun,
	ScopeComplianceJobsRun,
	ScopeAuditRead,
}

// legacyScopes are the scopes of an API token created before tokens had
// scopes (no scope claim, no stored scopes): it could do everything, so it
// is treated as a token created with every scope when scopes came. Frozen:
// a scope added later is not in it, as it is not in the list of any token
// created with every scope before that scope existed (audit:read, added
// with the audit trail, is not in it: a token from before scopes cannot read
// the audit trail).
var legacyScopes = []Scope{
	ScopeTokensRead, ScopeTokensWrite, ScopeTokensIntrospect,
	ScopeSandboxPlansRead, ScopeSandboxPlansWrite,
	ScopeSandboxRefreshesRead, ScopeSandboxRefreshesRun,
	ScopeComplianceJobsRun,
}

// AllScopes returns every scope, in the documented order: what a session
// has, and what a token created without a list of scopes gets.
func AllScopes() []Scope { return slices.Clone(allScopes) }

// LegacyScopes returns the scopes of a token issued before scopes existed.
func LegacyScopes() []Scope { return slices.Clone(legacyScopes) }

// CodeInvalidScope is the error code of a list of scopes that is empty or
// names a scope outside the set.
const CodeInvalidScope = "INVALID_SCOPE"

// CodeInsufficientScope is the error code of a caller without the scope a
// request needs.
const CodeInsufficientScope = "INSUFFICIENT_SCOPE"

// ParseScopes checks names against the set and returns them without
// duplicates, in the documented order. An empty list, or a name outside the
// set (names are case-sensitive, as OAuth's), is INVALID_SCOPE naming it.
func ParseScopes(names []string) ([]Scope, error) {
	if len(names) == 0 {
		return nil, Errorf(EINVALID, CodeInvalidScope, "scopes must name at least one scope (%s), or be left out for all of them.", FormatScopes(allScopes))
	}
	want := map[Scope]bool{}
	for _, name := range names {
		s := Scope(name)
		if !slices.Contains(allScopes, s) {
			return nil, Errorf(EINVALID, CodeInvalidScope, "Unknown scope %q: a scope is one of %s.", name, FormatScopes(allScopes))
		}
		want[s] = true
	}
	out := make([]Scope, 0, len(want))
	for _, s := range allScopes {
		if want[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// ParseScopeList reads a space-separated list, the form of the OAuth
// "scope" claim (RFC 8693 section 4.2, RFC 6749 section 3.3), as ParseScopes does.
func ParseScopeList(list string) ([]Scope, error) { return ParseScopes(strings.Fields(list)) }

// FormatScopes writes scopes space-separated, the form of the "scope" claim.
func FormatScopes(scopes []Scope) string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return strings.Join(names, " ")
}

// HasScope reports whether p may do what s allows.
func (p Principal) HasScope(s Scope) bool { return slices.Contains(p.Scopes, s) }

// RequireScope is nil when p has s, and otherwise the 403
// INSUFFICIENT_SCOPE that names s, caused by a *MissingScopeError.
func (p Principal) RequireScope(s Scope) error {
	if p.HasScope(s) {
		return nil
	}
	return &Error{Kind: EFORBIDDEN, Code: CodeInsufficientScope,
		Message: fmt.Sprintf("This API token does not have the scope %s, which this request needs: use a token created with it.", s),
		Err:     &MissingScopeError{Scope: s}}
}

// MissingScopeError is the scope a caller lacked: what an HTTP answer names
// in its WWW-Authenticate challenge (RFC 6750 section 3.1, insufficient_scope).
type MissingScopeError struct{ Scope Scope }

func (e *MissingScopeError) Error() string { return "missing scope " + string(e.Scope) }

// Challenge is the WWW-Authenticate value of a 403 for the missing scope
// (RFC 6750 section 3: the error, and the scope the request needs).
func (e *MissingScopeError) Challenge() string {
	return `Bearer error="insufficient_scope", scope="` + string(e.Scope) + `"`
}
