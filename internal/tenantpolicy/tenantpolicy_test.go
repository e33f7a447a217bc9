package tenantpolicy_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/tenantpolicy"
)

// memStore is a hand-written Store: one tenant's policy, with the version
// condition DynamoDB's store applies; before runs ahead of each write (a
// concurrent change).
type memStore struct {
	policy *access.Policy
	puts   int
	events []audit.Event // each stored change's
	before func(m *memStore)
}

func (m *memStore) GetPolicy(context.Context, string) (access.Policy, error) {
	if m.policy == nil {
		return access.DefaultPolicy(), nil
	}
	return *m.policy, nil
}

func (m *memStore) PutPolicy(_ context.Context, _ string, p access.Policy, ev audit.Event) error {
	if m.before != nil {
		m.before(m)
	}
	stored := 0
	if m.policy != nil {
		stored = m.policy.Version
	}
	if p.Version != stored+1 {
		return tenantpolicy.ErrChanged()
	}
	m.policy, m.puts, m.events = &p, m.puts+1, append(m.events, ev)
	return nil
}

var admin = access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthSession, Admin: true, Scopes: access.AllScopes()}

func days(n int) *int { return &n }

func valid() tenantpolicy.Input {
	return tenantpolicy.Input{MaxLifespanDays: days(90), RequireExpiry: true, AllowedScopes: []string{"compliance-jobs:run", "tokens:read"}}
}

func TestOnlyASignedInAdministratorMayChangeThePolicy(t *testing.T) {
	tests := []struct {
		name     string
		p        access.Principal
		wantCode string
	}{
		{"an administrator's session may", admin, ""},
		{"another user's session may not", access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthSession}, tenantpolicy.CodeAdminRequired},
		{"an API token may not", access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "t1"}, "SESSION_REQUIRED"},
		{"an API token may not, whatever it says of its caller", access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "t1", Admin: true}, "SESSION_REQUIRED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &memStore{}
			got, err := (&tenantpolicy.Service{Store: store}).Put(context.Background(), tc.p, valid())
			if tc.wantCode == "" {
				if err != nil || got.Version != 1 || store.puts != 1 {
					t.Fatalf("got %+v, %v after %d writes, want version 1 stored", got, err, store.puts)
				}
				return
			}
			if e := access.AsError(err); e.Kind != access.EFORBIDDEN || e.Code != tc.wantCode || store.puts != 0 {
				t.Fatalf("got %v after %d writes, want 403 %s and nothing written", err, store.puts, tc.wantCode)
			}
		})
	}
}

func TestABadPolicyIsInvalidPolicyNamingTheFieldAndChangesNothing(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*tenantpolicy.Input)
		field string
	}{
		{"a maximum of 0 days", func(in *tenantpolicy.Input) { in.MaxLifespanDays = days(0) }, "maxLifespanDays"},
		{"a maximum over ten years", func(in *tenantpolicy.Input) { in.MaxLifespanDays = days(3651) }, "maxLifespanDays"},
		{"a maximum that lets tokens never expire", func(in *tenantpolicy.Input) { in.RequireExpiry = false }, "requireExpiry"},
		{"no scope at all", func(in *tenantpolicy.Input) { in.AllowedScopes = []string{} }, "allowedScopes"},
		{"an unknown scope", func(in *tenantpolicy.Input) { in.AllowedScopes = []string{"tokens:read", "tokens:admin"} }, `"tokens:admin"`},
		{"a scope in another case", func(in *tenantpolicy.Input) { in.AllowedScopes = []string{"Tokens:Read"} }, "allowedScopes"},
		{"a negative version", func(in *tenantpolicy.Input) { in.Version = days(-1) }, "version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := access.Policy{AllowedScopes: access.AllScopes(), OwnerOnlyDelete: true, Version: 4}
			store := &memStore{policy: &before}
			in := valid()
			tc.edit(&in)
			_, err := (&tenantpolicy.Service{Store: store}).Put(context.Background(), admin, in)
			if e := access.AsError(err); e.Kind != access.EINVALID || e.Code != tenantpolicy.CodeInvalid || !strings.Contains(e.Message, tc.field) {
				t.Fatalf("got %v, want 400 INVALID_POLICY naming %s", err, tc.field)
			}
			if store.puts != 0 || !reflect.DeepEqual(*store.policy, before) {
				t.Fatalf("got %+v after %d writes, want the policy unchanged", *store.policy, store.puts)
			}
		})
	}
}

func TestAValidPolicyIsStoredInTheSetsOrderEachScopeOnce(t *testing.T) {
	store := &memStore{}
	in := tenantpolicy.Input{AllowedScopes: []string{"compliance-jobs:run", "tokens:read", "compliance-jobs:run"}, OwnerOnlyDelete: true}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	got, err := (&tenantpolicy.Service{Store: store, Now: func() time.Time { return at }}).Put(context.Background(), admin, in)
	want := access.Policy{AllowedScopes: []access.Scope{access.ScopeTokensRead, access.ScopeComplianceJobsRun}, OwnerOnlyDelete: true, Version: 1}
	if err != nil || !reflect.DeepEqual(got, want) || !reflect.DeepEqual(*store.policy, want) {
		t.Fatalf("got %+v (stored %+v), %v, want %+v", got, store.policy, err, want)
	}
	// The change's audit event, written with it: the administrator, the
	// tenant's policy, the version stored.
	wantEvent := audit.Event{Time: at, Tenant: admin.Tenant, Action: audit.TenantPolicyChanged, Actor: audit.ActorOf(admin),
		Target: audit.Target{Type: audit.TargetTenantPolicy, ID: admin.Tenant}, Details: map[string]string{"version": "1"}}
	if len(store.events) != 1 {
		t.Fatalf("got %d events, want 1", len(store.events))
	}
	ev := store.events[0]
	ev.ID = ""
	if !reflect.DeepEqual(ev, wantEvent) {
		t.Fatalf("got event %+v, want %+v", ev, wantEvent)
	}
}

func TestAChangeMadeFromAnOlderVersionIsRefused(t *testing.T) {
	store := &memStore{policy: &access.Policy{AllowedScopes: access.AllScopes(), Version: 2}}
	svc := &tenantpolicy.Service{Store: store}
	in := valid()
	in.Version = days(1) // read before the change that made version 2
	if _, err := svc.Put(context.Background(), admin, in); access.AsError(err).Code != tenantpolicy.CodeChanged || access.ErrorKind(err) != access.ECONFLICT || store.puts != 0 {
		t.Fatalf("got %v after %d writes, want 409 POLICY_CHANGED and nothing written", err, store.puts)
	}
	// The control: made from the stored version, it is the next one.
	in.Version = days(2)
	if got, err := svc.Put(context.Background(), admin, in); err != nil || got.Version != 3 {
		t.Fatalf("got %+v, %v, want version 3", got, err)
	}
}

func TestAChangeThatLosesARaceIsRefusedWithItsVersionAndRetriedWithout(t *testing.T) {
	concurrent := func(m *memStore) {
		if m.puts == 0 && (m.policy == nil || m.policy.Version == 0) {
			m.policy, m.puts = &access.Policy{AllowedScopes: access.AllScopes(), Version: 1}, 1 // another administrator's change lands first
		}
	}
	store := &memStore{before: concurrent}
	in := valid()
	in.Version = days(0)
	if _, err := (&tenantpolicy.Service{Store: store}).Put(context.Background(), admin, in); access.AsError(err).Code != tenantpolicy.CodeChanged {
		t.Fatalf("with its version: got %v, want POLICY_CHANGED", err)
	}
	store = &memStore{before: concurrent}
	in.Version = nil
	got, err := (&tenantpolicy.Service{Store: store}).Put(context.Background(), admin, in)
	if err != nil || got.Version != 2 || *store.policy.MaxLifespanDays != 90 {
		t.Fatalf("without a version: got %+v, %v, want this change stored over the other, as version 2", got, err)
	}
}
