package dynamo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/tenantpolicy"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// The window between a delete's read of the tenant policy and its write,
// made deterministic with policywindow_test.go's hook: an administrator
// changes the policy just before the store sends the token's delete.

// deleteRace is a policyRace with one token of Ada's, made under before
// (nil: none stored, the default policy).
func deleteRace(t *testing.T, before *tenantpolicy.Input) (*policyRace, tokens.Created) {
	t.Helper()
	r := newPolicyRace(t)
	if before != nil {
		r.set(t, *before)
	}
	adas, err := r.tokens.Create(context.Background(), session("ada@example.com"), tokens.CreateInput{Description: "Ada's"})
	if err != nil {
		t.Fatal(err)
	}
	return r, adas
}

var ownerOnly = func() tenantpolicy.Input { in := everything; in.OwnerOnlyDelete = true; return in }()

// kept fails the test unless Ada's token, its description and the tenant's
// delete events are as they were: nothing deleted.
func kept(t *testing.T, r *policyRace, adas tokens.Created) {
	t.Helper()
	if _, err := r.store.Get(context.Background(), "acme", adas.ID); err != nil {
		t.Fatalf("the token: got %v, want it kept", err)
	}
	if evs := auditEvents(t, r.store, "acme", audit.TokenDeleted); len(evs) != 0 {
		t.Fatalf("got %+v, want no token-deleted event", evs)
	}
	if _, err := r.tokens.Create(context.Background(), session("ada@example.com"), tokens.CreateInput{Description: "ada's"}); access.AsError(err).Code != tokens.CodeDescriptionTaken {
		t.Fatalf("its description: got %v, want it still taken", err)
	}
}

// deleted fails the test unless Ada's token is gone, with one delete event.
func deleted(t *testing.T, r *policyRace, adas tokens.Created) {
	t.Helper()
	if _, err := r.store.Get(context.Background(), "acme", adas.ID); access.ErrorKind(err) != access.ENOTFOUND {
		t.Fatalf("the token: got %v, want it deleted", err)
	}
	if evs := auditEvents(t, r.store, "acme", audit.TokenDeleted); len(evs) != 1 {
		t.Fatalf("got %d token-deleted events, want 1", len(evs))
	}
}

func TestOwnerOnlyDeleteTurnedOnBetweenTheReadAndTheDeleteRefusesAColleague(t *testing.T) {
	for name, before := range map[string]*tenantpolicy.Input{
		"from the default policy": nil,
		"from a stored policy":    &everything,
	} {
		t.Run(name, func(t *testing.T) {
			r, adas := deleteRace(t, before)
			changes := len(auditEvents(t, r.store, "acme", audit.TenantPolicyChanged))
			r.changeBeforeWrites(t, 1, ownerOnly)
			err := r.tokens.Delete(context.Background(), session("grace@example.com"), adas.ID)
			if len(auditEvents(t, r.store, "acme", audit.TenantPolicyChanged)) != changes+1 {
				t.Fatal("the policy was not changed in the window: the test tested nothing")
			}
			e := access.AsError(err)
			if e.Kind != access.EFORBIDDEN || e.Code != tokens.CodeNotOwner || !strings.Contains(e.Message, "(ada@example.com)") {
				t.Fatalf("got %v, want 403 NOT_TOKEN_OWNER naming ada@example.com", err)
			}
			if r.client.tokenWrites != 2 {
				t.Fatalf("got %d token deletes sent, want 2: one refused by the changed policy, one by the token's user", r.client.tokenWrites)
			}
			kept(t, r, adas)
		})
	}
}

// A change in the window that still lets the colleague delete: refused
// once (its policy check), then decided again under the new policy and
// made. Turning ownerOnlyDelete off is one: the delete the old policy's
// rule refused is made.
func TestAPolicyChangeInTheWindowThatAllowsTheDeleteStillDeletes(t *testing.T) {
	for name, tc := range map[string]struct{ before, after tenantpolicy.Input }{
		"a harmless change":          {everything, within30},
		"ownerOnlyDelete turned off": {ownerOnly, everything},
	} {
		t.Run(name, func(t *testing.T) {
			r, adas := deleteRace(t, &tc.before)
			r.changeBeforeWrites(t, 1, tc.after)
			if err := r.tokens.Delete(context.Background(), session("grace@example.com"), adas.ID); err != nil {
				t.Fatalf("got %v, want the token deleted under the new policy", err)
			}
			if r.client.tokenWrites != 2 {
				t.Fatalf("got %d token deletes sent, want 2: one refused by the changed policy, one under it", r.client.tokenWrites)
			}
			deleted(t, r, adas)
		})
	}
}

func TestADeleteUnderAPolicyThatKeepsChangingIsA503AfterThree(t *testing.T) {
	r, adas := deleteRace(t, nil)
	r.changeBeforeWrites(t, 100, everything)
	err := r.tokens.Delete(context.Background(), session("grace@example.com"), adas.ID)
	if access.ErrorKind(err) != access.EUNAVAILABLE || !strings.Contains(access.AsError(err).Message, "policy") {
		t.Fatalf("got %v, want 503 saying the policy kept changing", err)
	}
	if r.client.tokenWrites != 3 {
		t.Fatalf("got %d token deletes sent, want 3", r.client.tokenWrites)
	}
	r.client.times = 0 // the administrator is done
	kept(t, r, adas)
}

// Deletes the policy does not decide hold no policy: an administrator's,
// the token's own user's (the rule lets them whatever it says) and leak
// revocation's. Turning ownerOnlyDelete on in the window neither refuses
// nor retries them: one transaction, with no ConditionCheck.
func TestDeletesThePolicyDoesNotDecideHoldNoPolicy(t *testing.T) {
	for name, del := range map[string]func(r *policyRace, id string) error{
		"an administrator": func(r *policyRace, id string) error { return r.tokens.Delete(context.Background(), acmeAdmin, id) },
		"the owner": func(r *policyRace, id string) error {
			return r.tokens.Delete(context.Background(), session("ada@example.com"), id)
		},
		"one of the owner's tokens": func(r *policyRace, id string) error {
			return r.tokens.Delete(context.Background(), access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "t2"}, id)
		},
		"leak revocation": func(r *policyRace, id string) error {
			_, err := r.store.Revoke(context.Background(), "acme", id, audittest.TokenDeleted("acme", id))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			r, adas := deleteRace(t, &everything)
			r.client.seen = nil
			r.changeBeforeWrites(t, 1, ownerOnly)
			if err := del(r, adas.ID); err != nil {
				t.Fatalf("got %v, want the token deleted", err)
			}
			if r.client.times != 0 {
				t.Fatal("the policy was not changed in the window: the test tested nothing")
			}
			if len(r.client.seen) != 1 || holdsThePolicy(r.client.seen[0]) {
				t.Fatalf("got %d transactions (the first holding the policy: %v), want one, holding none", len(r.client.seen), len(r.client.seen) > 0 && holdsThePolicy(r.client.seen[0]))
			}
			deleted(t, r, adas)
		})
	}
}

func holdsThePolicy(in *ddb.TransactWriteItemsInput) bool {
	for _, it := range in.TransactItems {
		if it.ConditionCheck != nil {
			return true
		}
	}
	return false
}
