package dynamo_test

import (
	"context"
	"testing"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/plans"
)

func TestPlansArePerTenantAndCaseInsensitiveBySandbox(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	p := plans.Plan{Sandbox: "UAT1", LicenseType: "FULL", KeepUsers: []string{"a@b.c"}}
	created, err := st.PutPlan(ctx, "acme", p, audittest.PlanSaved("acme"))
	if err != nil || !created {
		t.Fatalf("first put: got created=%v, %v; want a new plan", created, err)
	}
	p.LicenseType = "PARTIAL"
	if created, err := st.PutPlan(ctx, "acme", p, audittest.PlanSaved("acme")); err != nil || created {
		t.Fatalf("second put: got created=%v, %v; want a replacement", created, err)
	}
	got, err := st.GetPlan(ctx, "acme", "uat1")
	if err != nil || got.LicenseType != "PARTIAL" || got.Sandbox != "UAT1" || len(got.KeepUsers) != 1 {
		t.Fatalf("got %+v, %v; want the replaced plan", got, err)
	}
	if _, err := st.GetPlan(ctx, "globex", "uat1"); access.AsError(err).Code != "PLAN_NOT_FOUND" {
		t.Fatalf("another tenant: got %v, want PLAN_NOT_FOUND", err)
	}
	if _, err := st.PutPlan(ctx, "acme", plans.Plan{Sandbox: "dev2"}, audittest.PlanSaved("acme")); err != nil {
		t.Fatal(err)
	}
	// Tokens in the same partition must not show up as plans.
	if err := st.Create(ctx, token("acme", "a token", t0), access.DefaultPolicy(), audittest.TokenCreated("acme", "test")); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListPlans(ctx, "acme")
	if err != nil || len(list) != 2 {
		t.Fatalf("got %d plans, %v; want 2", len(list), err)
	}
	if err := st.DeletePlan(ctx, "acme", "Uat1", audittest.PlanDeleted("acme")); err != nil {
		t.Fatal(err)
	}
	if err := st.DeletePlan(ctx, "acme", "uat1", audittest.PlanDeleted("acme")); access.AsError(err).Code != "PLAN_NOT_FOUND" {
		t.Fatalf("second delete: got %v, want PLAN_NOT_FOUND", err)
	}
}
