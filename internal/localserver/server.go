package localserver

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/app"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/localkey"
	"github.com/dcs-access/dcs-access/internal/session"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// Local issuers: distinct from anything in AWS, so a local token or session
// is never accepted by a deployed stack.
const (
	TokenIssuer     = "dcs-access:local"
	SessionIssuer   = "https://sessions.dcs-access.local"
	SessionAudience = "dcs-access-local"
	sessionLifetime = 12 * time.Hour
)

// Config is where the local stack keeps its state.
type Config struct {
	DynamoDBEndpoint string // DynamoDB Local
	Table            string
	DataDir          string // signing and session keys live here
	Log              *slog.Logger
}

// New wires the local stack: the table is created if missing, and the keys
// are loaded from DataDir or made there on first run.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	client := dynamodb.NewFromConfig(awsconfig.Local(cfg.DynamoDBEndpoint))
	if err := dynamo.CreateTable(ctx, client, cfg.Table); err != nil {
		return nil, err
	}
	store := dynamo.New(client, cfg.Table, time.Now)
	signingKey, err := localkey.LoadOrCreate(filepath.Join(cfg.DataDir, "signing-key.pem"))
	if err != nil {
		return nil, err
	}
	sessionKey, err := localkey.LoadOrCreate(filepath.Join(cfg.DataDir, "session-key.pem"))
	if err != nil {
		return nil, err
	}
	return NewWith(store, signingKey, sessionKey, cfg.Log)
}

// NewWith wires the local stack on a given store and keys.
func NewWith(store *dynamo.Store, signingKey, sessionKey *ecdsa.PrivateKey, log *slog.Logger) (http.Handler, error) {
	signer, err := apitoken.NewKeySigner(signingKey)
	if err != nil {
		return nil, err
	}
	issuer := &session.LocalIssuer{Issuer: SessionIssuer, Audience: SessionAudience, Key: sessionKey, Now: time.Now}
	auth := &authorizer.Authorizer{
		TokenIssuer: TokenIssuer,
		APITokens:   apitoken.NewVerifier(TokenIssuer, map[string]*ecdsa.PublicKey{signer.KeyID(): signer.Public()}, time.Now),
		Sessions:    session.NewVerifier(session.Config{Issuer: SessionIssuer, Audience: SessionAudience}, issuer.KeySet(), time.Now),
		Store:       store,
		Now:         time.Now,
		Log:         log,
	}
	h := &api.Tokens{
		Service: &tokens.Service{Store: store, Minter: apitoken.Minter{Issuer: TokenIssuer, Signer: signer}, Now: time.Now, NewID: app.NewID},
		Now:     time.Now,
	}
	g := NewGateway(auth.Handle)
	g.Route("POST", "/api-tokens", h.Create)
	g.Route("GET", "/api-tokens", h.List)
	g.Route("DELETE", "/api-tokens/{id}", h.Delete)
	g.Route("GET", "/whoami", api.WhoAmI)
	g.Public("POST /local/sessions", sessionRoute(issuer))
	return g, nil
}

// sessionRoute is the local sign-in: POST {"email","tenant"} → {"token"}.
func sessionRoute(issuer *session.LocalIssuer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email  string `json:"email"`
			Tenant string `json:"tenant"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			gatewayResponse(w, http.StatusBadRequest, "INVALID_BODY", `The body must be {"email": "...", "tenant": "..."}.`)
			return
		}
		addr, err := mail.ParseAddress(in.Email)
		if err != nil || addr.Address != in.Email {
			gatewayResponse(w, http.StatusBadRequest, "INVALID_EMAIL", "email must be a plain e-mail address such as ada@example.com.")
			return
		}
		in.Tenant = strings.TrimSpace(in.Tenant)
		if in.Tenant == "" || len(in.Tenant) > 64 || strings.ContainsAny(in.Tenant, "#\x00") {
			gatewayResponse(w, http.StatusBadRequest, "INVALID_TENANT", "tenant must be 1 to 64 characters, without '#'.")
			return
		}
		tok, err := issuer.Issue(in.Email, in.Tenant, sessionLifetime)
		if err != nil {
			gatewayResponse(w, http.StatusInternalServerError, "INTERNAL", "Could not sign a session.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	})
}
