package tokens

import (
	"context"
	"errors"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
)

// Limits of a rotation.
const (
	// MaxOverlapMinutes is the longest overlap, a week: long enough for a
	// weekly job to pick up its new token, short enough that a replaced
	// token does not linger.
	MaxOverlapMinutes = 7 * 24 * 60
	// MaxIdempotencyKeyLen bounds a rotation's Idempotency-Key (a Secrets
	// Manager ClientRequestToken is 32 to 64 characters).
	MaxIdempotencyKeyLen = 128
)

// Error codes of a rotation that a caller may act on.
const (
	CodeReplaced       = "TOKEN_REPLACED"
	CodeExpired        = "TOKEN_EXPIRED"
	CodeRotatesItself  = "TOKEN_ROTATES_ONLY_ITSELF"
	CodeNotOwner       = "NOT_TOKEN_OWNER"
	CodeInvalidOverlap = "INVALID_OVERLAP"
	CodeInvalidIdemKey = "INVALID_IDEMPOTENCY_KEY"
)

// RotationStore is what a rotation needs of the store, beyond Store.
type RotationStore interface {
	// Get reads one token with a strongly consistent read (ENOTFOUND when
	// it is not there).
	Get(ctx context.Context, tenant, id string) (access.Token, error)
	// Rotate, in one transaction, writes next, records r on old (or, when
	// r.Until is not after r.At, deletes old: an overlap of 0 revokes it),
	// hands old's description to next and writes the audit event ev. It
	// refuses with ErrReplaced when a rotation replaced old first, with
	// ENOTFOUND when old is gone, and with ErrPolicyChanged when the
	// tenant's stored policy is no longer under, the policy next was
	// checked against (as Store.Create).
	Rotate(ctx context.Context, old, next access.Token, r access.Replacement, under access.Policy, ev audit.Event) error
}

// RotateInput is what a caller may choose when rotating a token.
type RotateInput struct {
	// OverlapMinutes is how long the old token keeps working, from 0 (it is
	// revoked at once) to MaxOverlapMinutes; never past its own expiry.
	OverlapMinutes int
	// Key is the request's Idempotency-Key ("" for none): a rotation retried
	// with the same key, while the old token still works, answers with the
	// same new token (signed again: the token string is never stored).
	Key string
}

// Rotated is the outcome of a rotation: the new token, the only place its
// string appears, and the old token as the rotation left it.
type Rotated struct {
	Created
	Previous access.Token
}

// Rotate replaces the token id with a new one: same description, user,
// tenant, scopes and lifespan (counted from now). The old token keeps working for
// the overlap. Who may rotate (docs/security.md, "Rotation"):
//
//   - an API token, itself only (a CI job renewing its own credential); never
//     another token, of its user or not: holding one token must not yield
//     another, nor end another's life early;
//   - a signed-in user, the tokens whose associated user they are: the new
//     token acts as that user, so rotating a colleague's token would hand
//     the caller the colleague's credential (deleting it, which any user of
//     the tenant may, hands over nothing).
//
// A replaced token cannot be rotated again (CodeReplaced): its family's
// newest token can. The new token must be within the tenant policy, which
// may have tightened since the old one was made: then the rotation is a
// POLICY_VIOLATION, and the caller creates a token within it instead. (A
// repeated rotation answers with the token already made, as it was.) Bad
// input changes nothing.
func (s *Service) Rotate(ctx context.Context, p access.Principal, id string, in RotateInput) (Rotated, error) {
	if id == "" || len(id) > 64 {
		return Rotated{}, ErrNotFound()
	}
	if in.OverlapMinutes < 0 || in.OverlapMinutes > MaxOverlapMinutes {
		return Rotated{}, ErrInvalidOverlap()
	}
	if len(in.Key) > MaxIdempotencyKeyLen {
		return Rotated{}, access.Errorf(access.EINVALID, CodeInvalidIdemKey, "Idempotency-Key must be at most %d characters.", MaxIdempotencyKeyLen)
	}
	if s.Rotations == nil {
		return Rotated{}, access.Internal(errors.New("tokens: this service has no rotation store"))
	}
	if p.AuthType == access.AuthAPIToken && p.TokenID != id {
		return Rotated{}, access.Errorf(access.EFORBIDDEN, CodeRotatesItself, "An API token can rotate only itself. Sign in to rotate another of your tokens.")
	}
	old, err := s.Rotations.Get(ctx, p.Tenant, id)
	if err != nil {
		return Rotated{}, err
	}
	if old.AssociatedUser != p.User {
		return Rotated{}, access.Errorf(access.EFORBIDDEN, CodeNotOwner, "Only the token's associated user (%s) can rotate it. You can delete it, or create a token of your own.", old.AssociatedUser)
	}
	clock := s.Now() // the event's time: events sort by it, to the millisecond
	now := clock.UTC().Truncate(time.Second)
	if old.Rotation.Replaced != nil {
		return s.replay(ctx, old, in.Key, now)
	}
	if old.Expired(now) {
		return Rotated{}, access.Errorf(access.ECONFLICT, CodeExpired, "This token has expired and cannot be rotated. Create a new token instead.")
	}
	next := access.Token{
		ID: s.NewID(), Tenant: old.Tenant, Description: old.Description, AssociatedUser: old.AssociatedUser,
		CreatedAt: now, Rotation: access.Rotation{From: old.ID},
		// The same scopes; a token from before scopes gets, written out,
		// what it was granted (access.LegacyScopes).
		Scopes: old.GrantedScopes(),
	}
	if old.ExpiresAt != nil {
		exp := now.Add(old.ExpiresAt.Sub(old.CreatedAt)) // the same lifespan, from now
		next.ExpiresAt = &exp
	}
	until := now.Add(time.Duration(in.OverlapMinutes) * time.Minute)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(until) {
		until = *old.ExpiresAt // an overlap never extends the old token's life
	}
	r := access.Replacement{By: next.ID, At: now, Until: until, Key: in.Key}
	pol, err := s.checkPolicy(ctx, next, rotateRemedy)
	if err != nil {
		return Rotated{}, err
	}
	raw, err := s.Minter.Mint(ctx, grantOf(next))
	if err != nil {
		return Rotated{}, access.Internal(err)
	}
	ev := audit.ByCaller(ctx, p, audit.TokenRotated, audit.Target{Type: audit.TargetToken, ID: old.ID}, clock).
		With("newTokenId", next.ID).With("worksUntil", until.UTC().Format(time.RFC3339))
	err = s.writeUnderPolicy(ctx, next, pol, rotateRemedy, func(pol access.Policy) error {
		return s.Rotations.Rotate(ctx, old, next, r, pol, ev)
	})
	if err != nil {
		if access.AsError(err).Code == CodeReplaced && in.Key != "" {
			// A concurrent rotation won; if it was this request's twin (the
			// same key), answer as it did.
			if again, gerr := s.Rotations.Get(ctx, p.Tenant, id); gerr == nil && again.Rotation.Replaced != nil {
				return s.replay(ctx, again, in.Key, now)
			}
		}
		return Rotated{}, err
	}
	old.Rotation.Replaced = &r
	return Rotated{Created: Created{Secret: raw, Token: next}, Previous: old}, nil
}

// replay answers a rotation of a token that a rotation already replaced:
// with that rotation's new token, signed again, when the key is the one it
// recorded and the old token still works (so only who could have made that
// rotation gets its answer, and only during the overlap); else CodeReplaced.
func (s *Service) replay(ctx context.Context, old access.Token, key string, now time.Time) (Rotated, error) {
	r := old.Rotation.Replaced
	if key == "" || r.Key != key || old.CutOff(now) {
		return Rotated{}, ErrReplaced(r.By)
	}
	next, err := s.Rotations.Get(ctx, old.Tenant, r.By)
	if access.ErrorKind(err) == access.ENOTFOUND || (err == nil && (next.Expired(now) || next.CutOff(now))) {
		return Rotated{}, ErrReplaced(r.By) // its new token is gone: nothing to answer with
	}
	if err != nil {
		return Rotated{}, err
	}
	raw, err := s.Minter.Mint(ctx, grantOf(next))
	if err != nil {
		return Rotated{}, access.Internal(err)
	}
	return Rotated{Created: Created{Secret: raw, Token: next}, Previous: old}, nil
}

// grantOf is what a token's JWT says: the same claims whenever it is
// signed (created, or signed again for a repeated rotation).
func grantOf(t access.Token) apitoken.Grant {
	g := apitoken.Grant{ID: t.ID, User: t.AssociatedUser, Tenant: t.Tenant, IssuedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	for _, sc := range t.Scopes {
		g.Scopes = append(g.Scopes, string(sc))
	}
	return g
}

// ErrReplaced is the conflict of rotating a token that a rotation already
// replaced (by the token id by).
func ErrReplaced(by string) *access.Error {
	return access.Errorf(access.ECONFLICT, CodeReplaced, "This token was already replaced by a rotation (by token %s). Rotate the newest token of its family instead.", by)
}

// ErrInvalidOverlap is the error for an overlap that is not a whole number
// of minutes in range.
func ErrInvalidOverlap() *access.Error {
	return access.Errorf(access.EINVALID, CodeInvalidOverlap, "overlapMinutes must be a whole number from 0 (the old token stops at once) to %d (a week).", MaxOverlapMinutes)
}
