package tokens_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

var now = time.Date(2026, 11, 27, 9, 30, 15, 0, time.UTC)

// fakeStore is a hand-written Store: one function field per method. A
// store without GetPolicyFn has the default policy.
type fakeStore struct {
	CreateFn    func(ctx context.Context, t access.Token, ev audit.Event) error
	GetFn       func(ctx context.Context, tenant, id string) (access.Token, error)
	ListFn      func(ctx context.Context, tenant string, limit int, cursor string) ([]access.Token, string, error)
	DeleteFn    func(ctx context.Context, tenant, id string, by tokens.Deleter, ev audit.Event) error
	GetPolicyFn func(ctx context.Context, tenant string) (access.Policy, error)
}

// Create ignores under: the policy's hold on the write is the store's
// (internal/dynamo tests it on DynamoDB Local).
func (f *fakeStore) Create(ctx context.Context, t access.Token, under access.Policy, ev audit.Event) error {
	return f.CreateFn(ctx, t, ev)
}
func (f *fakeStore) Get(ctx context.Context, tenant, id string) (access.Token, error) {
	return f.GetFn(ctx, tenant, id)
}
func (f *fakeStore) GetPolicy(ctx context.Context, tenant string) (access.Policy, error) {
	if f.GetPolicyFn == nil {
		return access.DefaultPolicy(), nil
	}
	return f.GetPolicyFn(ctx, tenant)
}
func (f *fakeStore) List(ctx context.Context, tenant string, limit int, cursor string) ([]access.Token, string, error) {
	return f.ListFn(ctx, tenant, limit, cursor)
}
func (f *fakeStore) Delete(ctx context.Context, tenant, id string, by tokens.Deleter, ev audit.Event) error {
	return f.DeleteFn(ctx, tenant, id, by, ev)
}

type fakeMinter struct {
	MintFn func(ctx context.Context, g apitoken.Grant) (string, error)
}

func (f fakeMinter) Mint(ctx context.Context, g apitoken.Grant) (string, error) {
	return f.MintFn(ctx, g)
}

const fakeToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.sig-ends-hgft"

var session = access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthSession}

func newService(store *fakeStore, grants *[]apitoken.Grant) *tokens.Service {
	return &tokens.Service{
		Store: store,
		Minter: fakeMinter{MintFn: func(_ context.Context, g apitoken.Grant) (string, error) {
			if grants != nil {
				*grants = append(*grants, g)
			}
			return fakeToken, nil
		}},
		Now:   func() time.Time { return now },
		NewID: func() string { return "id-1" },
		Rand:  bytes.NewReader(bytes.Repeat([]byte{0, 1, 2, 61, 62, 255, 250}, 100)),
	}
}

func days(n int) *int { return &n }

func TestCreateValidatesInputAndWritesNothingOnError(t *testing.T) {
	tests := []struct {
		name     string
		in       tokens.CreateInput
		wantCode string
	}{
		{"a lifespan of zero is refused", tokens.CreateInput{LifespanDays: days(0)}, "INVALID_LIFESPAN"},
		{"a negative lifespan is refused", tokens.CreateInput{LifespanDays: days(-3)}, "INVALID_LIFESPAN"},
		{"a lifespan over ten years is refused", tokens.CreateInput{LifespanDays: days(3651)}, "INVALID_LIFESPAN"},
		{"a description over 100 characters is refused", tokens.CreateInput{Description: strings.Repeat("é", 101)}, "INVALID_DESCRIPTION"},
		{"a description with a control character is refused", tokens.CreateInput{Description: "a\x07b"}, "INVALID_DESCRIPTION"},
		{"a description with a newline is refused", tokens.CreateInput{Description: "line\nbreak"}, "INVALID_DESCRIPTION"},
		{"a description with a zero-width character is refused", tokens.CreateInput{Description: "a\u200bb"}, "INVALID_DESCRIPTION"},
		{"an empty list of scopes is refused", tokens.CreateInput{Scopes: &[]string{}}, "INVALID_SCOPE"},
		{"a scope outside the set is refused", tokens.CreateInput{Scopes: &[]string{"tokens:read", "tokens:admin"}}, "INVALID_SCOPE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &fakeStore{CreateFn: func(context.Context, access.Token, audit.Event) error {
				t.Fatal("store written on invalid input")
				return nil
			}}
			_, err := newService(store, nil).Create(context.Background(), session, tc.in)
			if e := access.AsError(err); err == nil || e.Code != tc.wantCode || e.Kind != access.EINVALID {
				t.Fatalf("got %v, want %s", err, tc.wantCode)
			}
		})
	}
}

func TestCreateWithAnAPITokenIsForbidden(t *testing.T) {
	store := &fakeStore{CreateFn: func(context.Context, access.Token, audit.Event) error { t.Fatal("store written"); return nil }}
	p := session
	p.AuthType, p.TokenID = access.AuthAPIToken, "t1"
	_, err := newService(store, nil).Create(context.Background(), p, tokens.CreateInput{})
	if e := access.AsError(err); e.Code != "SESSION_REQUIRED" || e.Kind != access.EFORBIDDEN {
		t.Fatalf("got %v, want SESSION_REQUIRED", err)
	}
}

func TestCreateStoresMetadataAndReturnsTheTokenOnce(t *testing.T) {
	tests := []struct {
		name     string
		in       tokens.CreateInput
		wantDesc string
		wantExp  *time.Time
	}{
		{"a trimmed description and a lifespan", tokens.CreateInput{Description: "  CI bot  ", LifespanDays: days(30)}, "CI bot", ptr(time.Date(2026, 12, 27, 9, 30, 15, 0, time.UTC))},
		{"the smallest lifespan", tokens.CreateInput{Description: "x", LifespanDays: days(1)}, "x", ptr(now.Add(24 * time.Hour))},
		{"the largest lifespan", tokens.CreateInput{Description: "x", LifespanDays: days(3650)}, "x", ptr(now.AddDate(0, 0, 3650))},
		{"no lifespan never expires", tokens.CreateInput{Description: "forever"}, "forever", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stored []access.Token
			var grants []apitoken.Grant
			store := &fakeStore{CreateFn: func(_ context.Context, tk access.Token, _ audit.Event) error { stored = append(stored, tk); return nil }}
			got, err := newService(store, &grants).Create(context.Background(), session, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Secret != fakeToken {
				t.Errorf("got token %q, want the minted one", got.Secret)
			}
			if len(stored) != 1 || !reflect.DeepEqual(stored[0], got.Token) {
				t.Fatalf("got stored %+v, want exactly %+v", stored, got.Token)
			}
			if got.Description != tc.wantDesc || got.AssociatedUser != "ada@example.com" || got.Tenant != "acme" || got.ID != "id-1" {
				t.Errorf("got %+v, want description %q for ada in acme", got.Token, tc.wantDesc)
			}
			if !equalTime(got.ExpiresAt, tc.wantExp) || !equalTime(grants[0].ExpiresAt, tc.wantExp) {
				t.Errorf("got expiry %v (jwt %v), want %v", got.ExpiresAt, grants[0].ExpiresAt, tc.wantExp)
			}
			if grants[0].ID != got.ID || grants[0].User != got.AssociatedUser || grants[0].Tenant != got.Tenant {
				t.Errorf("got grant %+v, want it to match the stored token", grants[0])
			}
		})
	}
}

func TestCreateSignsAndStoresTheScopes(t *testing.T) {
	tests := []struct {
		name   string
		scopes *[]string
		want   []access.Scope
	}{
		{"no scopes: every scope there is, written out", nil, access.AllScopes()},
		{"one scope", &[]string{"compliance-jobs:run"}, []access.Scope{access.ScopeComplianceJobsRun}},
		{"duplicates once, in the documented order", &[]string{"sandbox-refreshes:run", "tokens:read", "tokens:read"},
			[]access.Scope{access.ScopeTokensRead, access.ScopeSandboxRefreshesRun}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stored access.Token
			var grants []apitoken.Grant
			store := &fakeStore{CreateFn: func(_ context.Context, tk access.Token, _ audit.Event) error { stored = tk; return nil }}
			got, err := newService(store, &grants).Create(context.Background(), session, tokens.CreateInput{Scopes: tc.scopes})
			if err != nil {
				t.Fatal(err)
			}
			want := access.FormatScopes(tc.want)
			if access.FormatScopes(got.Scopes) != want || access.FormatScopes(stored.Scopes) != want || strings.Join(grants[0].Scopes, " ") != want {
				t.Errorf("got scopes %q, stored %q, signed %q; want %q in all three", got.Scopes, stored.Scopes, grants[0].Scopes, want)
			}
		})
	}
}

func TestCreateReportsATakenDescription(t *testing.T) {
	store := &fakeStore{CreateFn: func(context.Context, access.Token, audit.Event) error { return tokens.ErrDescriptionTaken() }}
	_, err := newService(store, nil).Create(context.Background(), session, tokens.CreateInput{Description: "dup"})
	if e := access.AsError(err); e.Code != "DESCRIPTION_TAKEN" || e.Kind != access.ECONFLICT {
		t.Fatalf("got %v, want DESCRIPTION_TAKEN", err)
	}
}

var generated = regexp.MustCompile(`^eyJh\.\.[A-Za-z0-9]{13}\.\.hgft$`)

func TestBlankDescriptionIsGeneratedFromTheToken(t *testing.T) {
	for _, blank := range []string{"", "   ", "\t"} {
		var stored access.Token
		store := &fakeStore{CreateFn: func(_ context.Context, tk access.Token, _ audit.Event) error { stored = tk; return nil }}
		got, err := newService(store, nil).Create(context.Background(), session, tokens.CreateInput{Description: blank})
		if err != nil {
			t.Fatal(err)
		}
		if !generated.MatchString(got.Description) || stored.Description != got.Description {
			t.Fatalf("got %q (stored %q), want eyJh..<13 alphanumerics>..hgft", got.Description, stored.Description)
		}
	}
}

func TestGeneratedDescriptionCollisionDrawsAgain(t *testing.T) {
	var tried []string
	store := &fakeStore{CreateFn: func(_ context.Context, tk access.Token, _ audit.Event) error {
		tried = append(tried, tk.Description)
		if len(tried) < 3 {
			return tokens.ErrDescriptionTaken()
		}
		return nil
	}}
	got, err := newService(store, nil).Create(context.Background(), session, tokens.CreateInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tried) != 3 || tried[0] == tried[1] || tried[1] == tried[2] || got.Description != tried[2] {
		t.Fatalf("got attempts %q and result %q, want three different draws, the last kept", tried, got.Description)
	}
}

func TestGeneratedDescriptionGivesUpAfterRepeatedCollisions(t *testing.T) {
	calls := 0
	store := &fakeStore{CreateFn: func(context.Context, access.Token, audit.Event) error { calls++; return tokens.ErrDescriptionTaken() }}
	_, err := newService(store, nil).Create(context.Background(), session, tokens.CreateInput{})
	if access.AsError(err).Code != "DESCRIPTION_TAKEN" || calls != 5 {
		t.Fatalf("got %v after %d attempts, want DESCRIPTION_TAKEN after 5", err, calls)
	}
}

func TestStoreFaultsAreNotHidden(t *testing.T) {
	store := &fakeStore{CreateFn: func(context.Context, access.Token, audit.Event) error {
		return access.Unavailable(errors.New("throttled"))
	}}
	_, err := newService(store, nil).Create(context.Background(), session, tokens.CreateInput{})
	if access.ErrorKind(err) != access.EUNAVAILABLE {
		t.Fatalf("got %v, want EUNAVAILABLE", err)
	}
}

func TestListChecksTheLimitAndScopesToTheTenant(t *testing.T) {
	tests := []struct {
		name      string
		limit     int
		wantLimit int
		wantErr   string
	}{
		{"no limit means 50", 0, 50, ""},
		{"1 is allowed", 1, 1, ""},
		{"100 is allowed", 100, 100, ""},
		{"101 is refused", 101, 0, "INVALID_LIMIT"},
		{"a negative limit is refused", -1, 0, "INVALID_LIMIT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var gotTenant string
			gotLimit := 0
			store := &fakeStore{ListFn: func(_ context.Context, tenant string, limit int, _ string) ([]access.Token, string, error) {
				gotTenant, gotLimit = tenant, limit
				return nil, "", nil
			}}
			_, err := newService(store, nil).List(context.Background(), session, tc.limit, "")
			if tc.wantErr != "" {
				if access.AsError(err).Code != tc.wantErr || gotLimit != 0 {
					t.Fatalf("got %v (store limit %d), want %s without a query", err, gotLimit, tc.wantErr)
				}
				return
			}
			if err != nil || gotLimit != tc.wantLimit || gotTenant != "acme" {
				t.Fatalf("got err %v, limit %d, tenant %q; want limit %d in acme", err, gotLimit, gotTenant, tc.wantLimit)
			}
		})
	}
}

func TestDeleteOfAnImpossibleIDIsNotFoundWithoutAStoreCall(t *testing.T) {
	store := &fakeStore{DeleteFn: func(context.Context, string, string, tokens.Deleter, audit.Event) error {
		t.Fatal("store called")
		return nil
	}}
	for _, id := range []string{"", strings.Repeat("a", 65)} {
		if err := newService(store, nil).Delete(context.Background(), session, id); access.ErrorKind(err) != access.ENOTFOUND {
			t.Fatalf("got %v for id %q, want ENOTFOUND", err, id)
		}
	}
}

func TestStatusText(t *testing.T) {
	exp := time.Date(2027, 1, 2, 15, 4, 59, 0, time.UTC)
	tests := []struct {
		name       string
		expiresAt  *time.Time
		at         time.Time
		wantStatus string
		wantText   string
	}{
		{"an expiring token shows its expiry in UTC", &exp, now, "Enabled", "Enabled - Expires on Jan 02, 2027 15:04"},
		{"a token without expiry never expires", nil, now, "Enabled", "Enabled - Never expires"},
		{"a token at its expiry instant is expired", &exp, exp, "Expired", "Expired"},
		{"a token past its expiry is expired", &exp, exp.Add(time.Second), "Expired", "Expired"},
		{"an expiry given in another zone is shown in UTC", ptr(exp.In(time.FixedZone("X", 5*3600))), now, "Enabled", "Enabled - Expires on Jan 02, 2027 15:04"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk := access.Token{ExpiresAt: tc.expiresAt}
			if got := tokens.Status(tk, tc.at); got != tc.wantStatus {
				t.Errorf("got status %q, want %q", got, tc.wantStatus)
			}
			if got := tokens.StatusText(tk, tc.at); got != tc.wantText {
				t.Errorf("got text %q, want %q", got, tc.wantText)
			}
		})
	}
}

func TestLastUsedText(t *testing.T) {
	used := time.Date(2026, 11, 27, 12, 0, 59, 0, time.FixedZone("X", -5*3600))
	tests := []struct {
		name string
		tk   access.Token
		want string
	}{
		{"a token never used", access.Token{}, "Never used"},
		{"a use is shown in UTC, with its address", access.Token{LastUsedAt: &used, LastUsedIP: "203.0.113.7"}, "Last used on Nov 27, 2026 17:00 from 203.0.113.7"},
		{"a use without an address", access.Token{LastUsedAt: &used}, "Last used on Nov 27, 2026 17:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tokens.LastUsedText(tc.tk); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
