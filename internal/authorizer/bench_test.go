package authorizer_test

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

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// benchToken is an API token stored on DynamoDB Local, and an authorizer
// that records its last use as in Lambda: the write is handed to
// AfterResponse (queued here, and run by the benchmark once the decision
// has been timed, as the Lambda extension runs it once the answer has gone).
type benchToken struct {
	auth   *authorizer.Authorizer
	req    events.APIGatewayCustomAuthorizerRequestTypeRequest
	claims *apitoken.Claims
	after  *deferred
	now    time.Time // the authorizer's clock
}

// newBenchTokens stores one token per description in one table, all signed
// by one key, and returns them with the verifier and the store.
func newBenchTokens(b *testing.B, descriptions ...string) ([]*benchToken, *apitoken.Verifier, *dynamo.Store) {
	b.Helper()
	client, table := testenv.Table(b)
	store := dynamo.New(client, table, time.Now)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := apitoken.NewKeySigner(key)
	if err != nil {
		b.Fatal(err)
	}
	const issuer = "dcs-access:bench"
	verifier := apitoken.NewVerifier(issuer, map[string]*ecdsa.PublicKey{signer.KeyID(): signer.Public()}, time.Now)
	var out []*benchToken
	for i, desc := range descriptions {
		now := time.Now()
		tk := access.Token{ID: uuid.Must(uuid.NewV7()).String(), Tenant: "acme", Description: desc, AssociatedUser: "ada@example.com", CreatedAt: now}
		if err := store.Create(context.Background(), tk, access.DefaultPolicy(), audittest.TokenCreated(tk.Tenant, tk.ID)); err != nil {
			b.Fatal(err)
		}
		raw, err := apitoken.Minter{Issuer: issuer, Signer: signer}.Mint(context.Background(), apitoken.Grant{ID: tk.ID, User: tk.AssociatedUser, Tenant: tk.Tenant, IssuedAt: now})
		if err != nil {
			b.Fatal(err)
		}
		claims, err := verifier.Verify(raw)
		if err != nil {
			b.Fatal(err)
		}
		bt := &benchToken{req: request("Bearer " + raw), claims: claims, after: &deferred{}, now: now}
		bt.req.RequestContext.Identity.SourceIP = fmt.Sprintf("203.0.113.%d", i+1)
		bt.auth = &authorizer.Authorizer{
			TokenIssuer: issuer, APITokens: verifier, Store: store, Uses: store, AfterResponse: bt.after.after,
			Now: func() time.Time { return bt.now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		out = append(out, bt)
	}
	return out, verifier, store
}

// BenchmarkAuthorizeOverhead measures, interleaved in one run, the
// authorizer's whole decision for an API token (Handle: the REQUEST event's
// header checks, verification, one consistent GetItem, expiry, the policy)
// with the record of last use in place, and the two things it cannot avoid:
// one ES256 verification and one consistent GetItem. "decide" is a busy
// token, whose use was recorded less than 5 minutes ago (its read says so,
// and no write is made); "decide-due" is a token whose every decision finds
// its record 5 minutes old, so each hands over a write, which runs after
// the decision was timed ("write", as in Lambda after the answer).
// overhead-% and overhead-due-% are what each decision costs beyond the
// two (goal: under 10): the median of each round's difference between the
// decision and that round's verification plus read, over the median of the
// latter. Paired rounds cancel the machine's changing load, which moves
// DynamoDB Local's latency by a factor of two within a run; the three
// store-bound steps take turns right after the write, which DynamoDB Local
// may still be busy with.
func BenchmarkAuthorizeOverhead(b *testing.B) {
	tokens, verifier, store := newBenchTokens(b, "busy", "due")
	busy, due := tokens[0], tokens[1]
	ctx := context.Background()
	// The busy token's use is recorded once, before the clock starts.
	if _, err := busy.auth.Handle(ctx, busy.req); err != nil || busy.after.runAll() != 1 {
		b.Fatalf("the first decision: %v, or no write handed over", err)
	}
	raw := busy.req.Headers["Authorization"][len("Bearer "):]
	var verify, get, decide, decideDue, write, floor, extra, extraDue []time.Duration
	steps := []func(){
		func() { // the floor's read
			t := time.Now()
			if _, err := store.Get(ctx, busy.claims.Tenant, busy.claims.ID); err != nil {
				b.Fatal(err)
			}
			get = append(get, time.Since(t))
		},
		func() {
			t := time.Now()
			if _, err := busy.auth.Handle(ctx, busy.req); err != nil {
				b.Fatal(err)
			}
			decide = append(decide, time.Since(t))
			if n := busy.after.runAll(); n != 0 {
				b.Fatalf("a busy token's decision handed over %d writes, want none", n)
			}
		},
		func() {
			due.now = due.now.Add(authorizer.UseRecordInterval)
			t := time.Now()
			if _, err := due.auth.Handle(ctx, due.req); err != nil {
				b.Fatal(err)
			}
			decideDue = append(decideDue, time.Since(t))
		},
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t := time.Now()
		if _, err := verifier.Verify(raw); err != nil {
			b.Fatal(err)
		}
		verify = append(verify, time.Since(t))
		for j := range steps {
			steps[(i+j)%len(steps)]()
		}
		t = time.Now()
		if n := due.after.runAll(); n != 1 {
			b.Fatalf("a due decision handed over %d writes, want 1", n)
		}
		write = append(write, time.Since(t))
		last := len(verify) - 1
		floor = append(floor, verify[last]+get[last])
		extra = append(extra, decide[last]-floor[last])
		extraDue = append(extraDue, decideDue[last]-floor[last])
	}
	f := median(floor)
	b.ReportMetric(float64(median(verify).Nanoseconds()), "verify-ns")
	b.ReportMetric(float64(median(get).Nanoseconds()), "getitem-ns")
	b.ReportMetric(float64(median(decide).Nanoseconds()), "decide-ns")
	b.ReportMetric(float64(median(decideDue).Nanoseconds()), "decide-due-ns")
	b.ReportMetric(float64(median(write).Nanoseconds()), "write-ns")
	b.ReportMetric(100*float64(median(extra))/float64(f), "overhead-%")
	b.ReportMetric(100*float64(median(extraDue))/float64(f), "overhead-due-%")
	if got, err := store.Get(ctx, due.claims.Tenant, due.claims.ID); err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(due.now.Truncate(time.Millisecond)) {
		b.Fatalf("the due token's last use: got %v (%v), want the last decision's %v: the writes did not happen", got.LastUsedAt, err, due.now)
	}
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
