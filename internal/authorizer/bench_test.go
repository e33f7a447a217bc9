package authorizer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// benchStack is an authorizer on DynamoDB Local with one stored API token.
type benchStack struct {
	auth     *authorizer.Authorizer
	verifier *apitoken.Verifier
	store    *dynamo.Store
	token    string
	claims   *apitoken.Claims
}

func newBenchStack(b *testing.B) benchStack {
	b.Helper()
	client, table := testenv.Table(b)
	store := dynamo.New(client, table, time.Now)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := apitoken.NewKeySigner(key)
	if err != nil {
		b.Fatal(err)
	}
	const issuer = "dcs-access:bench"
	now := time.Now()
	tk := access.Token{ID: uuid.Must(uuid.NewV7()).String(), Tenant: "acme", Description: "bench", AssociatedUser: "ada@example.com", CreatedAt: now}
	if err := store.Create(context.Background(), tk); err != nil {
		b.Fatal(err)
	}
	raw, err := apitoken.Minter{Issuer: issuer, Signer: signer}.Mint(context.Background(), apitoken.Grant{ID: tk.ID, User: tk.AssociatedUser, Tenant: tk.Tenant, IssuedAt: now})
	if err != nil {
		b.Fatal(err)
	}
	verifier := apitoken.NewVerifier(issuer, map[string]*ecdsa.PublicKey{signer.KeyID(): signer.Public()}, time.Now)
	claims, err := verifier.Verify(raw)
	if err != nil {
		b.Fatal(err)
	}
	return benchStack{
		auth: &authorizer.Authorizer{
			TokenIssuer: issuer, APITokens: verifier, Store: store, Now: time.Now,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		},
		verifier: verifier, store: store, token: raw, claims: claims,
	}
}

// BenchmarkAuthorizeOverhead measures, interleaved in one run, the
// authorizer's whole decision for an API token and the two things it cannot
// avoid: one ES256 verification and one consistent GetItem. overhead-% is
// what the decision costs beyond those two (goal: under 20). Medians, and
// alternating the order of the store calls, keep DynamoDB Local's jitter out.
func BenchmarkAuthorizeOverhead(b *testing.B) {
	s := newBenchStack(b)
	ctx := context.Background()
	header := "Bearer " + s.token
	var verify, get, decide []time.Duration
	getItem := func() {
		t := time.Now()
		if _, err := s.store.Get(ctx, s.claims.Tenant, s.claims.ID); err != nil {
			b.Fatal(err)
		}
		get = append(get, time.Since(t))
	}
	authorize := func() {
		t := time.Now()
		if _, err := s.auth.Authenticate(ctx, header); err != nil {
			b.Fatal(err)
		}
		decide = append(decide, time.Since(t))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t := time.Now()
		if _, err := s.verifier.Verify(s.token); err != nil {
			b.Fatal(err)
		}
		verify = append(verify, time.Since(t))
		if i%2 == 0 {
			getItem()
			authorize()
		} else {
			authorize()
			getItem()
		}
	}
	v, g, d := median(verify), median(get), median(decide)
	b.ReportMetric(float64(v.Nanoseconds()), "verify-ns")
	b.ReportMetric(float64(g.Nanoseconds()), "getitem-ns")
	b.ReportMetric(float64(d.Nanoseconds()), "decide-ns")
	b.ReportMetric(100*float64(d-v-g)/float64(v+g), "overhead-%")
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// BenchmarkVerify is the ES256 verification alone, in memory.
func BenchmarkVerify(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := apitoken.NewKeySigner(key)
	raw, _ := apitoken.Minter{Issuer: "i", Signer: signer}.Mint(context.Background(), apitoken.Grant{ID: "id", User: "u", Tenant: "t", IssuedAt: time.Now()})
	v := apitoken.NewVerifier("i", map[string]*ecdsa.PublicKey{signer.KeyID(): signer.Public()}, time.Now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}
