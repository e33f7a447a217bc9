package access_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
)

func days(n int) *int { return &n }

func TestViolationsNameEachLimitATokenBreaks(t *testing.T) {
	made := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	token := func(lifespan int, scopes ...access.Scope) access.Token {
		t := access.Token{CreatedAt: made, Scopes: scopes}
		if lifespan > 0 {
			exp := made.AddDate(0, 0, lifespan)
			t.ExpiresAt = &exp
		}
		return t
	}
	all := access.AllScopes()
	tests := []struct {
		name   string
		policy access.Policy
		token  access.Token
		want   []access.Violation
	}{
		{"the default policy allows a token that never expires with every scope", access.DefaultPolicy(), token(0, all...), nil},
		{"a lifespan of the maximum is allowed", access.Policy{MaxLifespanDays: days(90), RequireExpiry: true, AllowedScopes: all}, token(90, all...), nil},
		{"a lifespan over the maximum is not", access.Policy{MaxLifespanDays: days(90), RequireExpiry: true, AllowedScopes: all}, token(91, all...),
			[]access.Violation{{access.LimitMaxLifespanDays, "lifespan of 91 days exceeds the maximum of 90"}}},
		{"a token that never expires, when tokens must expire", access.Policy{RequireExpiry: true, AllowedScopes: all}, token(0, all...),
			[]access.Violation{{access.LimitRequireExpiry, "never expires"}}},
		{"a token that never expires, under a maximum that does not say tokens must expire", access.Policy{MaxLifespanDays: days(30), AllowedScopes: all}, token(0, all...),
			[]access.Violation{{access.LimitMaxLifespanDays, "never expires, and the maximum lifespan is 30 days"}}},
		{"one scope that is not allowed", access.Policy{AllowedScopes: []access.Scope{access.ScopeTokensRead}}, token(0, access.ScopeTokensRead, access.ScopeTokensWrite),
			[]access.Violation{{access.LimitAllowedScopes, "scope tokens:write is not allowed"}}},
		{"several scopes that are not allowed, and a lifespan", access.Policy{MaxLifespanDays: days(7), RequireExpiry: true, AllowedScopes: []access.Scope{access.ScopeComplianceJobsRun}},
			token(30, access.ScopeTokensRead, access.ScopeComplianceJobsRun, access.ScopeSandboxRefreshesRun),
			[]access.Violation{{access.LimitMaxLifespanDays, "lifespan of 30 days exceeds the maximum of 7"}, {access.LimitAllowedScopes, "scopes tokens:read, sandbox-refreshes:run are not allowed"}}},
		{"a token from before scopes has the legacy scopes", access.Policy{AllowedScopes: []access.Scope{access.ScopeComplianceJobsRun}}, token(0),
			[]access.Violation{{access.LimitAllowedScopes, "scopes tokens:read, tokens:write, tokens:introspect, sandbox-plans:read, sandbox-plans:write, sandbox-refreshes:read, sandbox-refreshes:run are not allowed"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.Violations(tc.token); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLifespanDaysCountsAPartOfADayAsADay(t *testing.T) {
	made := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		after time.Duration
		want  int
	}{{24 * time.Hour, 1}, {24*time.Hour + time.Second, 2}, {90 * 24 * time.Hour, 90}} {
		exp := made.Add(tc.after)
		if got := access.LifespanDays(access.Token{CreatedAt: made, ExpiresAt: &exp}); got != tc.want {
			t.Errorf("%v: got %d days, want %d", tc.after, got, tc.want)
		}
	}
	if got := access.LifespanDays(access.Token{CreatedAt: made}); got != 0 {
		t.Errorf("a token that never expires: got %d, want 0", got)
	}
}

func TestOnlyASessionIsATenantAdministrator(t *testing.T) {
	for _, tc := range []struct {
		p    access.Principal
		want bool
	}{
		{access.Principal{AuthType: access.AuthSession, Admin: true}, true},
		{access.Principal{AuthType: access.AuthSession}, false},
		{access.Principal{AuthType: access.AuthAPIToken, Admin: true}, false},
	} {
		if got := tc.p.TenantAdmin(); got != tc.want {
			t.Errorf("%+v: got %v, want %v", tc.p, got, tc.want)
		}
	}
}
