package plans_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/plans"
)

// fakeARNs finds the secrets of names, as DescribeSecret would.
type fakeARNs map[string]string

func (f fakeARNs) SecretARN(_ context.Context, name string) (string, error) {
	if arn, ok := f[name]; ok {
		return arn, nil
	}
	if strings.Contains(name, "fault") {
		return "", access.Unavailable(errors.New("throttled"))
	}
	return "", access.Errorf(access.ENOTFOUND, "SECRET_NOT_FOUND", "none")
}

func TestAPlanThatNamesNoSecretsGetsThoseStoredForItsSandbox(t *testing.T) {
	var stored plans.Plan
	svc := &plans.Service{
		Store:     fakeStore{PutPlanFn: func(_ context.Context, _ string, p plans.Plan) (bool, error) { stored = p; return true, nil }},
		Schedules: &fakeSchedules{}, Validator: plans.Validator{SecretPrefix: "dcs-access/"}, Now: time.Now,
		Secrets: fakeARNs{
			"dcs-access/acme/uat1/salesforce-key": secretBase + "uat1/salesforce-key-AbCdEf",
			"dcs-access/acme/uat1/dcs-token":      secretBase + "uat1/dcs-token-GhIjKl",
		},
	}
	ada := access.Principal{User: "ada@acme.com", Tenant: "acme", AuthType: access.AuthSession}
	p := validPlan()
	p.Salesforce.PrivateKeySecretARN, p.DCS.APITokenSecretARN = "", ""
	if _, _, err := svc.Put(context.Background(), ada, "UAT1", p); err != nil {
		t.Fatal(err)
	}
	if stored.Salesforce.PrivateKeySecretARN != secretBase+"uat1/salesforce-key-AbCdEf" || stored.DCS.APITokenSecretARN != secretBase+"uat1/dcs-token-GhIjKl" {
		t.Fatalf("got %q and %q, want the sandbox's stored secrets", stored.Salesforce.PrivateKeySecretARN, stored.DCS.APITokenSecretARN)
	}

	t.Run("a plan that names its secrets keeps them", func(t *testing.T) {
		if _, _, err := svc.Put(context.Background(), ada, "uat1", validPlan()); err != nil {
			t.Fatal(err)
		}
		if stored.Salesforce.PrivateKeySecretARN != validPlan().Salesforce.PrivateKeySecretARN {
			t.Fatalf("got %q, want the plan's own", stored.Salesforce.PrivateKeySecretARN)
		}
	})
	t.Run("without stored secrets the 400 names the route that stores one", func(t *testing.T) {
		p := validPlan()
		p.Sandbox, p.DCS.APITokenSecretARN = "uat2", ""
		_, _, err := svc.Put(context.Background(), ada, "uat2", p)
		if e := access.AsError(err); e.Code != "INVALID_PLAN" || !strings.Contains(e.Message, "dcs.apiTokenSecretArn") || !strings.Contains(e.Message, "POST /sandbox-plans/{sandbox}/dcs-token") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a fault while looking is not a 400", func(t *testing.T) {
		p := validPlan()
		p.Sandbox, p.Salesforce.PrivateKeySecretARN = "fault", ""
		if _, _, err := svc.Put(context.Background(), ada, "fault", p); access.ErrorKind(err) != access.EUNAVAILABLE {
			t.Fatalf("got %v, want the fault", err)
		}
	})
}
