// Package tokens is the API-token lifecycle: the rules for creating, listing
// and deleting tokens, independent of HTTP, JWT libraries and DynamoDB.
package tokens

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
)

// Limits of the token contract.
const (
	MaxDescriptionLen = 100
	MinLifespanDays   = 1
	MaxLifespanDays   = 3650
	DefaultPageSize   = 50
	MaxPageSize       = 100
	// generatedAttempts bounds retries when a generated description collides
	// (62^13 possibilities make even a second attempt unlikely).
	generatedAttempts = 5
)

// Store keeps token metadata, and reads the tenant policy that every token
// created or rotated is checked against. Each change writes its audit event
// ev atomically with itself: both or neither.
type Store interface {
	// Create writes t, on two conditions checked atomically with the write:
	// its description is not in use (else ErrDescriptionTaken), and the
	// tenant's stored policy is still under, the policy t was checked
	// against: the same version, or none stored when under is the default
	// (else ErrPolicyChanged, and nothing is written).
	Create(ctx context.Context, t access.Token, under access.Policy, ev audit.Event) error
	// Get reads one token with a strongly consistent read (ENOTFOUND when
	// it is not there).
	Get(ctx context.Context, tenant, id string) (access.Token, error)
	List(ctx context.Context, tenant string, limit int, cursor string) (items []access.Token, next string, err error)
	// Delete deletes the token id for by (ENOTFOUND when it is not there),
	// held to the tenant policy as Deleter says.
	Delete(ctx context.Context, tenant, id string, by Deleter, ev audit.Event) error
	// GetPolicy reads the tenant's policy with a strongly consistent read
	// (access.DefaultPolicy when none is stored): a policy just set
	// applies to the very next token.
	GetPolicy(ctx context.Context, tenant string) (access.Policy, error)
}

// Minter signs new API tokens.
type Minter interface {
	Mint(ctx context.Context, g apitoken.Grant) (string, error)
}

// Service applies the token rules. Now, NewID and Rand are injected so tests
// are deterministic.
type Service struct {
	Store  Store
	Minter Minter
	Now    func() time.Time
	NewID  func() string
	Rand   io.Reader // source for generated descriptions; crypto/rand when nil
	// Rotations is the store's side of rotations (rotation.go); nil in the
	// functions that do not rotate.
	Rotations RotationStore
}

// CreateInput is what a user may choose when creating a token.
type CreateInput struct {
	Description  string
	LifespanDays *int // nil: never expires
	// Scopes are names of scopes (access.ParseScopes); nil: every scope
	// there is now, written out, so a scope added later is not the token's.
	Scopes *[]string
}

// Created is a new token: the only place the token string ever appears.
type Created struct {
	Secret string // the signed API token
	access.Token
}

// Page is one page of a tenant's tokens, newest first.
type Page struct {
	Items []access.Token
	Next  string // empty on the last page
	// Policy is the tenant's policy as the page was read: Policy.Violations
	// flags the tokens made before it that it would not allow (they keep
	// working).
	Policy access.Policy
}

// Create mints a token for the signed-in user p and stores its metadata.
func (s *Service) Create(ctx context.Context, p access.Principal, in CreateInput) (Created, error) {
	if p.AuthType != access.AuthSession {
		// A token must not be able to mint longer-lived tokens.
		return Created{}, access.Errorf(access.EFORBIDDEN, "SESSION_REQUIRED", "API tokens can only be created by a signed-in user, not with an API token.")
	}
	desc, err := NormalizeDescription(in.Description)
	if err != nil {
		return Created{}, err
	}
	scopes := access.AllScopes()
	if in.Scopes != nil {
		if scopes, err = access.ParseScopes(*in.Scopes); err != nil {
			return Created{}, err
		}
	}
	clock := s.Now() // the event's time: events sort by it, to the millisecond
	now := clock.UTC().Truncate(time.Second)
	t := access.Token{ID: s.NewID(), Tenant: p.Tenant, Description: desc, AssociatedUser: p.User, CreatedAt: now, Scopes: scopes}
	if in.LifespanDays != nil {
		days := *in.LifespanDays
		if days < MinLifespanDays || days > MaxLifespanDays {
			return Created{}, ErrInvalidLifespan()
		}
		exp := now.AddDate(0, 0, days)
		t.ExpiresAt = &exp
	}
	pol, err := s.checkPolicy(ctx, t, createRemedy)
	if err != nil {
		return Created{}, err
	}
	raw, err := s.Minter.Mint(ctx, grantOf(t))
	if err != nil {
		return Created{}, access.Internal(err)
	}
	ev := audit.ByCaller(ctx, p, audit.TokenCreated, audit.Target{Type: audit.TargetToken, ID: t.ID}, clock)
	err = s.writeUnderPolicy(ctx, t, pol, createRemedy, func(pol access.Policy) error {
		if desc != "" {
			return s.Store.Create(ctx, t, pol, ev.With("description", desc))
		}
		// A generated description is unique too; on the rare collision draw again.
		for attempt := 1; ; attempt++ {
			generated, err := s.generatedDescription(raw)
			if err != nil {
				return access.Internal(err)
			}
			t.Description = generated
			err = s.Store.Create(ctx, t, pol, ev.With("description", generated))
			if access.AsError(err).Code != CodeDescriptionTaken || attempt == generatedAttempts {
				return err
			}
		}
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Secret: raw, Token: t}, nil
}

// List returns one page of the tenant's tokens.
func (s *Service) List(ctx context.Context, p access.Principal, limit int, cursor string) (Page, error) {
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return Page{}, access.Errorf(access.EINVALID, "INVALID_LIMIT", "limit must be a whole number from 1 to %d.", MaxPageSize)
	}
	items, next, err := s.Store.List(ctx, p.Tenant, limit, cursor)
	if err != nil {
		return Page{}, err
	}
	pol, err := s.Store.GetPolicy(ctx, p.Tenant)
	if err != nil {
		return Page{}, err
	}
	return Page{Items: items, Next: next, Policy: pol}, nil
}

// Delete revokes the tenant's token id at once. Any caller of the tenant may
// delete, unless the tenant policy says ownerOnlyDelete: then only the
// token's associated user (a session, or one of their tokens) or a tenant
// administrator. A token of another tenant is reported as not found.
func (s *Service) Delete(ctx context.Context, p access.Principal, id string) error {
	if id == "" || len(id) > 64 {
		// Not an id this service issues; spare the store a key it would reject.
		return ErrNotFound()
	}
	ev := audit.ByCaller(ctx, p, audit.TokenDeleted, audit.Target{Type: audit.TargetToken, ID: id}, s.Now())
	if p.TenantAdmin() {
		// Anyone's token, whatever the policy: no policy to read.
		return s.Store.Delete(ctx, p.Tenant, id, Deleter{}, ev)
	}
	read := func() (access.Policy, error) { return s.Store.GetPolicy(ctx, p.Tenant) }
	pol, err := read()
	if err != nil {
		return err
	}
	// The store's delete decides under pol, and only while it is stored:
	// with no read of the token here.
	return underPolicy(pol, read, func(pol access.Policy) error {
		return s.Store.Delete(ctx, p.Tenant, id, Deleter{User: p.User, Under: pol}, ev)
	})
}

// A Deleter is whom a token is deleted for, for the tenant policy's
// ownerOnlyDelete. The zero Deleter is a caller the policy does not
// restrict (a tenant administrator, leak revocation): anyone's token, with
// no policy held.
type Deleter struct {
	// User is the caller's user, who may delete their own tokens whatever
	// the policy.
	User string
	// Under is the tenant policy the service read. With OwnerOnlyDelete
	// the delete is conditioned on User being the token's associated user
	// (else ErrNotOwnerDeletes, naming the token's user). A token of
	// another user is deleted, or refused, only while Under is still the
	// stored policy (else ErrPolicyChanged, and nothing is deleted): an
	// administrator turning ownerOnlyDelete on in between is obeyed.
	Under access.Policy
}

// ErrNotOwnerDeletes is the refusal of a delete under ownerOnlyDelete by a
// caller who is neither user, the token's associated user, nor a tenant
// administrator.
func ErrNotOwnerDeletes(user string) *access.Error {
	return access.Errorf(access.EFORBIDDEN, CodeNotOwner, "The tenant policy lets only the token's associated user (%s) or a tenant administrator delete it.", user)
}

// policyAttempts bounds how often a create, a rotation or a delete reads
// the tenant policy again when it changed between the read and the write.
const policyAttempts = 3

// checkPolicy reads the tenant policy and returns it when it allows t, and
// otherwise the POLICY_VIOLATION that names each limit t breaks, then says
// what to do.
func (s *Service) checkPolicy(ctx context.Context, t access.Token, remedy string) (access.Policy, error) {
	pol, err := s.Store.GetPolicy(ctx, t.Tenant)
	if err != nil {
		return access.Policy{}, err
	}
	if vs := pol.Violations(t); len(vs) > 0 {
		return access.Policy{}, access.ErrPolicyViolation(vs, remedy)
	}
	return pol, nil
}

// underPolicy makes write, a store write decided under pol (the tenant
// policy the request read), which the store makes only while pol is still
// the stored policy. When an administrator changed it in between, decide
// reads the policy again and decides again (a create or a rotation checks
// its token again, and a refusal ends the request), and write is made
// under the new one: nothing is ever written that the policy in force at
// the write refuses. A policy that changes policyAttempts times running is
// ErrPolicyChanged (503).
func underPolicy(pol access.Policy, decide func() (access.Policy, error), write func(pol access.Policy) error) error {
	for attempt := 1; ; attempt++ {
		err := write(pol)
		if !errors.Is(err, errPolicyChanged) || attempt == policyAttempts {
			return err
		}
		if pol, err = decide(); err != nil {
			return err
		}
	}
}

// writeUnderPolicy is underPolicy for the write of t, checked against the
// tenant policy (checkPolicy) each time it is read.
func (s *Service) writeUnderPolicy(ctx context.Context, t access.Token, pol access.Policy, remedy string, write func(pol access.Policy) error) error {
	return underPolicy(pol, func() (access.Policy, error) { return s.checkPolicy(ctx, t, remedy) }, write)
}

// errPolicyChanged is the cause of ErrPolicyChanged.
var errPolicyChanged = errors.New("the tenant policy is no longer the one the request was decided under")

// ErrPolicyChanged is what a Store answers when it did not write (a token,
// or a token's delete) because the tenant policy is no longer the one the
// request was decided under. The service reads the policy again and
// decides again (underPolicy); a caller sees it only when the policy kept
// changing, as a 503 to retry: the request was not at fault.
func ErrPolicyChanged() *access.Error {
	return &access.Error{Kind: access.EUNAVAILABLE, Code: "UNAVAILABLE",
		Message: "The tenant policy kept changing during this request, and nothing was changed. Try again shortly.", Err: errPolicyChanged}
}

// What to do about a token the policy refuses.
const (
	createRemedy = "Create it within the policy (GET /tenant-policy says what it allows)."
	rotateRemedy = "A rotation keeps the token's lifespan and scopes, and the policy no longer allows them: create a new token within the policy (GET /tenant-policy), move to it, then delete this one (it works until then)."
)

// ErrNotFound is the error for a token that is not in the caller's tenant.
func ErrNotFound() *access.Error {
	return access.Errorf(access.ENOTFOUND, "NOT_FOUND", "No API token with this id exists in your tenant.")
}

// CodeDescriptionTaken is the error code of a description already in use.
const CodeDescriptionTaken = "DESCRIPTION_TAKEN"

// ErrDescriptionTaken is the conflict a Store returns for a used description.
func ErrDescriptionTaken() *access.Error {
	return access.Errorf(access.ECONFLICT, CodeDescriptionTaken, "A token with this description already exists in your tenant. Choose another description.")
}

// ErrInvalidLifespan is the error for any lifespan that is not a whole number of days in range.
func ErrInvalidLifespan() *access.Error {
	return access.Errorf(access.EINVALID, "INVALID_LIFESPAN", "lifespanDays must be a whole number from %d to %d, or null for a token that never expires.", MinLifespanDays, MaxLifespanDays)
}

// NormalizeDescription trims s and checks it; "" means "generate one".
func NormalizeDescription(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	invalid := func(why string) error {
		return access.Errorf(access.EINVALID, "INVALID_DESCRIPTION", "description %s.", why)
	}
	if !utf8.ValidString(s) {
		return "", invalid("must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > MaxDescriptionLen {
		return "", invalid("must be at most 100 characters")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", invalid("must not contain control or invisible formatting characters")
		}
	}
	return s, nil
}

// DescriptionKey is the form in which descriptions are compared for uniqueness.
func DescriptionKey(desc string) string { return strings.ToLower(desc) }

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// generatedDescription is the token's first 4 characters, "..", 13 random
// alphanumerics, "..", and its last 4: the holder of a token can find its row.
func (s *Service) generatedDescription(token string) (string, error) {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	mid := make([]byte, 0, 13)
	buf := make([]byte, 32)
	for len(mid) < 13 {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			// Reject bytes past the largest multiple of 62 so every character is equally likely.
			if b < 248 && len(mid) < 13 {
				mid = append(mid, alphanumerics[b%62])
			}
		}
	}
	return token[:4] + ".." + string(mid) + ".." + token[len(token)-4:], nil
}

// Status is "Enabled", "Expired", or "Replaced" (a rotation replaced it
// and its overlap has ended) at now.
func Status(t access.Token, now time.Time) string {
	if t.CutOff(now) {
		return StatusReplaced
	}
	if t.Expired(now) {
		return "Expired"
	}
	return "Enabled"
}

// StatusReplaced is the status of a token whose rotation overlap has ended.
const StatusReplaced = "Replaced"

// StatusText is the status as DCS shows it, in UTC; how soon a token
// expires within notices.WarnDays days ("Expires in 3 days"); and, for a
// token replaced by a rotation, until when it still works.
func StatusText(t access.Token, now time.Time) string {
	switch {
	case t.CutOff(now):
		return StatusReplaced
	case t.Rotation.Replaced != nil && !t.Expired(now):
		return "Enabled - Replaced, works until " + t.Rotation.Replaced.Until.UTC().Format("Jan 02, 2006 15:04")
	case t.Expired(now):
		return "Expired"
	case t.ExpiresAt == nil:
		return "Enabled - Never expires"
	default:
		return expiresText(t, now)
	}
}

// NeverUsed is LastUsedText for a token the authorizer never allowed.
const NeverUsed = "Never used"

// LastUsedText is the last use as the list and the console show it, in UTC
// and in StatusText's format: "Never used", or "Last used on Nov 27, 2026
// 12:00 from 203.0.113.7" (without the address when none was recorded).
func LastUsedText(t access.Token) string {
	if t.LastUsedAt == nil {
		return NeverUsed
	}
	text := "Last used on " + t.LastUsedAt.UTC().Format("Jan 02, 2006 15:04")
	if t.LastUsedIP != "" {
		text += " from " + t.LastUsedIP
	}
	return text
}
