package pipelinesecrets_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/pipelinesecrets"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/secretversions"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
	"github.com/dcs-access/dcs-access/internal/tokentest"
)

// The routes against moto's Secrets Manager and the token store on
// DynamoDB Local; the authorizer says whether a stored token works.

var tenants atomic.Int64

// The two routes.
const (
	putKey   = "PUT /sandbox-plans/{sandbox}/salesforce-key"
	newToken = "POST /sandbox-plans/{sandbox}/dcs-token"
)

type world struct {
	*tokentest.World
	tenant   string // unique per test: the secrets' names in the shared moto
	sm       *secretsmanager.Client
	handlers *api.PipelineSecrets
	service  *pipelinesecrets.Service
}

var rotationFunction struct {
	arn string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	tw := tokentest.New(t, time.Now())
	if rotationFunction.arn == "" {
		rotationFunction.arn = testenv.MotoLambdaFunction(t, "dcs-token-rotation")
	}
	service := &pipelinesecrets.Service{
		Secrets:  secrets.Manager{API: testenv.Moto(t, secrets.Service)},
		Tokens:   tw.Tokens,
		Plans:    tw.Store,
		Policies: tw.Store,
		Rotation: pipelinesecrets.Rotation{FunctionARN: rotationFunction.arn, Days: 30, OverlapMinutes: 60},
	}
	return &world{
		World:    tw,
		tenant:   fmt.Sprintf("t%d-%d", time.Now().UnixNano(), tenants.Add(1)),
		service:  service,
		sm:       secretsmanager.NewFromConfig(awsconfig.Local(testenv.MotoEndpoint(t))),
		handlers: &api.PipelineSecrets{Service: service, Now: tw.Clock.Now},
	}
}

func (w *world) principal(user string, authType access.AuthType) access.Principal {
	p := access.Principal{User: user, Tenant: w.tenant, AuthType: authType, Scopes: access.AllScopes()}
	if authType == access.AuthAPIToken {
		p.TokenID = "some-token"
	}
	return p
}

// call sends a request as the caller p, as API Gateway passes it on.
func (w *world) call(t *testing.T, route string, p access.Principal, sandbox, body string) api.Response {
	t.Helper()
	req := events.APIGatewayProxyRequest{Body: body, PathParameters: map[string]string{"sandbox": sandbox}}
	req.HTTPMethod, req.Resource, _ = strings.Cut(route, " ")
	req.RequestContext.Authorizer = authorizer.Allow(p, "arn:aws:execute-api:us-east-1:123456789012:x/v1/POST/x").Context
	resp, err := w.handlers.Routes().Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// secret is the secret's current value in moto ("", false when there is none).
func (w *world) secret(t *testing.T, name string) (string, bool) {
	t.Helper()
	out, err := w.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: &name, VersionStage: aws.String("AWSCURRENT")})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ResourceNotFoundException" {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.SecretString), true
}

func errorCode(t *testing.T, resp api.Response) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("got %d %q, want the error shape", resp.StatusCode, resp.Body)
	}
	return e.Error.Code
}

func rsaPEM(t *testing.T, bits int, pkcs8 bool) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	if pkcs8 {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

func keyBody(pemText string) string {
	b, _ := json.Marshal(map[string]string{"privateKey": pemText})
	return string(b)
}

// demoPlan is a plan of sandbox uat1 that names other secrets, stored as
// it is (the routes only point it at theirs).
func (w *world) demoPlan(t *testing.T) {
	t.Helper()
	base := "arn:aws:secretsmanager:us-east-1:123456789012:secret:dcs-access/" + w.tenant + "/"
	p := plans.Plan{Sandbox: "uat1", LicenseType: "PARTIAL",
		Salesforce: plans.Salesforce{PrivateKeySecretARN: base + "old-key-AbCdEf"}, DCS: plans.DCS{APITokenSecretARN: base + "old-token-AbCdEf"}}
	p.Defaults()
	if _, err := w.Store.PutPlan(context.Background(), w.tenant, p, audittest.PlanSaved(w.tenant)); err != nil {
		t.Fatal(err)
	}
}

func (w *world) plan(t *testing.T) plans.Plan {
	t.Helper()
	p, err := w.Store.GetPlan(context.Background(), w.tenant, "uat1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTheSalesforceKeyIsStoredCheckedAndNeverReturned(t *testing.T) {
	w := newWorld(t)
	ada := w.principal("ada@example.com", access.AuthSession)
	name := plans.SecretName(w.tenant, "UAT1", plans.SalesforceKeySecret)
	if !strings.HasSuffix(name, "/uat1/salesforce-key") {
		t.Fatalf("got secret name %s", name)
	}
	w.demoPlan(t)
	key := rsaPEM(t, 2048, false)
	resp := w.call(t, putKey, ada, "UAT1", keyBody(key))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("got %d %s, want 201", resp.StatusCode, resp.Body)
	}
	var got struct {
		SecretARN   string `json:"secretArn"`
		PlanUpdated bool   `json:"planUpdated"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	if stored, ok := w.secret(t, name); !ok || stored != key {
		t.Fatal("the key is not the secret's value")
	}
	block, _ := pem.Decode([]byte(key))
	if strings.Contains(resp.Body, "PRIVATE KEY") || strings.Contains(resp.Body, string(block.Bytes[:16])) {
		t.Fatalf("the answer %s holds the key", resp.Body)
	}
	if !strings.Contains(got.SecretARN, ":secret:"+name+"-") || !got.PlanUpdated {
		t.Fatalf("got %s, want the secret's ARN and the plan updated", resp.Body)
	}
	if p := w.plan(t); p.Salesforce.PrivateKeySecretARN != got.SecretARN {
		t.Fatalf("the plan names %s, want %s", p.Salesforce.PrivateKeySecretARN, got.SecretARN)
	}

	t.Run("a new key replaces it: 200", func(t *testing.T) {
		next := rsaPEM(t, 3072, true)
		resp := w.call(t, putKey, ada, "uat1", keyBody(next))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s, want 200", resp.StatusCode, resp.Body)
		}
		if stored, _ := w.secret(t, name); stored != next {
			t.Fatal("the new key is not the secret's current value")
		}
	})
	t.Run("with an API token: 403, nothing stored", func(t *testing.T) {
		resp := w.call(t, putKey, w.principal("ada@example.com", access.AuthAPIToken), "uat2", keyBody(key))
		if resp.StatusCode != http.StatusForbidden || errorCode(t, resp) != "SESSION_REQUIRED" {
			t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
		}
		if _, ok := w.secret(t, plans.SecretName(w.tenant, "uat2", plans.SalesforceKeySecret)); ok {
			t.Fatal("a secret was stored")
		}
	})
	t.Run("without a plan the key waits for one", func(t *testing.T) {
		resp := w.call(t, putKey, ada, "uat3", keyBody(key))
		if resp.StatusCode != http.StatusCreated || !strings.Contains(resp.Body, `"planUpdated":false`) {
			t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
		}
		arn, err := secrets.Manager{API: testenv.Moto(t, secrets.Service)}.SecretARN(context.Background(), plans.SecretName(w.tenant, "uat3", plans.SalesforceKeySecret))
		if err != nil || !strings.Contains(resp.Body, arn) {
			t.Fatalf("got ARN %s (%v), want the one answered", arn, err)
		}
	})
}

func TestAKeyThePipelineCannotUseIsA400ThatQuotesNothing(t *testing.T) {
	w := newWorld(t)
	ada := w.principal("ada@example.com", access.AuthSession)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	good := rsaPEM(t, 2048, false)
	goodBlock, _ := pem.Decode([]byte(good))
	//lint:ignore SA1019 an encrypted legacy PEM is what this must refuse
	encrypted, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", goodBlock.Bytes, []byte("passphrase"), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	small := rsaPEM(t, 1024, true)
	for _, tc := range []struct{ name, body, code, says string }{
		{"not PEM", keyBody("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "INVALID_PRIVATE_KEY", "must be a PEM private key"},
		{"an RSA key of 1024 bits", keyBody(small), "INVALID_PRIVATE_KEY", "2048 to 16384 bits, not 1024"},
		{"an EC key", keyBody(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))), "INVALID_PRIVATE_KEY", "must be an RSA private key"},
		{"an encrypted key", keyBody(string(pem.EncodeToMemory(encrypted))), "INVALID_PRIVATE_KEY", "must not be encrypted"},
		{"a PKCS #8 encrypted key", keyBody(string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: goodBlock.Bytes}))), "INVALID_PRIVATE_KEY", "must not be encrypted"},
		{"two keys", keyBody(good + good), "INVALID_PRIVATE_KEY", "one PEM block"},
		{"a key and more text", keyBody(good + "and a note"), "INVALID_PRIVATE_KEY", "one PEM block"},
		{"a public key", keyBody(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: goodBlock.Bytes}))), "INVALID_PRIVATE_KEY", "not a public key"},
		{"an RSA header over other bytes", keyBody(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: ecDER}))), "INVALID_PRIVATE_KEY", "must be an RSA private key"},
		{"no privateKey", `{}`, "INVALID_BODY", "privateKey"},
		{"privateKey null", `{"privateKey":null}`, "INVALID_BODY", "privateKey"},
		{"the key as a member's name", `{` + fmt.Sprintf("%q", good) + `:1}`, "INVALID_BODY", "privateKey"},
		{"another member too", `{"privateKey":"x","passphrase":"secret-words"}`, "INVALID_BODY", "privateKey"},
		{"not JSON", good, "INVALID_BODY", "privateKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.call(t, putKey, ada, "uat1", tc.body)
			if resp.StatusCode != http.StatusBadRequest || errorCode(t, resp) != tc.code || !strings.Contains(resp.Body, tc.says) {
				t.Fatalf("got %d %s, want 400 %s saying %q", resp.StatusCode, resp.Body, tc.code, tc.says)
			}
			for _, secret := range []string{"MII", "secret-words", goodBlock.Headers["DEK-Info"]} {
				if secret != "" && strings.Contains(resp.Body, secret) {
					t.Fatalf("the answer %s quotes the body", resp.Body)
				}
			}
			if _, ok := w.secret(t, plans.SecretName(w.tenant, "uat1", plans.SalesforceKeySecret)); ok {
				t.Fatal("a refused key was stored")
			}
		})
	}
	t.Run("a sandbox name Salesforce refuses", func(t *testing.T) {
		resp := w.call(t, putKey, ada, "uat-1", keyBody(good))
		if resp.StatusCode != http.StatusBadRequest || errorCode(t, resp) != "INVALID_SANDBOX" {
			t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
		}
	})
	t.Run("positive control: the same key, valid, is stored", func(t *testing.T) {
		if resp := w.call(t, putKey, ada, "uat1", keyBody(good)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
		}
	})
}

// tokenAnswer is the dcs-token route's answer.
type tokenAnswer struct {
	SecretARN   string `json:"secretArn"`
	PlanUpdated bool   `json:"planUpdated"`
	Rotated     bool   `json:"rotated"`
	Token       struct {
		ID          string  `json:"id"`
		Description string  `json:"description"`
		ExpiresAt   *string `json:"expiresAt"`
		RotatedFrom string  `json:"rotatedFrom"`
	} `json:"token"`
	Rotation struct{ EveryDays, OverlapMinutes int } `json:"rotation"`
}

func (w *world) newToken(t *testing.T, p access.Principal, body string, status int) tokenAnswer {
	t.Helper()
	resp := w.call(t, newToken, p, "uat1", body)
	if resp.StatusCode != status {
		t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, status)
	}
	var a tokenAnswer
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		t.Fatal(err)
	}
	if stored, ok := w.secret(t, plans.SecretName(w.tenant, "uat1", plans.DCSTokenSecret)); ok && strings.Contains(resp.Body, strings.Split(stored, ".")[2]) {
		t.Fatalf("the answer %s holds the token", resp.Body)
	}
	return a
}

func TestTheDCSTokenGoesStraightIntoItsSecretWithRotationOn(t *testing.T) {
	w := newWorld(t)
	ada := w.principal("ada@example.com", access.AuthSession)
	name := plans.SecretName(w.tenant, "uat1", plans.DCSTokenSecret)
	w.demoPlan(t)
	first := w.newToken(t, ada, ``, http.StatusCreated)
	token, ok := w.secret(t, name)
	if !ok || !w.Works(t, token) {
		t.Fatal("the secret holds no working token")
	}
	if p, err := w.Auth.Authenticate(context.Background(), "Bearer "+token); err != nil || !slices.Equal(p.Scopes, []access.Scope{access.ScopeComplianceJobsRun}) {
		t.Fatalf("the stored token authenticates as %+v, %v; want the scope compliance-jobs:run alone", p, err)
	}
	if id, _ := apitoken.UnverifiedID(token); id != first.Token.ID || first.Token.Description != "sandbox refresh: uat1" {
		t.Fatalf("got %+v, want the stored token's metadata", first.Token)
	}
	if want := time.Now().UTC().AddDate(0, 0, pipelinesecrets.LifespanRotations*30).Format("2006-01-02"); first.Token.ExpiresAt == nil || !strings.HasPrefix(*first.Token.ExpiresAt, want) {
		t.Errorf("got expiry %v, want the default lifespan", first.Token.ExpiresAt)
	}
	d, err := w.sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: &name})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.RotationLambdaARN) != rotationFunction.arn || aws.ToInt64(d.RotationRules.AutomaticallyAfterDays) != 30 {
		t.Fatalf("the secret's rotation is %v every %v days, want the rotation function every 30", aws.ToString(d.RotationLambdaARN), aws.ToInt64(d.RotationRules.AutomaticallyAfterDays))
	}
	if !first.PlanUpdated || w.plan(t).DCS.APITokenSecretARN != first.SecretARN {
		t.Fatal("the plan does not point at the token's secret")
	}
	if first.Rotation.EveryDays != 30 || first.Rotation.OverlapMinutes != 60 {
		t.Errorf("got rotation %+v", first.Rotation)
	}

	t.Run("asked again, it rotates the held token, which keeps working for the overlap", func(t *testing.T) {
		second := w.newToken(t, ada, `{"lifespanDays":60}`, http.StatusOK)
		next, _ := w.secret(t, name)
		if !second.Rotated || second.Token.RotatedFrom != first.Token.ID || next == token {
			t.Fatalf("got %+v, want the first token rotated", second)
		}
		if !w.Works(t, next) || !w.Works(t, token) {
			t.Fatal("the new token, or the old one in its overlap, is refused")
		}
	})
	t.Run("a colleague cannot take over the pipeline's token", func(t *testing.T) {
		held, _ := w.secret(t, name)
		resp := w.call(t, newToken, w.principal("grace@example.com", access.AuthSession), "uat1", ``)
		if resp.StatusCode != http.StatusForbidden || errorCode(t, resp) != tokens.CodeNotOwner {
			t.Fatalf("got %d %s, want 403 %s", resp.StatusCode, resp.Body, tokens.CodeNotOwner)
		}
		if now, _ := w.secret(t, name); now != held {
			t.Fatal("the secret changed")
		}
	})
	t.Run("a deleted token is replaced by a new one", func(t *testing.T) {
		held, _ := w.secret(t, name)
		id, _ := apitoken.UnverifiedID(held)
		if err := w.service.Tokens.Delete(context.Background(), ada, id); err != nil {
			t.Fatal(err)
		}
		third := w.newToken(t, ada, ``, http.StatusCreated)
		if third.Rotated || third.Token.ID == id || third.Token.RotatedFrom != "" {
			t.Fatalf("got %+v, want a new token", third)
		}
		if now, _ := w.secret(t, name); !w.Works(t, now) {
			t.Fatal("the new token is refused")
		}
	})
}

func TestBadDCSTokenRequestsAre4xxAndStoreNothing(t *testing.T) {
	w := newWorld(t)
	name := plans.SecretName(w.tenant, "uat1", plans.DCSTokenSecret)
	for _, tc := range []struct {
		name   string
		p      access.Principal
		body   string
		status int
		code   string
	}{
		{"with an API token", w.principal("ada@example.com", access.AuthAPIToken), ``, http.StatusForbidden, "SESSION_REQUIRED"},
		{"a lifespan no longer than the rotation schedule", w.principal("ada@example.com", access.AuthSession), `{"lifespanDays":30}`, http.StatusBadRequest, "INVALID_LIFESPAN"},
		{"a lifespan over ten years", w.principal("ada@example.com", access.AuthSession), `{"lifespanDays":3651}`, http.StatusBadRequest, "INVALID_LIFESPAN"},
		{"a lifespan as a string", w.principal("ada@example.com", access.AuthSession), `{"lifespanDays":"90"}`, http.StatusBadRequest, "INVALID_LIFESPAN"},
		{"an unknown field", w.principal("ada@example.com", access.AuthSession), `{"description":"x"}`, http.StatusBadRequest, "INVALID_BODY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.call(t, newToken, tc.p, "uat1", tc.body)
			if resp.StatusCode != tc.status || errorCode(t, resp) != tc.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Body, tc.status, tc.code)
			}
			if _, ok := w.secret(t, name); ok {
				t.Fatal("a secret was stored")
			}
			if n := w.tokenItems(t); n != 0 {
				t.Fatalf("got %d token items, want none", n)
			}
		})
	}
}

// failingStore fails every Store.
type failingStore struct{ pipelinesecrets.Secrets }

func (failingStore) Store(context.Context, string, string, string) (secretversions.Stored, error) {
	return secretversions.Stored{}, access.Unavailable(errors.New("Secrets Manager is throttling"))
}

func TestATokenThatCannotBeStoredIsDeleted(t *testing.T) {
	w := newWorld(t)
	w.service.Secrets = failingStore{w.service.Secrets}
	ada := w.principal("ada@example.com", access.AuthSession)
	resp := w.call(t, newToken, ada, "uat1", ``)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("got %d %s, want 503", resp.StatusCode, resp.Body)
	}
	if n := w.tokenItems(t); n != 0 {
		t.Fatalf("got %d token items, want none: a token nobody holds must not be left working", n)
	}
	// Positive control: with Secrets Manager back, the same request works.
	w.service.Secrets = w.service.Secrets.(failingStore).Secrets
	w.newToken(t, ada, ``, http.StatusCreated)
	if n := w.tokenItems(t); n != 1 {
		t.Fatalf("got %d token items, want 1", n)
	}
}

func (w *world) tokenItems(t *testing.T) int {
	t.Helper()
	out, err := w.Client.Scan(context.Background(), &dynamodb.ScanInput{TableName: &w.Table})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range out.Items {
		if strings.Contains(fmt.Sprint(it["sk"]), "TOKEN#") {
			n++
		}
	}
	return n
}
