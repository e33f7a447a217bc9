package tokenrotation_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
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
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/apiclient"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/localserver"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/secretversions"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokenrotation"
	"github.com/dcs-access/dcs-access/internal/tokens"
	"github.com/dcs-access/dcs-access/internal/tokentest"
)

// Each step against moto's Secrets Manager (the secret, its versions and
// staging labels) and the real API: the token handlers behind the
// authorizer and the local gateway, on DynamoDB Local, on one clock.

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

type world struct {
	*tokentest.World
	apiURL  string
	sm      *secretsmanager.Client // moto, through the SDK: the test's own view
	secrets secrets.Manager        // moto, as the function calls it
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{
		World:   tokentest.New(t, t0),
		sm:      secretsmanager.NewFromConfig(awsconfig.Local(testenv.MotoEndpoint(t))),
		secrets: secrets.Manager{API: testenv.Moto(t, secrets.Service)},
	}
	h := &api.Tokens{Service: w.Tokens, Now: w.Clock.Now}
	g := localserver.NewGateway(w.Auth.Handle)
	for route, handler := range h.Routes() {
		method, resource, _ := strings.Cut(route, " ")
		g.Route(method, resource, handler)
	}
	g.Route("GET", "/whoami", api.WhoAmI)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	w.apiURL = srv.URL
	return w
}

// rotator is the function as main wires it, on this world's API and moto.
func (w *world) rotator(overlap int) *tokenrotation.Rotator {
	api, _ := apiclient.New(w.apiURL, 5*time.Second)
	return &tokenrotation.Rotator{Secrets: w.secrets, API: api, OverlapMinutes: overlap, Log: slog.New(slog.NewTextHandler(w.Log, nil))}
}

// pipelineToken creates Ada's token, as the self-service route does.
func (w *world) pipelineToken(t *testing.T, lifespan int) tokens.Created {
	t.Helper()
	created, err := w.Tokens.Create(context.Background(), access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthSession},
		tokens.CreateInput{Description: "sandbox refresh: uat1 " + uuid.NewString()[:8], LifespanDays: &lifespan})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

var names atomic.Int64

// secret stores value as a new DCS token secret in moto.
func (w *world) secret(t *testing.T, value string) string {
	t.Helper()
	out, err := w.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(fmt.Sprintf("dcs-access/acme/t%d%d/dcs-token", time.Now().UnixNano(), names.Add(1))), SecretString: &value,
	})
	if err != nil {
		t.Fatalf("create the secret in moto: %v", err)
	}
	return aws.ToString(out.ARN)
}

// startRotation starts a rotation of the secret as Secrets Manager does
// (testenv.StartMotoRotation) and returns its ClientRequestToken.
func (w *world) startRotation(t *testing.T, arn string) string {
	t.Helper()
	return testenv.StartMotoRotation(t, arn)
}

func (w *world) describe(t *testing.T, arn string) *secretsmanager.DescribeSecretOutput {
	t.Helper()
	d, err := w.sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: &arn})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// value is the secret's value at a version id or a stage, through the SDK.
func (w *world) value(t *testing.T, arn, version, stage string) (string, bool) {
	t.Helper()
	in := &secretsmanager.GetSecretValueInput{SecretId: &arn}
	if version != "" {
		in.VersionId = &version
	}
	if stage != "" {
		in.VersionStage = &stage
	}
	out, err := w.sm.GetSecretValue(context.Background(), in)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ResourceNotFoundException" {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.SecretString), true
}

func step(name, arn, token string) events.SecretsManagerSecretRotationEvent {
	return events.SecretsManagerSecretRotationEvent{Step: name, SecretID: arn, ClientRequestToken: token}
}

// tokenItems counts the table's token items.
func (w *world) tokenItems(t *testing.T) int {
	t.Helper()
	out, err := w.Client.Scan(context.Background(), &dynamodb.ScanInput{TableName: &w.Table})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range out.Items {
		if sk := fmt.Sprint(it["sk"]); strings.Contains(sk, "TOKEN#") {
			n++
		}
	}
	return n
}

func TestAFullRotationReplacesTheTokenAndTheOldOneLapsesAfterTheOverlap(t *testing.T) {
	w := newWorld(t)
	old := w.pipelineToken(t, 90)
	arn := w.secret(t, old.Secret)
	r := w.rotator(60)
	ctx := context.Background()
	token := w.startRotation(t, arn)

	if err := r.Handle(ctx, step(tokenrotation.StepCreate, arn, token)); err != nil {
		t.Fatalf("createSecret: %v", err)
	}
	pending, ok := w.value(t, arn, token, secretversions.Pending)
	if !ok || pending == old.Secret || len(strings.Split(pending, ".")) != 3 {
		t.Fatalf("after createSecret the pending version holds %v, want a new token", ok)
	}
	if current, _ := w.value(t, arn, "", secretversions.Current); current != old.Secret {
		t.Fatal("createSecret changed AWSCURRENT")
	}
	if !w.Works(t, pending) || !w.Works(t, old.Secret) {
		t.Fatal("after createSecret the new token or the old one (in its overlap) is refused")
	}

	t.Run("createSecret again stores nothing new and asks the API nothing", func(t *testing.T) {
		before := w.tokenItems(t)
		counted := &countingAPI{API: r.API}
		again := *r
		again.API = counted
		if err := again.Handle(ctx, step(tokenrotation.StepCreate, arn, token)); err != nil {
			t.Fatal(err)
		}
		if counted.rotations != 0 {
			t.Errorf("a repeated createSecret asked the API to rotate %d times, want none", counted.rotations)
		}
		if again, _ := w.value(t, arn, token, secretversions.Pending); again != pending {
			t.Error("a repeated createSecret changed the pending token")
		}
		if got := w.tokenItems(t); got != before {
			t.Errorf("got %d token items after a repeated createSecret, want %d", got, before)
		}
	})
	for _, s := range []string{tokenrotation.StepSet, tokenrotation.StepTest} {
		if err := r.Handle(ctx, step(s, arn, token)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := r.Handle(ctx, step(tokenrotation.StepFinish, arn, token)); err != nil {
		t.Fatalf("finishSecret: %v", err)
	}
	d := w.describe(t, arn)
	if got := d.VersionIdsToStages[token]; !slices.Equal(got, []string{secretversions.Current}) {
		t.Errorf("after finishSecret the new version has %v, want only AWSCURRENT", got)
	}
	var previous string
	for id, stages := range d.VersionIdsToStages {
		if slices.Contains(stages, secretversions.Previous) {
			previous = id
		}
	}
	if v, _ := w.value(t, arn, previous, ""); v != old.Secret {
		t.Error("the old token is not AWSPREVIOUS")
	}
	// What the pipeline reads now (GetSecretValue of AWSCURRENT).
	if got, err := w.secrets.SecretString(ctx, arn); err != nil || got != pending {
		t.Fatalf("the pipeline reads %v, want the new token", err)
	}
	t.Run("finishSecret again is a no-op", func(t *testing.T) {
		if err := r.Handle(ctx, step(tokenrotation.StepFinish, arn, token)); err != nil {
			t.Fatal(err)
		}
	})

	w.Clock.Add(time.Hour - time.Second)
	if !w.Works(t, old.Secret) {
		t.Fatal("the old token is refused before its overlap ended")
	}
	w.Clock.Add(time.Second)
	if w.Works(t, old.Secret) {
		t.Fatal("the old token works after its overlap")
	}
	if !w.Works(t, pending) {
		t.Fatal("the new token is refused")
	}
	if log := w.Log.String(); strings.Contains(log, old.Secret) || strings.Contains(log, pending) || !strings.Contains(log, "rotated") {
		t.Errorf("the log has a token, or not the rotation: %s", log)
	}
}

// countingAPI counts the rotations asked of the API.
type countingAPI struct {
	tokenrotation.API
	rotations int
}

func (c *countingAPI) Rotate(ctx context.Context, bearer, id string, overlap int, key string) (apiclient.Rotated, error) {
	c.rotations++
	return c.API.Rotate(ctx, bearer, id, overlap, key)
}

// faultyPut fails PutPending the first times, after the API has rotated:
// the function dies between the two.
type faultyPut struct {
	secrets.Manager
	failures int
}

func (f *faultyPut) PutPending(ctx context.Context, id, version, value, rotationToken string) error {
	if f.failures > 0 {
		f.failures--
		return errors.New("the function timed out before it stored the new token")
	}
	return f.Manager.PutPending(ctx, id, version, value, rotationToken)
}

func TestACreateSecretRetriedAfterTheRotateCallGetsTheSameNewToken(t *testing.T) {
	w := newWorld(t)
	old := w.pipelineToken(t, 90)
	arn := w.secret(t, old.Secret)
	r := w.rotator(60)
	faulty := &faultyPut{Manager: w.secrets, failures: 2}
	r.Secrets = faulty
	token := w.startRotation(t, arn)
	ctx := context.Background()
	for range 2 {
		if err := r.Handle(ctx, step(tokenrotation.StepCreate, arn, token)); err == nil {
			t.Fatal("createSecret succeeded without storing the new token")
		}
		w.Clock.Add(time.Minute) // Secrets Manager retries a little later
	}
	if _, ok := w.value(t, arn, token, secretversions.Pending); ok {
		t.Fatal("the pending version has a value though storing it failed")
	}
	if err := r.Handle(ctx, step(tokenrotation.StepCreate, arn, token)); err != nil {
		t.Fatalf("the retried createSecret: %v", err)
	}
	pending, _ := w.value(t, arn, token, secretversions.Pending)
	if got := w.tokenItems(t); got != 2 {
		t.Fatalf("got %d token items, want 2: the old token and one new one, whatever the retries", got)
	}
	for _, s := range []string{tokenrotation.StepSet, tokenrotation.StepTest, tokenrotation.StepFinish} {
		if err := r.Handle(ctx, step(s, arn, token)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if !w.Works(t, pending) {
		t.Fatal("the token stored by the retry is refused")
	}
	// The family is not locked: the next rotation starts from the new token.
	next := w.startRotation(t, arn)
	if err := r.Handle(ctx, step(tokenrotation.StepCreate, arn, next)); err != nil {
		t.Fatalf("the next rotation's createSecret: %v", err)
	}
}

func TestAFailedTestSecretLeavesTheCurrentTokenWorking(t *testing.T) {
	w := newWorld(t)
	old := w.pipelineToken(t, 90)
	arn := w.secret(t, old.Secret)
	r := w.rotator(24 * 60)
	token := w.startRotation(t, arn)
	ctx := context.Background()
	if err := r.Handle(ctx, step(tokenrotation.StepCreate, arn, token)); err != nil {
		t.Fatal(err)
	}
	pending, _ := w.value(t, arn, token, secretversions.Pending)
	// Someone deletes the new token before it is tested.
	newID := claim(t, pending, "jti")
	if err := w.Tokens.Delete(ctx, access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthSession}, newID); err != nil {
		t.Fatal(err)
	}
	err := r.Handle(ctx, step(tokenrotation.StepTest, arn, token))
	if err == nil || !strings.Contains(err.Error(), "the new token does not work") {
		t.Fatalf("testSecret: got %v, want it to fail", err)
	}
	if strings.Contains(err.Error(), pending) {
		t.Error("the error holds the token")
	}
	if current, _ := w.value(t, arn, "", secretversions.Current); current != old.Secret {
		t.Fatal("a failed testSecret changed AWSCURRENT")
	}
	if got := w.describe(t, arn).VersionIdsToStages[token]; !slices.Equal(got, []string{secretversions.Pending}) {
		t.Errorf("the new version has %v, want it still only AWSPENDING", got)
	}
	if !w.Works(t, old.Secret) {
		t.Fatal("after a failed testSecret the current token is refused")
	}
	if got, err := w.secrets.SecretString(ctx, arn); err != nil || got != old.Secret {
		t.Fatalf("the pipeline reads %v, want the current token", err)
	}
}

func TestFinishSecretNeverMakesAVersionWithoutATokenCurrent(t *testing.T) {
	w := newWorld(t)
	old := w.pipelineToken(t, 90)
	arn := w.secret(t, old.Secret)
	token := w.startRotation(t, arn)
	if err := w.rotator(60).Handle(context.Background(), step(tokenrotation.StepFinish, arn, token)); err == nil {
		t.Fatal("finishSecret promoted a version without a value")
	}
	if current, _ := w.value(t, arn, "", secretversions.Current); current != old.Secret {
		t.Fatal("AWSCURRENT moved")
	}
}

func TestTheConfigurationCheckTestsTheCurrentToken(t *testing.T) {
	// Turned on without rotating (RotateImmediately false), Secrets Manager
	// runs testSecret alone, on a version that has no new token.
	w := newWorld(t)
	old := w.pipelineToken(t, 90)
	arn := w.secret(t, old.Secret)
	token := w.startRotation(t, arn)
	r := w.rotator(60)
	if err := r.Handle(context.Background(), step(tokenrotation.StepTest, arn, token)); err != nil {
		t.Fatalf("testSecret of a working configuration: %v", err)
	}
	if err := w.Tokens.Delete(context.Background(), access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthSession}, claim(t, old.Secret, "jti")); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(context.Background(), step(tokenrotation.StepTest, arn, token)); err == nil {
		t.Fatal("testSecret passed with a current token that does not work")
	}
}

func TestStepsRefuseWhatIsNotARotationOfTheirs(t *testing.T) {
	w := newWorld(t)
	old := w.pipelineToken(t, 90)
	ctx := context.Background()
	r := w.rotator(60)

	t.Run("a secret without rotation", func(t *testing.T) {
		arn := w.secret(t, old.Secret)
		err := r.Handle(ctx, step(tokenrotation.StepCreate, arn, uuid.NewString()))
		if err == nil || !strings.Contains(err.Error(), "not set up for rotation") {
			t.Fatalf("got %v", err)
		}
	})
	arn := w.secret(t, old.Secret)
	token := w.startRotation(t, arn)
	t.Run("a version the rotation did not make", func(t *testing.T) {
		if err := r.Handle(ctx, step(tokenrotation.StepCreate, arn, uuid.NewString())); err == nil || !strings.Contains(err.Error(), "no version") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("an unknown step", func(t *testing.T) {
		if err := r.Handle(ctx, step("deleteSecret", arn, token)); err == nil {
			t.Fatal("an unknown step succeeded")
		}
	})
	t.Run("a current value that is not a working API token", func(t *testing.T) {
		other := w.secret(t, "eyJhbGciOiJFUzI1NiJ9.e30.c2ln")
		tok := w.startRotation(t, other)
		err := r.Handle(ctx, step(tokenrotation.StepCreate, other, tok))
		if err == nil || !strings.Contains(err.Error(), "the current token does not work") {
			t.Fatalf("got %v", err)
		}
		if _, ok := w.value(t, other, tok, secretversions.Pending); ok {
			t.Fatal("a pending value was stored")
		}
	})
	before := w.tokenItems(t)
	t.Run("a version that is already current is left alone", func(t *testing.T) {
		current := ""
		for id, stages := range w.describe(t, arn).VersionIdsToStages {
			if slices.Contains(stages, secretversions.Current) {
				current = id
			}
		}
		if err := r.Handle(ctx, step(tokenrotation.StepCreate, arn, current)); err != nil {
			t.Fatal(err)
		}
		if w.tokenItems(t) != before {
			t.Fatal("a step on the current version rotated the token")
		}
	})
}

// claim reads one claim of a token without verifying it.
func claim(t *testing.T, token, name string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	var claims map[string]any
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.NewDecoder(bytes.NewReader(payload)).Decode(&claims) != nil {
		t.Fatalf("token payload: %v", err)
	}
	s, _ := claims[name].(string)
	return s
}
