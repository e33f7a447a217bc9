package tokens_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// BenchmarkCreate is create-token latency: sign, then the DynamoDB Local transaction.
func BenchmarkCreate(b *testing.B) {
	client, table := testenv.Table(b)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := apitoken.NewKeySigner(key)
	if err != nil {
		b.Fatal(err)
	}
	svc := &tokens.Service{
		Store:  dynamo.New(client, table, time.Now),
		Minter: apitoken.Minter{Issuer: "dcs-access:bench", Signer: signer},
		Now:    time.Now,
		NewID:  func() string { return uuid.Must(uuid.NewV7()).String() },
	}
	p := access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthSession}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Create(context.Background(), p, tokens.CreateInput{}); err != nil {
			b.Fatal(err)
		}
	}
}
