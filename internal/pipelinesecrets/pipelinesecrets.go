// Package pipelinesecrets lets a tenant's signed-in users give a refresh plan
// its two secrets themselves, write-only: the Salesforce integration user's
// private key, and a DCS API token that is minted straight into its secret
// (it never passes through a person) and rotated there by Secrets Manager.
// In AWS the tenant's users cannot reach Secrets Manager; without this an
// operator creates each dcs-access/<tenant>/… secret by hand.
//
// The secrets have fixed names, dcs-access/<tenant>/<sandbox>/salesforce-key
// and …/dcs-token (plans.SecretName), and the plan of the sandbox points at them
// by itself: storing one updates the plan if there is one, and a plan saved
// without them gets them (plans.Service).
package pipelinesecrets

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/secretversions"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// Key sizes accepted for the integration user's key.
const (
	MinKeyBits = 2048
	MaxKeyBits = 16384
)

// LifespanRotations is the pipeline token's lifespan when none is given, in
// rotations: a token lives three rotation periods (90 days at the default
// 30), so one that rotation could not replace still expires.
const LifespanRotations = 3

// Secrets is the part of Secrets Manager the routes use (internal/secrets:
// Manager in AWS, Memory locally).
type Secrets interface {
	Store(ctx context.Context, name, value, description string) (secretversions.Stored, error)
	Describe(ctx context.Context, id string) (secretversions.Description, error)
	Version(ctx context.Context, id, versionID, stage string) (string, error)
	EnableRotation(ctx context.Context, arn, lambdaARN string, days int) error
}

// Tokens mints, rotates and deletes API tokens (tokens.Service).
type Tokens interface {
	Create(ctx context.Context, p access.Principal, in tokens.CreateInput) (tokens.Created, error)
	Rotate(ctx context.Context, p access.Principal, id string, in tokens.RotateInput) (tokens.Rotated, error)
	Delete(ctx context.Context, p access.Principal, id string) error
}

// Policies reads the tenant's token policy (internal/dynamo): the
// pipeline's token must be within it, as every token must (tokens.Service
// refuses one that is not), and a token made without a lifespan gets the
// longest the policy allows.
type Policies interface {
	GetPolicy(ctx context.Context, tenant string) (access.Policy, error)
}

// Plans reads and writes plans, to point them at their secrets.
type Plans interface {
	GetPlan(ctx context.Context, tenant, sandbox string) (plans.Plan, error)
	PutPlan(ctx context.Context, tenant string, p plans.Plan, ev audit.Event) (bool, error)
}

// Rotation is how the pipeline's token secrets rotate.
type Rotation struct {
	FunctionARN    string // the rotation function (functions/dcs-token-rotation)
	Days           int    // every so many days
	OverlapMinutes int    // how long a replaced token keeps working
}

// Service stores a plan's secrets.
type Service struct {
	Secrets  Secrets
	Tokens   Tokens
	Policies Policies
	Plans    Plans
	Rotation Rotation
	Log      *slog.Logger     // slog.Default() when nil
	Now      func() time.Time // time.Now when nil
}

// Stored is what a route did, never a secret's value.
type Stored struct {
	SecretARN string
	Created   bool // the secret is new
	// PlanUpdated says that the sandbox's plan now points at the secret.
	PlanUpdated bool
	// Token is the pipeline token's metadata (NewDCSToken only), and
	// Rotated whether it replaced the token the secret held.
	Token   *access.Token
	Rotated bool
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func check(p access.Principal, sandbox string) error {
	if p.AuthType != access.AuthSession {
		return access.Errorf(access.EFORBIDDEN, "SESSION_REQUIRED", "A plan's secrets can only be stored by a signed-in user, not with an API token.")
	}
	if !plans.ValidSandbox(sandbox) {
		return access.Errorf(access.EINVALID, "INVALID_SANDBOX", "The sandbox must be 1 to 10 letters or digits (Salesforce's rule for sandbox names).")
	}
	if !access.TenantPattern.MatchString(p.Tenant) {
		return access.Errorf(access.EINVALID, "INVALID_TENANT", "Your tenant's name cannot name secrets.")
	}
	return nil
}

// ErrInvalidKey is the error for a private key the pipeline cannot use;
// why never quotes the key.
func ErrInvalidKey(why string) *access.Error {
	return access.Errorf(access.EINVALID, "INVALID_PRIVATE_KEY", "privateKey %s.", why)
}

// CheckPrivateKey checks that pemText is one unencrypted RSA private key in
// PEM of MinKeyBits to MaxKeyBits, as the pipeline reads it
// (salesforce.ParsePrivateKey), and nothing else.
func CheckPrivateKey(pemText string) error {
	block, rest := pem.Decode([]byte(pemText))
	switch {
	case block == nil:
		return ErrInvalidKey("must be a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
	case strings.TrimSpace(string(rest)) != "":
		return ErrInvalidKey("must be one PEM block and nothing else")
	case block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED"):
		return ErrInvalidKey("must not be encrypted: the pipeline has no passphrase for it (openssl rsa -in key.pem -out server.key removes it)")
	case block.Type != "PRIVATE KEY" && block.Type != "RSA PRIVATE KEY":
		return ErrInvalidKey("must be a private key, not a " + strings.ToLower(safeType(block.Type)))
	}
	key, err := salesforce.ParsePrivateKey(pemText)
	if err != nil {
		return ErrInvalidKey("must be an RSA private key in PKCS #1 or PKCS #8 form")
	}
	if bits := key.N.BitLen(); bits < MinKeyBits || bits > MaxKeyBits {
		return ErrInvalidKey(fmt.Sprintf("must be an RSA key of %d to %d bits, not %d", MinKeyBits, MaxKeyBits, bits))
	}
	if err := key.Validate(); err != nil {
		return ErrInvalidKey("is not a consistent RSA key")
	}
	return nil
}

// safeType is a PEM block type fit to show: letters and spaces, short.
func safeType(t string) string {
	for _, r := range t {
		if (r < 'A' || r > 'Z') && r != ' ' {
			return "block of another type"
		}
	}
	if len(t) > 40 {
		return "block of another type"
	}
	return t
}

// PutSalesforceKey stores the integration user's private key as the secret
// of the caller's sandbox and points its plan at it. The key is checked
// first; nothing is written when it is not one the pipeline can use.
func (s *Service) PutSalesforceKey(ctx context.Context, p access.Principal, sandbox, pemText string) (Stored, error) {
	if err := check(p, sandbox); err != nil {
		return Stored{}, err
	}
	if err := CheckPrivateKey(pemText); err != nil {
		return Stored{}, err
	}
	name := plans.SecretName(p.Tenant, sandbox, plans.SalesforceKeySecret)
	stored, err := s.Secrets.Store(ctx, name, pemText, fmt.Sprintf("dcs-access: the Salesforce integration user's private key of the refresh plan for sandbox %s of tenant %s", sandbox, p.Tenant))
	if err != nil {
		return Stored{}, err
	}
	out := Stored{SecretARN: stored.ARN, Created: stored.Created}
	out.PlanUpdated, err = s.point(ctx, p, sandbox, func(plan *plans.Plan) *string { return &plan.Salesforce.PrivateKeySecretARN }, stored.ARN)
	return out, err
}

// NewDCSToken gives the pipeline of the caller's sandbox a new API token,
// straight into the plan's DCS token secret, with rotation turned on. When
// the secret already holds one of the caller's tokens, that token is
// rotated (it keeps working for the rotation's overlap, so runs under way
// finish with it); otherwise a new token is created. lifespanDays must
// outlast the rotation schedule; left out, it is LifespanRotations
// rotation periods, or the tenant policy's maximum if that is shorter.
// A token the tenant policy does not allow is a POLICY_VIOLATION that says
// what to do.
func (s *Service) NewDCSToken(ctx context.Context, p access.Principal, sandbox string, lifespanDays *int) (Stored, error) {
	if err := check(p, sandbox); err != nil {
		return Stored{}, err
	}
	pol, err := s.Policies.GetPolicy(ctx, p.Tenant)
	if err != nil {
		return Stored{}, err
	}
	days := min(LifespanRotations*max(s.Rotation.Days, 1), tokens.MaxLifespanDays)
	if lifespanDays != nil {
		days = *lifespanDays
	} else if limit := pol.MaxLifespanDays; limit != nil && days > *limit {
		if *limit <= s.Rotation.Days {
			return Stored{}, access.ErrPolicyViolation(
				[]access.Violation{{Limit: access.LimitMaxLifespanDays, Text: fmt.Sprintf("the maximum lifespan of %d days is not longer than the pipeline token's rotation period (%d days)", *limit, s.Rotation.Days)}},
				"The token would expire before Secrets Manager rotates it: ask a tenant administrator for a longer maximum, or an operator for a shorter PipelineTokenRotationDays.")
		}
		days = *limit // the longest the tenant policy allows
	}
	if days < tokens.MinLifespanDays || days > tokens.MaxLifespanDays || days <= s.Rotation.Days {
		return Stored{}, access.Errorf(access.EINVALID, "INVALID_LIFESPAN", "lifespanDays must be a whole number of days longer than the rotation schedule (%d days) and at most %d.", s.Rotation.Days, tokens.MaxLifespanDays)
	}
	name := plans.SecretName(p.Tenant, sandbox, plans.DCSTokenSecret)
	d, err := s.Secrets.Describe(ctx, name)
	exists := err == nil
	if err != nil && access.ErrorKind(err) != access.ENOTFOUND {
		return Stored{}, err
	}
	var out Stored
	if exists {
		out, err = s.rotateHeld(ctx, p, name, d)
		if err != nil {
			return Stored{}, err
		}
	}
	if out.Token == nil {
		if out, err = s.create(ctx, p, sandbox, name, days); err != nil {
			return Stored{}, err
		}
	}
	if !exists || !d.RotationEnabled {
		if err := s.Secrets.EnableRotation(ctx, out.SecretARN, s.Rotation.FunctionARN, s.Rotation.Days); err != nil {
			// The token is stored and works; repeating the request rotates it
			// and turns rotation on.
			return Stored{}, err
		}
	}
	out.PlanUpdated, err = s.point(ctx, p, sandbox, func(plan *plans.Plan) *string { return &plan.DCS.APITokenSecretARN }, out.SecretARN)
	return out, err
}

// rotateHeld rotates the token that the secret holds, when it is one of the
// caller's and still there; Stored.Token is nil when there is none to
// rotate (the secret holds no token, or a deleted or expired one).
func (s *Service) rotateHeld(ctx context.Context, p access.Principal, name string, d secretversions.Description) (Stored, error) {
	current, err := s.Secrets.Version(ctx, name, "", secretversions.Current)
	if access.ErrorKind(err) == access.ENOTFOUND {
		return Stored{}, nil
	}
	if err != nil {
		return Stored{}, err
	}
	id, ok := apitoken.UnverifiedID(current)
	if !ok {
		return Stored{}, nil
	}
	// Keyed by the secret's current version: a repeat after the rotation
	// but before the new token was stored gets the same new token back.
	rotated, err := s.Tokens.Rotate(ctx, p, id, tokens.RotateInput{OverlapMinutes: s.Rotation.OverlapMinutes, Key: "dcs-token:" + d.CurrentVersion()})
	var outside *access.PolicyError
	switch code := access.AsError(err).Code; {
	case err == nil:
	case access.ErrorKind(err) == access.ENOTFOUND, code == tokens.CodeExpired:
		return Stored{}, nil // nothing to rotate: a new token replaces it
	case errors.As(err, &outside):
		// Deleting it for the caller would fail the runs under way at once;
		// that is the caller's choice to make.
		return Stored{}, access.ErrPolicyViolation(outside.Violations, fmt.Sprintf(
			"The pipeline's token in this secret (token %s) was made before the policy, and a rotation keeps its lifespan and scopes: "+
				"delete it (DELETE /api-tokens/%s; runs under way then fail their masking), then ask again for a new token within the policy.", id, id))
	default:
		return Stored{}, err
	}
	stored, err := s.Secrets.Store(ctx, name, rotated.Secret, "")
	if err != nil {
		return Stored{}, err
	}
	return Stored{SecretARN: stored.ARN, Token: &rotated.Token, Rotated: true}, nil
}

// create mints a new token for the caller and stores it; if it cannot be
// stored it is deleted, so that no working token is left that nobody holds.
func (s *Service) create(ctx context.Context, p access.Principal, sandbox, name string, days int) (Stored, error) {
	// Only what the pipeline does with it: run the DCS masking job. (It
	// rotates itself and says who it is, which need no scope.)
	scopes := []string{string(access.ScopeComplianceJobsRun)}
	created, err := s.Tokens.Create(ctx, p, tokens.CreateInput{Description: "sandbox refresh: " + strings.ToLower(sandbox), LifespanDays: &days, Scopes: &scopes})
	var outside *access.PolicyError
	if errors.As(err, &outside) {
		return Stored{}, access.ErrPolicyViolation(outside.Violations, fmt.Sprintf(
			"The pipeline's token needs the scope %s and a lifespan longer than its rotation period (%d days): ask a tenant administrator to allow them, or ask with a lifespanDays the policy allows.",
			access.ScopeComplianceJobsRun, s.Rotation.Days))
	}
	if err != nil {
		return Stored{}, err
	}
	stored, err := s.Secrets.Store(ctx, name, created.Secret, fmt.Sprintf("dcs-access: the DCS API token of the refresh plan for sandbox %s of tenant %s (rotated by Secrets Manager)", sandbox, p.Tenant))
	if err != nil {
		if derr := s.Tokens.Delete(ctx, p, created.ID); derr != nil {
			s.log().ErrorContext(ctx, "a pipeline token that could not be stored could not be deleted either: delete it", "tokenId", created.ID, "error", derr)
		}
		return Stored{}, err
	}
	return Stored{SecretARN: stored.ARN, Created: stored.Created, Token: &created.Token}, nil
}

// point sets the plan's field to arn if the sandbox has a plan.
func (s *Service) point(ctx context.Context, p access.Principal, sandbox string, field func(*plans.Plan) *string, arn string) (bool, error) {
	plan, err := s.Plans.GetPlan(ctx, p.Tenant, sandbox)
	if access.ErrorKind(err) == access.ENOTFOUND {
		return false, nil // a plan saved later gets the secret (plans.Service)
	}
	if err != nil {
		return false, err
	}
	if *field(&plan) == arn {
		return true, nil
	}
	*field(&plan) = arn
	if _, err := s.Plans.PutPlan(ctx, p.Tenant, plan, plans.SavedEvent(ctx, p, sandbox, s.now())); err != nil {
		return false, err
	}
	return true, nil
}
