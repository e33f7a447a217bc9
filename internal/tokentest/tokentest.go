// Package tokentest is a test helper: the API tokens of one test, for real.
// A fresh table on DynamoDB Local, the tokens service that mints with an
// in-process key, the authorizer that verifies those tokens and sessions of
// a local issuer, all on one clock the test moves. Tests that need tokens
// which the authorizer accepts (rotation, the rotation function, the
// pipeline's secrets) build on it instead of wiring their own.
package tokentest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/session"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// The issuers of a World's tokens and sessions.
const (
	Issuer          = "dcs-access:tokentest"
	SessionIssuer   = "https://sessions.tokentest.example"
	SessionAudience = "tokentest"
)

// World is one test's tokens.
type World struct {
	Clock    *testenv.Clock
	Client   *dynamodb.Client // the SDK's, the test's own view of the table
	Table    string
	Store    *dynamo.Store
	Tokens   *tokens.Service
	Auth     *authorizer.Authorizer
	Sessions *session.LocalIssuer
	Log      *testenv.Buffer // the authorizer's log
}

// New returns a World whose clock stands at start.
func New(t testing.TB, start time.Time) *World {
	t.Helper()
	clock := testenv.NewClock(start)
	storeClient, table := testenv.Table(t)
	store := dynamo.New(storeClient, table, clock.Now)
	client := testenv.DynamoDB(t)
	signer := NewSigner(t)
	sessions := &session.LocalIssuer{Issuer: SessionIssuer, Audience: SessionAudience, Key: newKey(t), Now: clock.Now}
	log := &testenv.Buffer{}
	return &World{
		Clock: clock, Client: client, Table: table, Store: store, Sessions: sessions, Log: log,
		Tokens: &tokens.Service{
			Store: store, Rotations: store, Minter: apitoken.Minter{Issuer: Issuer, Signer: signer},
			Now: clock.Now, NewID: tokens.NewID,
		},
		Auth: &authorizer.Authorizer{
			TokenIssuer: Issuer,
			APITokens:   apitoken.NewVerifier(Issuer, map[string]*ecdsa.PublicKey{signer.KeyID(): signer.Public()}, clock.Now),
			Sessions:    session.NewVerifier(session.Config{Issuer: SessionIssuer, Audience: SessionAudience}, sessions.KeySet(), clock.Now),
			Store:       store,
			Now:         clock.Now,
			Log:         slog.New(slog.NewTextHandler(log, nil)),
		},
	}
}

// NewSigner returns a signer of API tokens with a fresh in-process key,
// for a test that wires a tokens service of its own (on a store whose
// client it wraps, say).
func NewSigner(t testing.TB) *apitoken.KeySigner {
	t.Helper()
	signer, err := apitoken.NewKeySigner(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Session signs user of tenant in, for 12 hours from the clock's now.
func (w *World) Session(t testing.TB, user, tenant string) string {
	t.Helper()
	raw, err := w.Sessions.Issue(user, tenant, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Works reports whether the authorizer lets bearer in now; a decision it
// cannot make fails the test.
func (w *World) Works(t testing.TB, bearer string) bool {
	t.Helper()
	_, err := w.Auth.Authenticate(context.Background(), "Bearer "+bearer)
	if err != nil && access.ErrorKind(err) != access.EUNAUTHORIZED {
		t.Fatalf("the authorizer could not decide: %v", err)
	}
	return err == nil
}
