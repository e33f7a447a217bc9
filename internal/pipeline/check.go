package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/salesforce"
)

// checkBudget bounds a plan check: it runs inside an API request, whose
// function times out after 20 s (template.yaml), API Gateway after 29 s.
const checkBudget = 15 * time.Second

// CheckPlan signs in to production as plan p says and looks up the sandbox
// and the records p names, so that a plan that cannot run is refused when it
// is saved rather than when it runs (plans.Checker). What Salesforce
// refuses is INVALID_PLAN naming the field; a Salesforce or secret store
// that cannot be reached is SALESFORCE_UNAVAILABLE, to try again.
func (s *Steps) CheckPlan(ctx context.Context, tenant string, p plans.Plan) error {
	ctx, cancel := context.WithTimeout(ctx, checkBudget)
	defer cancel()
	run := State{Input: runs.Input{Tenant: tenant, Sandbox: p.Sandbox, Plan: p}}
	if _, err := s.privateKey(ctx, p); err != nil {
		return planError(err, "salesforce.privateKeySecretArn", "the secret cannot be read as an RSA private key in PEM form (check that it exists and holds the integration user's key)")
	}
	org, err := s.production(ctx, run)
	if err != nil {
		return planError(err, "salesforce", "production refused the pipeline's sign-in ("+salesforceReason(err)+"): check consumerKey, username, the key's certificate on the external client app, and that the user is pre-authorized")
	}
	if _, err := org.FindSandboxInfo(ctx, p.Sandbox); errors.Is(err, salesforce.ErrNotFound) {
		return access.Errorf(access.EINVALID, "INVALID_PLAN", "sandbox: production has no sandbox named %s.", p.Sandbox)
	} else if err != nil {
		return planError(classify("find the sandbox", err), "sandbox", "")
	}
	if _, _, _, err := resolveNames(ctx, org, p); err != nil {
		return planError(err, "", "")
	}
	return nil
}

// planError turns a step error into the API's: transient faults are 503s;
// permanent ones a 400 naming field, with why (or the step's own message,
// which names the field, when why is empty).
func planError(err error, field, why string) error {
	var transient *TransientError
	if errors.As(err, &transient) || access.ErrorKind(err) == access.EUNAVAILABLE {
		return &access.Error{Kind: access.EUNAVAILABLE, Code: "SALESFORCE_UNAVAILABLE",
			Message: "Salesforce or the secret store could not be reached to check the plan. Try again shortly.", Err: err}
	}
	msg := why
	if msg == "" {
		var perm *PermanentError
		if !errors.As(err, &perm) {
			return access.Internal(err)
		}
		msg = perm.Message
	}
	if field != "" {
		msg = field + ": " + msg
	}
	return &access.Error{Kind: access.EINVALID, Code: "INVALID_PLAN", Message: msg + ".", Err: err}
}

// salesforceReason is Salesforce's own words for a refusal: its error code
// and description, never anything of ours.
func salesforceReason(err error) string {
	var apiErr *salesforce.APIError
	if errors.As(err, &apiErr) {
		return fmt.Sprintf("%s: %s", apiErr.Code, apiErr.Message)
	}
	return "no answer"
}
