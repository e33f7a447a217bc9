// Package tenantpolicy is a tenant's token policy as its administrators
// read and set it (GET and PUT /tenant-policy): who may change it, what a
// valid policy is, and how a change is stored without losing another. What
// the policy allows is access.Policy's rule, which internal/tokens applies
// to every token created or rotated.
package tenantpolicy

import (
	"context"
	"slices"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// Store keeps one policy per tenant (internal/dynamo).
type Store interface {
	// GetPolicy reads the tenant's policy with a strongly consistent
	// read; access.DefaultPolicy when none is stored.
	GetPolicy(ctx context.Context, tenant string) (access.Policy, error)
	// PutPolicy stores p, whose Version is the next one, only if the
	// stored policy is the version before it; else ErrChanged. It writes
	// the change's audit event ev atomically with it: both or neither.
	PutPolicy(ctx context.Context, tenant string, p access.Policy, ev audit.Event) error
}

// Error codes a caller may act on.
const (
	CodeInvalid       = "INVALID_POLICY"
	CodeChanged       = "POLICY_CHANGED"
	CodeAdminRequired = "ADMIN_REQUIRED"
)

// putAttempts bounds the writes of a change that names no version, each
// after reading the version that another change just stored.
const putAttempts = 3

// Input is a policy as an administrator sets it: every limit (a PUT
// replaces the policy), and optionally the version it was made from.
type Input struct {
	MaxLifespanDays *int // nil: no maximum
	RequireExpiry   bool
	AllowedScopes   []string
	OwnerOnlyDelete bool
	// Version is the version the change was made from (as GET answered
	// it): if another change came first, the change is refused with
	// POLICY_CHANGED. nil: the change replaces whatever is stored (the
	// last writer wins).
	Version *int
}

// Service reads and changes tenants' policies.
type Service struct {
	Store Store
	Now   func() time.Time // the audit event's time; nil: time.Now
}

// Get returns the caller's tenant's policy: any caller of the tenant may
// read what it allows (the route needs tokens:read of an API token).
func (s *Service) Get(ctx context.Context, p access.Principal) (access.Policy, error) {
	return s.Store.GetPolicy(ctx, p.Tenant)
}

// MayChange is nil when p may change the tenant's policy: a signed-in
// tenant administrator, never an API token (docs/security.md).
func MayChange(p access.Principal) error {
	switch {
	case p.AuthType != access.AuthSession:
		return access.Errorf(access.EFORBIDDEN, "SESSION_REQUIRED", "The tenant policy can be changed only by a signed-in administrator, not with an API token.")
	case !p.TenantAdmin():
		return access.Errorf(access.EFORBIDDEN, CodeAdminRequired, "Only a tenant administrator can change the tenant policy. Ask one, or ask for your account to be made one.")
	}
	return nil
}

// Put replaces the caller's tenant's policy with in, and returns it as
// stored, with its new version. It is the one place a policy changes.
// Bad input, a caller who may not, and a change made from a version that
// is no longer stored change nothing.
func (s *Service) Put(ctx context.Context, p access.Principal, in Input) (access.Policy, error) {
	if err := MayChange(p); err != nil {
		return access.Policy{}, err
	}
	next, err := Check(in)
	if err != nil {
		return access.Policy{}, err
	}
	for attempt := 1; ; attempt++ {
		current, err := s.Store.GetPolicy(ctx, p.Tenant)
		if err != nil {
			return access.Policy{}, err
		}
		if in.Version != nil && *in.Version != current.Version {
			return access.Policy{}, ErrChanged()
		}
		next.Version = current.Version + 1
		err = s.Store.PutPolicy(ctx, p.Tenant, next, audit.PolicyChanged(ctx, p, next.Version, s.now()))
		if access.AsError(err).Code == CodeChanged && in.Version == nil && attempt < putAttempts {
			continue // another change came between the read and the write: over it, as asked
		}
		if err != nil {
			return access.Policy{}, err
		}
		return next, nil
	}
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Check returns in as a policy (its Version left 0), or INVALID_POLICY
// naming the first field that is wrong.
func Check(in Input) (access.Policy, error) {
	pol := access.Policy{MaxLifespanDays: in.MaxLifespanDays, RequireExpiry: in.RequireExpiry, OwnerOnlyDelete: in.OwnerOnlyDelete}
	if d := in.MaxLifespanDays; d != nil && (*d < tokens.MinLifespanDays || *d > tokens.MaxLifespanDays) {
		return access.Policy{}, ErrInvalidMaxLifespan()
	}
	if in.MaxLifespanDays != nil && !in.RequireExpiry {
		return access.Policy{}, ErrInvalid("requireExpiry must be true when maxLifespanDays is set: a token that never expires outlives every maximum.")
	}
	all := access.AllScopes()
	if len(in.AllowedScopes) == 0 {
		return access.Policy{}, ErrInvalid("allowedScopes must name at least one scope (%s).", access.FormatScopes(all))
	}
	for _, name := range in.AllowedScopes {
		if !slices.Contains(all, access.Scope(name)) {
			return access.Policy{}, ErrInvalid("allowedScopes: unknown scope %q: a scope is one of %s.", name, access.FormatScopes(all))
		}
	}
	// In the set's order, each once, as every list of scopes is stored.
	for _, s := range all {
		if slices.Contains(in.AllowedScopes, string(s)) {
			pol.AllowedScopes = append(pol.AllowedScopes, s)
		}
	}
	if in.Version != nil && *in.Version < 0 {
		return access.Policy{}, ErrInvalidVersion()
	}
	return pol, nil
}

// ErrInvalid is a 400 INVALID_POLICY whose message names the field.
func ErrInvalid(format string, args ...any) *access.Error {
	return access.Errorf(access.EINVALID, CodeInvalid, format, args...)
}

// ErrInvalidMaxLifespan is the error of a maxLifespanDays out of range or
// of the wrong type.
func ErrInvalidMaxLifespan() *access.Error {
	return ErrInvalid("maxLifespanDays must be a whole number of days from %d to %d, or null for no maximum.", tokens.MinLifespanDays, tokens.MaxLifespanDays)
}

// ErrInvalidVersion is the error of a version that no policy has.
func ErrInvalidVersion() *access.Error {
	return ErrInvalid("version must be the version you read (GET /tenant-policy): a whole number from 0, or left out to replace whatever is stored.")
}

// ErrChanged is the conflict of a change made from a version that is no
// longer the stored one.
func ErrChanged() *access.Error {
	return access.Errorf(access.ECONFLICT, CodeChanged, "The tenant policy was changed since you read it. Read it again (GET /tenant-policy) and make your change to that version.")
}
