package tokens_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// The rotation's rules on a hand-written store; internal/rotationtest checks
// them end to end on DynamoDB Local with the authorizer.

type fakeRotations struct {
	GetFn    func(ctx context.Context, tenant, id string) (access.Token, error)
	RotateFn func(ctx context.Context, old, next access.Token, r access.Replacement) error
	events   []audit.Event // of the rotations made
}

func (f *fakeRotations) Get(ctx context.Context, tenant, id string) (access.Token, error) {
	return f.GetFn(ctx, tenant, id)
}
func (f *fakeRotations) Rotate(ctx context.Context, old, next access.Token, r access.Replacement, _ access.Policy, ev audit.Event) error {
	if err := f.RotateFn(ctx, old, next, r); err != nil {
		return err
	}
	f.events = append(f.events, ev)
	return nil
}

func rotatingService(rot *fakeRotations, grants *[]apitoken.Grant) *tokens.Service {
	s := newService(&fakeStore{}, grants)
	s.Rotations = rot
	return s
}

func TestAnAPITokenRotatingAnotherTokenIsRefusedBeforeTheStoreIsAsked(t *testing.T) {
	rot := &fakeRotations{GetFn: func(context.Context, string, string) (access.Token, error) {
		t.Fatal("the store was read")
		return access.Token{}, nil
	}}
	p := access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "mine"}
	_, err := rotatingService(rot, nil).Rotate(context.Background(), p, "another", tokens.RotateInput{})
	if e := access.AsError(err); e.Kind != access.EFORBIDDEN || e.Code != tokens.CodeRotatesItself {
		t.Fatalf("got %v, want %s", err, tokens.CodeRotatesItself)
	}
}

func TestARotationKeepsTheLifespanAndClipsTheOverlapAtTheOldExpiry(t *testing.T) {
	created := now.Add(-48 * time.Hour)
	exp := created.AddDate(0, 0, 3) // 24 hours left
	old := access.Token{ID: "old", Tenant: "acme", Description: "d", AssociatedUser: "ada@example.com", CreatedAt: created, ExpiresAt: &exp}
	var got struct {
		next access.Token
		r    access.Replacement
	}
	rot := &fakeRotations{
		GetFn: func(context.Context, string, string) (access.Token, error) { return old, nil },
		RotateFn: func(_ context.Context, _, next access.Token, r access.Replacement) error {
			got.next, got.r = next, r
			return nil
		},
	}
	var grants []apitoken.Grant
	out, err := rotatingService(rot, &grants).Rotate(context.Background(), session, "old", tokens.RotateInput{OverlapMinutes: 48 * 60, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if want := now.AddDate(0, 0, 3); got.next.ExpiresAt == nil || !got.next.ExpiresAt.Equal(want) {
		t.Errorf("got expiry %v, want %v: three days from now, as the old token had", got.next.ExpiresAt, want)
	}
	if !got.r.Until.Equal(exp) || got.r.By != got.next.ID || got.r.Key != "k" || !got.r.At.Equal(now) {
		t.Errorf("got replacement %+v, want until the old expiry %v, by the new token, with the key", got.r, exp)
	}
	if got.next.Rotation.From != "old" || got.next.Description != "d" || got.next.AssociatedUser != old.AssociatedUser {
		t.Errorf("got new token %+v, want the old one's description and user, rotated from it", got.next)
	}
	if len(grants) != 1 || grants[0].ID != got.next.ID || !grants[0].IssuedAt.Equal(now) || !grants[0].ExpiresAt.Equal(*got.next.ExpiresAt) {
		t.Errorf("got grants %+v, want one for the new token", grants)
	}
	if out.Secret != fakeToken || out.Previous.Rotation.Replaced == nil || out.Previous.Rotation.Replaced.By != got.next.ID {
		t.Errorf("got %+v, want the new token and the old one as replaced", out)
	}
}

func TestARotationThatCannotBeSignedWritesNothing(t *testing.T) {
	rot := &fakeRotations{
		GetFn: func(context.Context, string, string) (access.Token, error) {
			return access.Token{ID: "old", Tenant: "acme", Description: "d", AssociatedUser: "ada@example.com", CreatedAt: now}, nil
		},
		RotateFn: func(context.Context, access.Token, access.Token, access.Replacement) error {
			t.Fatal("the store was written")
			return nil
		},
	}
	s := rotatingService(rot, nil)
	s.Minter = fakeMinter{MintFn: func(context.Context, apitoken.Grant) (string, error) { return "", errors.New("kms: throttled") }}
	if _, err := s.Rotate(context.Background(), session, "old", tokens.RotateInput{OverlapMinutes: 5}); access.ErrorKind(err) != access.EINTERNAL {
		t.Fatalf("got %v, want an internal error", err)
	}
}

func TestAStoreFaultDuringARotationIsReportedAsSuch(t *testing.T) {
	fault := access.Unavailable(errors.New("throttled"))
	rot := &fakeRotations{
		GetFn: func(context.Context, string, string) (access.Token, error) {
			return access.Token{ID: "old", Tenant: "acme", Description: "d", AssociatedUser: "ada@example.com", CreatedAt: now}, nil
		},
		RotateFn: func(context.Context, access.Token, access.Token, access.Replacement) error { return fault },
	}
	if _, err := rotatingService(rot, nil).Rotate(context.Background(), session, "old", tokens.RotateInput{Key: "k"}); !errors.Is(err, fault) {
		t.Fatalf("got %v, want the store's fault", err)
	}
}

func TestStatusTextOfAReplacedToken(t *testing.T) {
	exp := time.Date(2027, 1, 2, 15, 4, 59, 0, time.UTC)
	until := time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)
	tk := access.Token{ExpiresAt: &exp, Rotation: access.Rotation{Replaced: &access.Replacement{By: "b", At: until.Add(-time.Hour), Until: until}}}
	for _, tc := range []struct {
		name             string
		at               time.Time
		status, wantText string
	}{
		{"during its overlap it says until when it works", until.Add(-time.Second), "Enabled", "Enabled - Replaced, works until Dec 01, 2026 08:30"},
		{"at its cutoff it is replaced", until, "Replaced", "Replaced"},
		{"after its expiry too", exp, "Replaced", "Replaced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tokens.Status(tk, tc.at); got != tc.status {
				t.Errorf("got status %q, want %q", got, tc.status)
			}
			if got := tokens.StatusText(tk, tc.at); got != tc.wantText {
				t.Errorf("got text %q, want %q", got, tc.wantText)
			}
		})
	}
}
