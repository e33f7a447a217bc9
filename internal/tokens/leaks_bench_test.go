package tokens_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// BenchmarkLeakRevocation is how long POST /api-tokens/revoke takes to
// answer, on DynamoDB Local (events on the in-memory bus), for reports of 1
// and of 100 tokens, all valid or all forged: "answer-ms" with the floor
// (LeakAnswerFloor plus LeakAnswerPerToken a token), the same for a valid
// and a forged report of one size, and "work-ms", the same report without
// it: what the floor hides, which must stay below it.
func BenchmarkLeakRevocation(b *testing.B) {
	client, table := testenv.Table(b)
	store := dynamo.New(client, table, time.Now)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := apitoken.NewKeySigner(key)
	if err != nil {
		b.Fatal(err)
	}
	const issuer = "dcs-access:bench"
	minter := apitoken.Minter{Issuer: issuer, Signer: signer}
	leaks := func(floor, perToken time.Duration) *tokens.Leaks {
		return &tokens.Leaks{
			Verifier: apitoken.NewVerifier(issuer, map[string]*ecdsa.PublicKey{signer.KeyID(): signer.Public()}, time.Now),
			Store:    store, Bus: &eventbus.Memory{}, Now: time.Now, Floor: floor, PerToken: perToken, Wait: tokens.Sleep,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
	}
	// report mints n tokens, stored when valid; forged ones carry another
	// key's signature under the trusted key id.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherSigner, _ := apitoken.NewKeySigner(other)
	report := func(n int, valid bool) []string {
		var raws []string
		for range n {
			tk := access.Token{ID: uuid.Must(uuid.NewV7()).String(), Tenant: "acme", Description: uuid.NewString(), AssociatedUser: "ada@example.com", CreatedAt: time.Now()}
			m := minter
			if valid {
				if err := store.Create(context.Background(), tk, access.DefaultPolicy(), audittest.TokenCreated(tk.Tenant, tk.ID)); err != nil {
					b.Fatal(err)
				}
			} else {
				m = apitoken.Minter{Issuer: issuer, Signer: otherSigner}
			}
			raw, err := m.Mint(context.Background(), apitoken.Grant{ID: tk.ID, User: tk.AssociatedUser, Tenant: tk.Tenant, IssuedAt: tk.CreatedAt})
			if err != nil {
				b.Fatal(err)
			}
			raws = append(raws, raw)
		}
		return raws
	}
	timed := func(l *tokens.Leaks, raws []string) time.Duration {
		t := time.Now()
		if err := l.Revoke(context.Background(), raws); err != nil {
			b.Fatal(err)
		}
		return time.Since(t)
	}
	for _, n := range []int{1, tokens.MaxLeakReport} {
		for _, valid := range []bool{true, false} {
			kind := map[bool]string{true: "valid", false: "forged"}[valid]
			b.Run(fmt.Sprintf("%d %s", n, kind), func(b *testing.B) {
				var answer, work []time.Duration
				for b.Loop() {
					answer = append(answer, timed(leaks(tokens.LeakAnswerFloor, tokens.LeakAnswerPerToken), report(n, valid)))
					work = append(work, timed(leaks(0, 0), report(n, valid)))
				}
				slices.Sort(answer)
				slices.Sort(work)
				b.ReportMetric(float64(answer[len(answer)/2].Microseconds())/1000, "answer-ms")
				b.ReportMetric(float64(work[len(work)/2].Microseconds())/1000, "work-ms")
			})
		}
	}
}
