package lambdatest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/localserver"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokenrotation"
)

// apiOverBinaries serves the API's token routes on loopback the way API
// Gateway does, with the built binaries behind it: the authorizer binary
// decides, the create-token and whoami binaries answer. It is what the
// rotation function's binary calls (API_URL).
func (s *stack) apiOverBinaries(t testing.TB) string {
	t.Helper()
	authorize := func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		event, _ := json.Marshal(req)
		out, err := s.fns["AuthorizerFunction"].Invoke(ctx, event)
		var fe *FunctionError
		if errors.As(err, &fe) && fe.Message == "Unauthorized" {
			return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized") // as API Gateway reads it
		}
		if err != nil {
			return events.APIGatewayCustomAuthorizerResponse{}, err
		}
		var resp events.APIGatewayCustomAuthorizerResponse
		return resp, json.Unmarshal(out, &resp)
	}
	function := func(name string) api.Handler {
		return func(ctx context.Context, req events.APIGatewayProxyRequest) (api.Response, error) {
			event, _ := json.Marshal(req)
			out, err := s.fns[name].Invoke(ctx, event)
			if err != nil {
				return api.Response{}, err
			}
			var resp api.Response
			return resp, json.Unmarshal(out, &resp)
		}
	}
	g := localserver.NewGateway(authorize)
	g.Route("POST", "/api-tokens/{id}/rotate", function("CreateTokenFunction"))
	g.Route("GET", "/whoami", function("WhoAmIFunction"))
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv.URL
}

// sessionEvent is a sample event as ada@example.com of tenant calls it.
func sessionEvent(t *testing.T, name, tenant, body string) []byte {
	t.Helper()
	return editEvent(t, name, func(e map[string]any) {
		e["requestContext"].(map[string]any)["authorizer"].(map[string]any)["tenant"] = tenant
		e["body"] = body
	})
}

func (s *stack) currentSecret(t *testing.T, name string) string {
	t.Helper()
	out, err := s.pipeline.secrets.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: &name, VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		t.Fatalf("read secret %s in moto: %v", name, err)
	}
	return aws.ToString(out.SecretString)
}

func TestPipelineSecretsAndTheirRotationThroughTheBinaries(t *testing.T) {
	s := newStack(t).startAll(t)
	authz := s.fns["AuthorizerFunction"]
	// A tenant of this test alone: the secrets' names are the tenant's,
	// in a moto that other tests share.
	tenant := fmt.Sprintf("lt%d", time.Now().UnixNano())
	whoami := methodARN + "GET/whoami"

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	body, _ := json.Marshal(map[string]string{"privateKey": keyPEM})
	resp := s.call(t, "PipelineSecretsFunction", sessionEvent(t, "put-salesforce-key.json", tenant, string(body)))
	if resp.StatusCode != http.StatusCreated || strings.Contains(resp.Body, "PRIVATE KEY") {
		t.Fatalf("PUT salesforce-key: got %d %s, want 201 without the key", resp.StatusCode, resp.Body)
	}
	if got := s.currentSecret(t, plans.SecretName(tenant, "uat1", plans.SalesforceKeySecret)); got != keyPEM {
		t.Fatal("the key is not the secret's value")
	}

	resp = s.call(t, "PipelineSecretsFunction", sessionEvent(t, "new-dcs-token.json", tenant, `{"lifespanDays":90}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST dcs-token: got %d %s, want 201", resp.StatusCode, resp.Body)
	}
	tokenSecret := plans.SecretName(tenant, "uat1", plans.DCSTokenSecret)
	first := s.currentSecret(t, tokenSecret)
	if strings.Contains(resp.Body, first) || strings.Contains(resp.Body, strings.Split(first, ".")[2]) {
		t.Fatalf("the answer %s holds the token", resp.Body)
	}
	allow, err := authorize(t, authz, "Bearer "+first, whoami)
	if err != nil || allow.Context["tenant"] != tenant {
		t.Fatalf("the stored token is refused: %+v, %v", allow, err)
	}
	d, err := s.pipeline.secrets.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: &tokenSecret})
	if err != nil || aws.ToString(d.RotationLambdaARN) != s.rotationARN {
		t.Fatalf("the secret's rotation: %v, %v; want the rotation function", aws.ToString(d.RotationLambdaARN), err)
	}

	// A rotation, as Secrets Manager runs it: the pending version made, then
	// each step.
	version := testenv.StartMotoRotation(t, tokenSecret)
	for _, step := range []string{tokenrotation.StepCreate, tokenrotation.StepSet, tokenrotation.StepTest, tokenrotation.StepFinish} {
		event, _ := json.Marshal(events.SecretsManagerSecretRotationEvent{Step: step, SecretID: tokenSecret, ClientRequestToken: version})
		if out, err := invoke(t, s.fns["DcsTokenRotationFunction"], event); err != nil {
			t.Fatalf("%s: %v (%s)", step, err, out)
		}
	}
	rotated := s.currentSecret(t, tokenSecret)
	if rotated == first {
		t.Fatal("the rotation left the secret's token as it was")
	}
	for what, token := range map[string]string{"the new token": rotated, "the old token, in its overlap": first} {
		if _, err := authorize(t, authz, "Bearer "+token, whoami); err != nil {
			t.Errorf("%s is refused: %v", what, err)
		}
	}
	logs := s.fns["DcsTokenRotationFunction"].Logs()
	if strings.Contains(logs, first) || strings.Contains(logs, rotated) || !strings.Contains(logs, "rotated") {
		t.Errorf("the rotation function's log holds a token, or not the rotation:\n%s", logs)
	}
}

// feedSecretsSamples feeds the sample events of rotation and of the plan's
// secrets as written (TestSampleEventsThroughTheBinaries).
func (s *stack) feedSecretsSamples(t *testing.T, feed func(string) string) {
	t.Run("rotate-token.json as written finds no such token", func(t *testing.T) {
		resp := s.call(t, "CreateTokenFunction", readEvent(t, feed("rotate-token.json")))
		if resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "NOT_FOUND" {
			t.Fatalf("got %d %s, want 404 NOT_FOUND", resp.StatusCode, resp.Body)
		}
	})
	t.Run("put-salesforce-key.json as written (a placeholder) is not a key", func(t *testing.T) {
		resp := s.call(t, "PipelineSecretsFunction", readEvent(t, feed("put-salesforce-key.json")))
		if resp.StatusCode != http.StatusBadRequest || errorCode(t, resp) != "INVALID_PRIVATE_KEY" || strings.Contains(resp.Body, "REPLACE") {
			t.Fatalf("got %d %s, want 400 INVALID_PRIVATE_KEY, quoting nothing", resp.StatusCode, resp.Body)
		}
	})
	t.Run("new-dcs-token.json mints the pipeline's token into its secret", func(t *testing.T) {
		resp := s.call(t, "PipelineSecretsFunction", readEvent(t, feed("new-dcs-token.json")))
		if resp.StatusCode != http.StatusCreated || !strings.Contains(resp.Body, `"secretArn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:dcs-access/acme/uat1/dcs-token-`) {
			t.Fatalf("got %d %s, want 201 and the secret", resp.StatusCode, resp.Body)
		}
	})
	t.Run("dcs-token-rotation.json as written names no secret: the step fails", func(t *testing.T) {
		_, err := invoke(t, s.fns["DcsTokenRotationFunction"], readEvent(t, feed("dcs-token-rotation.json")))
		var fe *FunctionError
		if !errors.As(err, &fe) || !strings.Contains(fe.Message, "No such secret") {
			t.Fatalf("got %v, want the function error of a missing secret", err)
		}
	})
}
