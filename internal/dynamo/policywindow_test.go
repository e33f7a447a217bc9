package dynamo_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/tenantpolicy"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
	"github.com/dcs-access/dcs-access/internal/tokentest"
)

// The window between a create's (or a rotation's, or a delete's) read of
// the tenant policy and its write, made deterministic: the store's client
// runs an administrator's change of the policy just before it sends a
// token's transaction, so the change lands after the service's check and
// before its write, every time, with no sleep.

// changeBeforeTokenWrite is DynamoDB Local's client; before each of the
// next `times` transactions that put or delete a token item it calls
// change.
type changeBeforeTokenWrite struct {
	*ddb.Client
	times       int
	change      func()
	tokenWrites int                            // transactions that put or delete a token item, the cancelled included
	seen        []*ddb.TransactWriteItemsInput // every transaction sent
}

func (c *changeBeforeTokenWrite) TransactWriteItems(ctx context.Context, in *ddb.TransactWriteItemsInput) (*ddb.TransactWriteItemsOutput, error) {
	c.seen = append(c.seen, in)
	if writesAToken(in) {
		c.tokenWrites++
		if c.times > 0 {
			c.times--
			c.change()
		}
	}
	return c.Client.TransactWriteItems(ctx, in)
}

func writesAToken(in *ddb.TransactWriteItemsInput) bool {
	for _, it := range in.TransactItems {
		var sk types.AttributeValue
		switch {
		case it.Put != nil:
			sk = it.Put.Item["sk"]
		case it.Delete != nil:
			sk = it.Delete.Key["sk"]
		}
		if sk, ok := sk.(*types.AttributeValueMemberS); ok && strings.HasPrefix(sk.Value, "TOKEN#") {
			return true
		}
	}
	return false
}

// policyRace is a tokens service on a store whose client races it, and an
// administrator of acme who changes the policy through another store on
// the same table (whose writes the hook does not see).
type policyRace struct {
	table    string
	client   *changeBeforeTokenWrite
	store    *dynamo.Store
	tokens   *tokens.Service
	policies *tenantpolicy.Service
}

func newPolicyRace(t *testing.T) *policyRace {
	t.Helper()
	raw, table := testenv.Table(t)
	client := &changeBeforeTokenWrite{Client: raw}
	signer := tokentest.NewSigner(t)
	now := func() time.Time { return t0 }
	st := dynamo.New(client, table, now)
	return &policyRace{
		table: table, client: client, store: st,
		tokens:   &tokens.Service{Store: st, Rotations: st, Minter: apitoken.Minter{Issuer: "dcs-access:test", Signer: signer}, Now: now, NewID: tokens.NewID},
		policies: &tenantpolicy.Service{Store: dynamo.New(raw, table, now), Now: now},
	}
}

var acmeAdmin = access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthSession, Admin: true}

// set stores in as acme's policy, failing the test if it cannot.
func (r *policyRace) set(t *testing.T, in tenantpolicy.Input) {
	t.Helper()
	if _, err := r.policies.Put(context.Background(), acmeAdmin, in); err != nil {
		t.Fatalf("the administrator's change: %v", err)
	}
}

// changeBeforeWrites makes the administrator store in just before each of
// the next times token writes.
func (r *policyRace) changeBeforeWrites(t *testing.T, times int, in tenantpolicy.Input) {
	r.client.times, r.client.tokenWrites = times, 0
	r.client.change = func() { r.set(t, in) }
}

// tokensOf lists acme's tokens (ids), and fails the test on an error.
func (r *policyRace) tokensOf(t *testing.T) []access.Token {
	t.Helper()
	list, _, err := r.store.List(context.Background(), "acme", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	return list
}

var (
	allScopes  = strings.Fields(access.FormatScopes(access.AllScopes()))
	within30   = tenantpolicy.Input{MaxLifespanDays: intp(30), RequireExpiry: true, AllowedScopes: allScopes}
	readOnly   = tenantpolicy.Input{AllowedScopes: []string{"tokens:read"}}
	everything = tenantpolicy.Input{AllowedScopes: allScopes}
)

func intp(n int) *int { return &n }

func TestAPolicyTightenedBetweenTheCheckAndTheWriteRefusesTheCreate(t *testing.T) {
	for name, tc := range map[string]struct {
		before    *tenantpolicy.Input // nil: none stored, the default policy
		tightened tenantpolicy.Input
		limit     string
	}{
		"from the default policy to a maximum": {nil, within30, access.LimitMaxLifespanDays},
		"from a stored policy to fewer scopes": {&everything, readOnly, access.LimitAllowedScopes},
	} {
		t.Run(name, func(t *testing.T) {
			r := newPolicyRace(t)
			if tc.before != nil {
				r.set(t, *tc.before)
			}
			allowed := len(auditEvents(t, r.store, "acme", audit.TenantPolicyChanged))
			r.changeBeforeWrites(t, 1, tc.tightened)
			_, err := r.tokens.Create(context.Background(), session("ada@example.com"), tokens.CreateInput{Description: "nightly", LifespanDays: intp(90)})
			if len(auditEvents(t, r.store, "acme", audit.TenantPolicyChanged)) != allowed+1 {
				t.Fatal("the policy was not changed in the window: the test tested nothing")
			}
			if e := access.AsError(err); e.Code != access.CodePolicyViolation || e.Kind != access.EINVALID || !strings.Contains(e.Message, "("+tc.limit+")") {
				t.Fatalf("got %v, want 400 POLICY_VIOLATION naming %s", err, tc.limit)
			}
			if list := r.tokensOf(t); len(list) != 0 {
				t.Fatalf("got %+v stored, want no token outside the new policy", list)
			}
			if evs := auditEvents(t, r.store, "acme", audit.TokenCreated); len(evs) != 0 {
				t.Fatalf("got %+v, want no token-created event", evs)
			}
		})
	}
}

func TestAPolicyTightenedBetweenTheCheckAndTheWriteRefusesTheRotation(t *testing.T) {
	r := newPolicyRace(t)
	old, err := r.tokens.Create(context.Background(), session("ada@example.com"), tokens.CreateInput{Description: "nightly", LifespanDays: intp(90)})
	if err != nil {
		t.Fatal(err)
	}
	r.changeBeforeWrites(t, 1, within30)
	_, err = r.tokens.Rotate(context.Background(), session("ada@example.com"), old.ID, tokens.RotateInput{OverlapMinutes: 60})
	if e := access.AsError(err); e.Code != access.CodePolicyViolation || !strings.Contains(e.Message, "("+access.LimitMaxLifespanDays+")") {
		t.Fatalf("got %v, want 400 POLICY_VIOLATION naming maxLifespanDays", err)
	}
	list := r.tokensOf(t)
	if len(list) != 1 || list[0].ID != old.ID || list[0].Rotation.Replaced != nil {
		t.Fatalf("got %+v, want the old token alone, not replaced", list)
	}
	if evs := auditEvents(t, r.store, "acme", audit.TokenRotated); len(evs) != 0 {
		t.Fatalf("got %+v, want no rotation event", evs)
	}
}

// A change in the window that still allows the token: the write is
// refused once (its policy check), the service reads the new policy,
// checks again, and writes under it.
func TestAHarmlessPolicyChangeInTheWindowStillMakesTheToken(t *testing.T) {
	harmless := everything
	harmless.OwnerOnlyDelete = true
	t.Run("create", func(t *testing.T) {
		r := newPolicyRace(t)
		r.changeBeforeWrites(t, 1, harmless) // none stored, then version 1
		created, err := r.tokens.Create(context.Background(), session("ada@example.com"), tokens.CreateInput{Description: "nightly", LifespanDays: intp(90)})
		if err != nil {
			t.Fatalf("got %v, want the token made under the new policy", err)
		}
		if r.client.tokenWrites != 2 {
			t.Fatalf("got %d token writes, want 2: one refused by the changed policy, one under it", r.client.tokenWrites)
		}
		if list := r.tokensOf(t); len(list) != 1 || list[0].ID != created.ID {
			t.Fatalf("got %+v, want the one token", list)
		}
		if evs := auditEvents(t, r.store, "acme", audit.TokenCreated); len(evs) != 1 {
			t.Fatalf("got %d token-created events, want 1", len(evs))
		}
	})
	t.Run("rotation", func(t *testing.T) {
		r := newPolicyRace(t)
		r.set(t, everything)
		old, err := r.tokens.Create(context.Background(), session("ada@example.com"), tokens.CreateInput{Description: "nightly", LifespanDays: intp(90)})
		if err != nil {
			t.Fatal(err)
		}
		r.changeBeforeWrites(t, 1, harmless) // version 1, then 2
		rotated, err := r.tokens.Rotate(context.Background(), session("ada@example.com"), old.ID, tokens.RotateInput{OverlapMinutes: 60})
		if err != nil {
			t.Fatalf("got %v, want the rotation made under the new policy", err)
		}
		if r.client.tokenWrites != 2 {
			t.Fatalf("got %d token writes, want 2", r.client.tokenWrites)
		}
		if got, err := r.store.Get(context.Background(), "acme", old.ID); err != nil || got.Rotation.Replaced == nil || got.Rotation.Replaced.By != rotated.ID {
			t.Fatalf("got %+v, %v, want the old token replaced by %s", got, err, rotated.ID)
		}
	})
}

// A policy that changes before every attempt: after a bounded number the
// answer is a 503 to retry, and nothing is written.
func TestAPolicyThatKeepsChangingIsRetriedABoundedNumberOfTimes(t *testing.T) {
	r := newPolicyRace(t)
	r.changeBeforeWrites(t, 100, everything)
	_, err := r.tokens.Create(context.Background(), session("ada@example.com"), tokens.CreateInput{Description: "nightly"})
	if access.ErrorKind(err) != access.EUNAVAILABLE || !strings.Contains(access.AsError(err).Message, "policy") {
		t.Fatalf("got %v, want 503 saying the policy kept changing", err)
	}
	if r.client.tokenWrites != 3 {
		t.Fatalf("got %d token writes, want 3", r.client.tokenWrites)
	}
	if list := r.tokensOf(t); len(list) != 0 {
		t.Fatalf("got %+v, want nothing stored", list)
	}
}

func session(user string) access.Principal {
	return access.Principal{User: user, Tenant: "acme", AuthType: access.AuthSession}
}

// The minting functions and the delete function may ConditionCheckItem
// only the attributes dynamo.PolicyCheckAttributes of a tenant's items,
// returning none: the check in every create, rotation and delete must fit
// that grant.
func TestThePolicyCheckNamesOnlyTheAttributesItsGrantAllows(t *testing.T) {
	r := newPolicyRace(t)
	ctx := context.Background()
	first, err := r.tokens.Create(ctx, session("ada@example.com"), tokens.CreateInput{Description: "under none"})
	if err != nil {
		t.Fatal(err)
	}
	r.set(t, everything)
	second, err := r.tokens.Create(ctx, session("ada@example.com"), tokens.CreateInput{Description: "under version 1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.tokens.Rotate(ctx, session("ada@example.com"), first.ID, tokens.RotateInput{}); err != nil {
		t.Fatal(err)
	}
	if err := r.tokens.Delete(ctx, session("grace@example.com"), second.ID); err != nil {
		t.Fatal(err)
	}
	var checks []*types.ConditionCheck
	for _, tx := range r.client.seen {
		for _, it := range tx.TransactItems {
			if it.ConditionCheck != nil {
				checks = append(checks, it.ConditionCheck)
			}
		}
	}
	if len(checks) != 4 || len(r.client.seen) != 4 {
		t.Fatalf("got %d checks in %d transactions, want one in each of 4", len(checks), len(r.client.seen))
	}
	conditions := map[string]bool{}
	for _, c := range checks {
		cond := aws.ToString(c.ConditionExpression)
		conditions[cond] = true
		for _, name := range regexp.MustCompile(`[A-Za-z_]\w*`).FindAllString(regexp.MustCompile(`:\w+`).ReplaceAllString(cond, ""), -1) {
			if name != "attribute_not_exists" && name != "AND" && !slices.Contains(dynamo.PolicyCheckAttributes, name) {
				t.Errorf("condition %q names %s, outside the grant's %v", cond, name, dynamo.PolicyCheckAttributes)
			}
		}
		if len(c.ExpressionAttributeNames) != 0 {
			t.Errorf("got attribute names %v, want none", c.ExpressionAttributeNames)
		}
		pk := c.Key["pk"].(*types.AttributeValueMemberS).Value
		if sk := c.Key["sk"].(*types.AttributeValueMemberS).Value; pk != "TENANT#acme" || sk != "POLICY" {
			t.Errorf("got the check on %s %s, want acme's policy item", pk, sk)
		}
		if v := c.ReturnValuesOnConditionCheckFailure; v != "" && v != types.ReturnValuesOnConditionCheckFailureNone {
			t.Errorf("got ReturnValuesOnConditionCheckFailure %s, want none", v)
		}
	}
	if !conditions["attribute_not_exists(sk)"] || !conditions["version = :version"] {
		t.Errorf("got conditions %v, want both the none-stored and the version check", conditions)
	}
}
