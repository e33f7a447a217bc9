package tokens_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// The tenant policy on creation, rotation, deletion and the list, on
// hand-written stores; internal/localserver's policy tests run the same
// rules on DynamoDB Local through the local stack.

func policyOf(max *int, requireExpiry bool, scopes ...access.Scope) access.Policy {
	if scopes == nil {
		scopes = access.AllScopes()
	}
	return access.Policy{MaxLifespanDays: max, RequireExpiry: requireExpiry, AllowedScopes: scopes, Version: 1}
}

func TestCreateAndRotateOutsideThePolicyArePolicyViolationsThatWriteNothing(t *testing.T) {
	ninety := policyOf(days(90), true)
	maskingOnly := policyOf(nil, false, access.ScopeComplianceJobsRun)
	tests := []struct {
		name      string
		policy    access.Policy
		lifespan  *int     // of the token created, and of the one rotated
		scopes    []string // nil: every scope
		wantLimit string   // "": allowed
	}{
		{"the default policy allows a token that never expires", access.DefaultPolicy(), nil, nil, ""},
		{"a lifespan of the maximum is allowed", ninety, days(90), nil, ""},
		{"a lifespan over the maximum is refused", ninety, days(91), nil, access.LimitMaxLifespanDays},
		{"no lifespan is refused when tokens must expire", policyOf(nil, true), nil, nil, access.LimitRequireExpiry},
		{"a lifespan is allowed when tokens must expire", policyOf(nil, true), days(3650), nil, ""},
		{"an allowed scope is allowed", maskingOnly, nil, []string{"compliance-jobs:run"}, ""},
		{"a scope that is not allowed is refused", maskingOnly, nil, []string{"compliance-jobs:run", "tokens:write"}, access.LimitAllowedScopes},
		{"every scope, by leaving scopes out, is refused when some are not allowed", maskingOnly, nil, nil, access.LimitAllowedScopes},
	}
	for _, tc := range tests {
		t.Run("create: "+tc.name, func(t *testing.T) {
			store := &fakeStore{
				GetPolicyFn: func(_ context.Context, tenant string) (access.Policy, error) {
					if tenant != "acme" {
						t.Errorf("got the policy of %q, want the caller's tenant's", tenant)
					}
					return tc.policy, nil
				},
				CreateFn: func(context.Context, access.Token, audit.Event) error {
					if tc.wantLimit != "" {
						t.Error("a token outside the policy was stored")
					}
					return nil
				},
			}
			var grants []apitoken.Grant
			in := tokens.CreateInput{Description: "d", LifespanDays: tc.lifespan}
			if tc.scopes != nil {
				in.Scopes = &tc.scopes
			}
			_, err := newService(store, &grants).Create(context.Background(), session, in)
			checkPolicyAnswer(t, err, tc.wantLimit, "Create it within the policy")
			if tc.wantLimit != "" && len(grants) != 0 {
				t.Errorf("got %d tokens signed, want none", len(grants))
			}
		})
		t.Run("rotate: "+tc.name, func(t *testing.T) {
			created := now.Add(-time.Hour)
			old := access.Token{ID: "old", Tenant: "acme", Description: "d", AssociatedUser: session.User, CreatedAt: created, Scopes: access.AllScopes()}
			if tc.lifespan != nil {
				exp := created.AddDate(0, 0, *tc.lifespan)
				old.ExpiresAt = &exp
			}
			if tc.scopes != nil {
				old.Scopes, _ = access.ParseScopes(tc.scopes)
			}
			rot := &fakeRotations{
				GetFn: func(context.Context, string, string) (access.Token, error) { return old, nil },
				RotateFn: func(context.Context, access.Token, access.Token, access.Replacement) error {
					if tc.wantLimit != "" {
						t.Error("a rotation outside the policy was stored")
					}
					return nil
				},
			}
			var grants []apitoken.Grant
			s := rotatingService(rot, &grants)
			s.Store.(*fakeStore).GetPolicyFn = func(context.Context, string) (access.Policy, error) { return tc.policy, nil }
			_, err := s.Rotate(context.Background(), session, "old", tokens.RotateInput{})
			checkPolicyAnswer(t, err, tc.wantLimit, "A rotation keeps the token's lifespan and scopes")
			if tc.wantLimit != "" && len(grants) != 0 {
				t.Errorf("got %d tokens signed, want none", len(grants))
			}
		})
	}
}

// checkPolicyAnswer: nil when no limit is broken, else POLICY_VIOLATION
// naming the limit, saying what to do, and carrying the violations.
func checkPolicyAnswer(t *testing.T, err error, limit, remedy string) {
	t.Helper()
	if limit == "" {
		if err != nil {
			t.Fatalf("got %v, want the token", err)
		}
		return
	}
	e := access.AsError(err)
	var outside *access.PolicyError
	if e.Kind != access.EINVALID || e.Code != access.CodePolicyViolation || !strings.Contains(e.Message, "("+limit+")") || !strings.Contains(e.Message, remedy) ||
		!errors.As(err, &outside) || outside.Violations[0].Limit != limit {
		t.Fatalf("got %v, want 400 POLICY_VIOLATION naming %s and saying %q", err, limit, remedy)
	}
}

func TestATokenIsNotMadeWhenThePolicyCannotBeRead(t *testing.T) {
	down := access.Unavailable(errors.New("throttled"))
	store := &fakeStore{
		GetPolicyFn: func(context.Context, string) (access.Policy, error) { return access.Policy{}, down },
		CreateFn:    func(context.Context, access.Token, audit.Event) error { t.Fatal("stored without a policy"); return nil },
	}
	var grants []apitoken.Grant
	if _, err := newService(store, &grants).Create(context.Background(), session, tokens.CreateInput{}); !errors.Is(err, down) || len(grants) != 0 {
		t.Fatalf("got %v and %d signed, want the store's error and none", err, len(grants))
	}
}

// The service hands the store whom it deletes for: nothing for an
// administrator (anyone's token, and no policy read), and otherwise the
// caller's user and the policy it read. The store's conditional delete
// decides, under that policy and only while it is stored (internal/dynamo
// tests it on DynamoDB Local, internal/localserver through the API). The
// service itself reads no token.
func TestADeleteIsHandedToTheStoreWithTheCallerAndThePolicyItRead(t *testing.T) {
	admin := access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthSession, Admin: true}
	colleague := access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthSession}
	adasToken := access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "t2"}
	colleaguesToken := access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "t3"}
	// An API token of an administrator is not one (access.Principal.TenantAdmin).
	adminsToken := access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "t4", Admin: true}
	tests := []struct {
		name            string
		ownerOnlyDelete bool
		p               access.Principal
		user            string // the store is handed, with the policy; none: tokens.Deleter{}
		policyReads     int
	}{
		{"without the rule: the colleague, under it", false, colleague, "grace@example.com", 1},
		{"an administrator without the rule: anyone's", false, admin, "", 0},
		{"the owner's session: its user", true, session, "ada@example.com", 1},
		{"one of the owner's tokens: its user", true, adasToken, "ada@example.com", 1},
		{"an administrator: anyone's", true, admin, "", 0},
		{"a colleague: the colleague", true, colleague, "grace@example.com", 1},
		{"a colleague's token: the colleague", true, colleaguesToken, "grace@example.com", 1},
		{"an administrator's API token: its user", true, adminsToken, "grace@example.com", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol := access.DefaultPolicy()
			pol.OwnerOnlyDelete, pol.Version = tc.ownerOnlyDelete, 7
			var handed []tokens.Deleter
			reads := 0
			store := &fakeStore{
				GetPolicyFn: func(context.Context, string) (access.Policy, error) { reads++; return pol, nil },
				GetFn: func(context.Context, string, string) (access.Token, error) {
					t.Fatal("the service read the token")
					return access.Token{}, nil
				},
				DeleteFn: func(_ context.Context, _, _ string, by tokens.Deleter, _ audit.Event) error {
					handed = append(handed, by)
					return nil
				},
			}
			want := tokens.Deleter{}
			if tc.user != "" {
				want = tokens.Deleter{User: tc.user, Under: pol}
			}
			if err := newService(store, nil).Delete(context.Background(), tc.p, "t1"); err != nil || len(handed) != 1 || !reflect.DeepEqual(handed[0], want) {
				t.Fatalf("got %v, handed %+v, want one delete for %+v", err, handed, want)
			}
			if reads != tc.policyReads {
				t.Fatalf("got %d reads of the policy, want %d", reads, tc.policyReads)
			}
		})
	}
}

// A store that refused the delete because the policy changed is asked
// again under the policy read again, at most three times in all.
func TestADeleteRefusedByAChangedPolicyIsDecidedAgainUnderTheNewOne(t *testing.T) {
	colleague := access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthSession}
	for name, tc := range map[string]struct {
		changes   int // the store's refusals before it deletes
		wantUnder []int
		wantErr   bool // a 503
	}{
		"changed once":      {1, []int{1, 2}, false},
		"changed each time": {5, []int{1, 2, 3}, true},
	} {
		t.Run(name, func(t *testing.T) {
			version := 0
			var under []int
			store := &fakeStore{
				GetPolicyFn: func(context.Context, string) (access.Policy, error) {
					version++
					pol := access.DefaultPolicy()
					pol.Version = version
					return pol, nil
				},
				DeleteFn: func(_ context.Context, _, _ string, by tokens.Deleter, _ audit.Event) error {
					under = append(under, by.Under.Version)
					if len(under) <= tc.changes {
						return tokens.ErrPolicyChanged()
					}
					return nil
				},
			}
			err := newService(store, nil).Delete(context.Background(), colleague, "t1")
			if (err != nil) != tc.wantErr || (tc.wantErr && access.ErrorKind(err) != access.EUNAVAILABLE) {
				t.Fatalf("got %v, want a 503: %v", err, tc.wantErr)
			}
			if !slices.Equal(under, tc.wantUnder) {
				t.Fatalf("got deletes under versions %v, want %v", under, tc.wantUnder)
			}
		})
	}
}

func TestTheListCarriesThePolicyItWasReadWith(t *testing.T) {
	pol := policyOf(days(30), true)
	store := &fakeStore{
		ListFn:      func(context.Context, string, int, string) ([]access.Token, string, error) { return nil, "", nil },
		GetPolicyFn: func(context.Context, string) (access.Policy, error) { return pol, nil },
	}
	page, err := newService(store, nil).List(context.Background(), session, 0, "")
	if err != nil || page.Policy.MaxLifespanDays == nil || *page.Policy.MaxLifespanDays != 30 {
		t.Fatalf("got %+v, %v, want the tenant's policy", page.Policy, err)
	}
}
