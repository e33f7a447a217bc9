package dynamo_test

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/tenantpolicy"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

func ninetyDays() *int { n := 90; return &n }

func TestATenantWithoutAPolicyHasTheDefaultOne(t *testing.T) {
	st, _, _ := newStore(t)
	got, err := st.GetPolicy(context.Background(), "acme")
	if err != nil || !reflect.DeepEqual(got, access.DefaultPolicy()) {
		t.Fatalf("got %+v, %v, want the default policy", got, err)
	}
}

func TestAPolicyIsStoredPerTenantAndReadBackAsWritten(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	p := access.Policy{MaxLifespanDays: ninetyDays(), RequireExpiry: true, AllowedScopes: []access.Scope{access.ScopeTokensRead, access.ScopeComplianceJobsRun}, OwnerOnlyDelete: true, Version: 1}
	if err := st.PutPolicy(ctx, "acme", p, policyChanged(p)); err != nil {
		t.Fatal(err)
	}
	if got, err := st.GetPolicy(ctx, "acme"); err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("got %+v, %v, want %+v", got, err, p)
	}
	if got, _ := st.GetPolicy(ctx, "globex"); !reflect.DeepEqual(got, access.DefaultPolicy()) {
		t.Fatalf("another tenant: got %+v, want the default policy", got)
	}
	// No maximum is no attribute, read back as nil.
	p.MaxLifespanDays, p.RequireExpiry, p.Version = nil, false, 2
	if err := st.PutPolicy(ctx, "acme", p, policyChanged(p)); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetPolicy(ctx, "acme"); got.MaxLifespanDays != nil || got.Version != 2 {
		t.Fatalf("got %+v, want no maximum, version 2", got)
	}
	// The policy item is in the tenant's partition, and no token.
	if list, _, err := st.List(ctx, "acme", 10, ""); err != nil || len(list) != 0 {
		t.Fatalf("got %d tokens, %v: the policy item must not be listed as one", len(list), err)
	}
}

func TestAPolicyIsWrittenOnlyOverTheVersionBeforeIt(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	p := access.Policy{AllowedScopes: access.AllScopes()}
	for _, tc := range []struct {
		version int
		ok      bool
	}{{2, false}, {1, true}, {1, false}, {3, false}, {2, true}} {
		p.Version = tc.version
		err := st.PutPolicy(ctx, "acme", p, policyChanged(p))
		if tc.ok != (err == nil) || (err != nil && (access.AsError(err).Code != tenantpolicy.CodeChanged || access.ErrorKind(err) != access.ECONFLICT)) {
			t.Fatalf("version %d: got %v, want ok=%v (else POLICY_CHANGED)", tc.version, err, tc.ok)
		}
	}
	// Each change that was written has its event; a refused one has none.
	if got := auditEvents(t, st, "acme", audit.TenantPolicyChanged); len(got) != 2 || got[0].Details["version"] != "2" || got[1].Details["version"] != "1" {
		t.Fatalf("got %+v, want the events of versions 2 and 1, newest first", got)
	}
}

// policyChanged is the event of an administrator of acme storing p.
func policyChanged(p access.Policy) audit.Event {
	admin := access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthSession}
	return audit.PolicyChanged(context.Background(), admin, p.Version, t0)
}

// Administrators changing the policy at once, through the service: with
// their versions, exactly one of those who read the same version wins;
// without, every change is stored, each as its own version.
func TestConcurrentChangesLoseNothingSilently(t *testing.T) {
	st, _, _ := newStore(t)
	svc := &tenantpolicy.Service{Store: st}
	admin := access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthSession, Admin: true}
	const n = 8
	put := func(version *int) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = svc.Put(context.Background(), admin, tenantpolicy.Input{AllowedScopes: []string{"tokens:read"}, Version: version})
			})
		}
		wg.Wait()
		return errs
	}
	zero := 0
	won := 0
	for _, err := range put(&zero) {
		switch {
		case err == nil:
			won++
		case access.AsError(err).Code != tenantpolicy.CodeChanged:
			t.Fatalf("got %v, want success or POLICY_CHANGED", err)
		}
	}
	if got, _ := st.GetPolicy(context.Background(), "acme"); won != 1 || got.Version != 1 {
		t.Fatalf("got %d winners and version %d, want exactly one change from version 0", won, got.Version)
	}
	stored := 0
	for _, err := range put(nil) {
		if err == nil {
			stored++
		} else if access.AsError(err).Code != tenantpolicy.CodeChanged {
			t.Fatalf("got %v", err)
		}
	}
	// Each stored change is one version; one that lost every retry says so.
	if got, _ := st.GetPolicy(context.Background(), "acme"); got.Version != 1+stored || stored == 0 {
		t.Fatalf("got version %d after %d stored changes, want %d", got.Version, stored, 1+stored)
	}
}

// transactRecorder is DynamoDB Local's client, keeping each
// TransactWriteItems request.
type transactRecorder struct {
	*ddb.Client
	transactions []*ddb.TransactWriteItemsInput
}

func (c *transactRecorder) TransactWriteItems(ctx context.Context, in *ddb.TransactWriteItemsInput) (*ddb.TransactWriteItemsOutput, error) {
	c.transactions = append(c.transactions, in)
	return c.Client.TransactWriteItems(ctx, in)
}

// The IAM grants let the policy function put only items of
// dynamo.PolicyAttributes in a tenant's partition, and audit items of
// dynamo.AuditItemAttributes, returning none: PutPolicy's transaction (the
// policy and its event) must fit them.
func TestPutPolicyWritesOnlyTheAttributesItsGrantAllows(t *testing.T) {
	client, table := testenv.Table(t)
	rec := &transactRecorder{Client: client}
	st := dynamo.New(rec, table, time.Now)
	p := access.Policy{MaxLifespanDays: ninetyDays(), RequireExpiry: true, AllowedScopes: access.AllScopes(), OwnerOnlyDelete: true, Version: 1}
	if err := st.PutPolicy(context.Background(), "acme", p, policyChanged(p)); err != nil {
		t.Fatal(err)
	}
	p.Version = 2
	if err := st.PutPolicy(context.Background(), "acme", p, policyChanged(p)); err != nil {
		t.Fatal(err)
	}
	if len(rec.transactions) != 2 {
		t.Fatalf("got %d transactions, want 2", len(rec.transactions))
	}
	for _, tx := range rec.transactions {
		if len(tx.TransactItems) != 2 || tx.TransactItems[0].Put == nil || tx.TransactItems[1].Put == nil {
			t.Fatalf("got %+v, want two puts: the policy and its event", tx.TransactItems)
		}
		policy, event := tx.TransactItems[0].Put, tx.TransactItems[1].Put
		// With every attribute there is (a maximum set), the item is the list.
		if got := slices.Sorted(maps.Keys(policy.Item)); !reflect.DeepEqual(got, slices.Sorted(slices.Values(dynamo.PolicyAttributes))) {
			t.Errorf("policy: got attributes %v, want exactly %v", got, dynamo.PolicyAttributes)
		}
		if cond := aws.ToString(policy.ConditionExpression); cond != "attribute_not_exists(sk)" && cond != "version = :previous" {
			t.Errorf("got condition %q, which names attributes outside the grant's", cond)
		}
		for _, k := range slices.Sorted(maps.Keys(event.Item)) {
			if !slices.Contains(dynamo.AuditItemAttributes, k) {
				t.Errorf("event: attribute %s is outside the audit grant's %v", k, dynamo.AuditItemAttributes)
			}
		}
		if pk := event.Item["pk"].(*types.AttributeValueMemberS).Value; !strings.HasPrefix(pk, "AUDIT#") {
			t.Errorf("event: got partition %s, want an audit partition", pk)
		}
		for _, put := range []*types.Put{policy, event} {
			if r := put.ReturnValuesOnConditionCheckFailure; r != "" && r != types.ReturnValuesOnConditionCheckFailureNone {
				t.Errorf("got ReturnValuesOnConditionCheckFailure %s, want none", r)
			}
		}
	}
}
