package access_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dcs-access/dcs-access/internal/access"
)

func TestParseScopesKeepsEachScopeOnceInTheDocumentedOrder(t *testing.T) {
	got, err := access.ParseScopes([]string{"compliance-jobs:run", "tokens:read", "compliance-jobs:run"})
	if err != nil || access.FormatScopes(got) != "tokens:read compliance-jobs:run" {
		t.Fatalf("got %q (%v), want tokens:read then compliance-jobs:run", got, err)
	}
	all, err := access.ParseScopeList(access.FormatScopes(access.AllScopes()))
	if err != nil || !slices.Equal(all, access.AllScopes()) {
		t.Fatalf("every scope, written and read back: got %q (%v)", all, err)
	}
}

func TestParseScopesRefusesAnEmptyListAndNamesAnUnknownScope(t *testing.T) {
	for names, want := range map[string]string{
		"":                          "at least one scope",
		"tokens:read tokens:delete": `"tokens:delete"`,
		"Tokens:Read":               `"Tokens:Read"`,
	} {
		_, err := access.ParseScopeList(names)
		if e := access.AsError(err); err == nil || e.Kind != access.EINVALID || e.Code != access.CodeInvalidScope || !strings.Contains(e.Message, want) {
			t.Errorf("%q: got %v, want INVALID_SCOPE naming %s", names, err, want)
		}
	}
}

func TestRequireScopeNamesTheMissingScope(t *testing.T) {
	p := access.Principal{Scopes: []access.Scope{access.ScopeTokensRead}}
	if err := p.RequireScope(access.ScopeTokensRead); err != nil {
		t.Fatalf("a scope the caller has: got %v", err)
	}
	err := p.RequireScope(access.ScopeTokensWrite)
	var missing *access.MissingScopeError
	if e := access.AsError(err); err == nil || e.Kind != access.EFORBIDDEN || e.Code != access.CodeInsufficientScope ||
		!strings.Contains(e.Message, "tokens:write") || !errors.As(err, &missing) || missing.Scope != access.ScopeTokensWrite {
		t.Fatalf("got %v, want 403 INSUFFICIENT_SCOPE naming tokens:write", err)
	}
	if got, want := missing.Challenge(), `Bearer error="insufficient_scope", scope="tokens:write"`; got != want {
		t.Errorf("got challenge %q, want %q", got, want)
	}
}

// The frozen list of tokens from before scopes may only name scopes of the set.
func TestLegacyScopesAreScopesOfTheSet(t *testing.T) {
	for _, s := range access.LegacyScopes() {
		if !slices.Contains(access.AllScopes(), s) {
			t.Errorf("legacy scope %q is not in the set", s)
		}
	}
	if len(access.LegacyScopes()) == 0 {
		t.Fatal("no legacy scopes: tokens from before scopes could do nothing")
	}
}
