package lambdatest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

const (
	tokenIssuer  = "dcs-access:lambdatest"
	oidcAudience = "lambdatest-app-client"
	// consoleOrigin is the ConsoleOrigin parameter, which Globals gives every function.
	consoleOrigin = "https://console.example.com"
	// consoleSignIn is the hosted UI the console sends users to (never called here).
	consoleSignIn = "https://dcs-access-1a2b3c4d.auth.us-east-1.amazoncognito.com"
	// invokeTimeout bounds one invoke, cold start included.
	invokeTimeout = 20 * time.Second
)

// build holds the bootstraps, built once per test binary into a directory
// that TestMain removes.
var build struct {
	once  sync.Once
	dir   string
	paths map[string]string
	err   error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdatest-build-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdatest:", err)
		os.Exit(1)
	}
	build.dir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// bootstraps returns the emulator and every function's bootstrap, built on
// first use with the Makefile's flags.
func bootstraps(t testing.TB) (emulator string, paths map[string]string) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if emulator, err = EmulatorPath(root); err != nil {
		t.Fatal(err)
	}
	build.once.Do(func() {
		// A cold build cache takes over a minute on a small machine; a warm one seconds.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		build.paths, build.err = Build(ctx, root, build.dir)
	})
	if build.err != nil {
		t.Fatalf("build the bootstraps: %v", build.err)
	}
	return emulator, build.paths
}

// stack is what the functions run against: a fresh table in DynamoDB Local, a
// signing key in moto's KMS, the sandbox-refresh pipeline's state machine,
// event bus, schedule group and secrets in moto (moto_test.go) and a stand-in
// OIDC issuer, plus the emulators.
type stack struct {
	emulator   string
	bootstraps map[string]string
	table      string
	keyARN     string
	kms        *kms.Client
	idp        *idp
	pipeline   *motoPipeline
	salesforce *salesforceWorld
	fns        map[string]*Function
	// apiURL is the API as the binaries serve it (apiOverBinaries), which
	// the rotation function calls; rotationARN is a rotation function in
	// moto for the secrets the pipeline-secrets function turns rotation on.
	apiURL      string
	rotationARN string
}

// newStack prepares the services; start runs the functions.
func newStack(t testing.TB) *stack {
	t.Helper()
	_, table := testenv.Table(t) // first: without the services, fail before building
	client := testenv.KMS(t)
	emulator, paths := bootstraps(t)
	s := &stack{
		emulator: emulator, bootstraps: paths, table: table,
		keyARN: createSigningKey(t, client), kms: client, idp: newIDP(t), pipeline: newMotoPipeline(t),
		salesforce: newSalesforceWorld(t), fns: map[string]*Function{},
	}
	s.pipeline.putSampleKey(t)
	s.apiURL = s.apiOverBinaries(t)
	s.rotationARN = testenv.MotoLambdaFunction(t, "lambdatest-dcs-token-rotation")
	return s
}

// startAll runs every function with its template environment.
func (s *stack) startAll(t testing.TB) *stack {
	t.Helper()
	for _, name := range Functions {
		s.fns[name] = s.start(t, name, s.env(t, name))
	}
	return s
}

func createSigningKey(t testing.TB, client *kms.Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := client.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify,
		Description: stringPtr("dcs-access lambdatest signing key"),
	})
	if err != nil {
		t.Fatalf("create the signing key in moto: %v", err)
	}
	return *out.KeyMetadata.Arn
}

func stringPtr(s string) *string { return &s }

// env is a function's environment: what template.yaml sets for it, and what
// Lambda sets for every function, pointed at the local stand-ins.
func (s *stack) env(t testing.TB, name string) map[string]string {
	t.Helper()
	// DynamoDB Local keeps one database per access key and region: the
	// functions must use testenv's, or they would not see its tables.
	local := awsconfig.Local("")
	creds, err := local.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	moto := testenv.MotoEndpoint(t)
	env := map[string]string{
		"AWS_REGION":                local.Region,
		"AWS_DEFAULT_REGION":        local.Region,
		"AWS_ACCESS_KEY_ID":         creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     creds.SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL_DYNAMODB": testenv.DynamoDBEndpoint(t),
		"AWS_ENDPOINT_URL_KMS":      moto,
		// The names the SDK's own loader reads (AWS_ENDPOINT_URL_<service id>,
		// upper-cased, spaces as underscores), as awsconfig.Endpoint does.
		"AWS_ENDPOINT_URL_SFN":             moto,
		"AWS_ENDPOINT_URL_EVENTBRIDGE":     moto,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": moto,
		"AWS_ENDPOINT_URL_SCHEDULER":       moto,
		"AWS_LAMBDA_FUNCTION_NAME":         name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE":  "256",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":      "10", // the emulator's invoke timeout, as Globals.Timeout
	}
	switch name {
	case "CreateTokenFunction", "ListTokensFunction", "DeleteTokenFunction", "WhoAmIFunction",
		"SandboxPlansFunction", "SandboxRefreshesFunction", "ConsoleFunction", "IntrospectTokenFunction", "PipelineSecretsFunction",
		"ListAuditEventsFunction", "TenantPolicyFunction":
		// The functions that answer browsers.
		env["CONSOLE_ORIGIN"] = consoleOrigin
	}
	switch name {
	case "CreateTokenFunction":
		env["TABLE_NAME"] = s.table
		env["TOKEN_ISSUER"] = tokenIssuer
		env["SIGNING_KEY_ID"] = s.keyARN
	case "ListTokensFunction", "DeleteTokenFunction", "ListAuditEventsFunction", "TenantPolicyFunction":
		env["TABLE_NAME"] = s.table
	case "RevokeLeakedTokensFunction":
		env["TABLE_NAME"] = s.table
		env["TOKEN_ISSUER"] = tokenIssuer
		env["TRUSTED_KEY_IDS"] = s.keyARN
		env["EVENT_BUS_NAME"] = s.pipeline.busName
	case "WhoAmIFunction":
	case "AuthorizerFunction":
		env["TABLE_NAME"] = s.table
		env["TOKEN_ISSUER"] = tokenIssuer
		env["TRUSTED_KEY_IDS"] = s.keyARN
		// As with the stack's Cognito pool: no OIDC_JWKS_URL, so the JWKS
		// is read from <issuer>/.well-known/jwks.json.
		env["OIDC_ISSUER"] = s.idp.url
		env["OIDC_AUDIENCE"] = oidcAudience
		env["OIDC_EMAIL_CLAIM"] = "email"
		env["OIDC_TENANT_CLAIM"] = "custom:tenant"
		env["OIDC_ADMIN_GROUP_CLAIM"] = "cognito:groups"
		env["OIDC_ADMIN_GROUP"] = "dcs-admins"
	case "IntrospectTokenFunction":
		env["TABLE_NAME"] = s.table
		env["TOKEN_ISSUER"] = tokenIssuer
		env["TRUSTED_KEY_IDS"] = s.keyARN // the authorizer's
	case "PublicKeysFunction":
		env["TRUSTED_KEY_IDS"] = s.keyARN // the authorizer's
	case "SandboxPlansFunction":
		s.salesforce.env(env)                     // plans are checked against the org they name
		env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "20" // its Timeout
		env["TABLE_NAME"] = s.table
		env["SCHEDULE_GROUP"] = s.pipeline.scheduleGroup
		env["SCHEDULER_ROLE_ARN"] = s.pipeline.schedulerRoleARN
		env["EVENT_BUS_ARN"] = s.pipeline.busARN
	case "SandboxRefreshesFunction":
		env["TABLE_NAME"] = s.table
		env["STATE_MACHINE_ARN"] = s.pipeline.machineARN
	case "SandboxRefreshEventsFunction":
		env["TABLE_NAME"] = s.table
		env["STATE_MACHINE_ARN"] = s.pipeline.machineARN
		env["EVENT_BUS_NAME"] = s.pipeline.busName
	case "PipelineStepsFunction":
		s.salesforce.env(env)
		// The table its steps report to; a run's plan names everything else.
		env["TABLE_NAME"] = s.table
		env["STACK_NAME"] = "dcs-access-lambdatest"
		env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "300" // its Timeout
	case "PipelineSecretsFunction":
		env["TABLE_NAME"] = s.table
		env["TOKEN_ISSUER"] = tokenIssuer
		env["SIGNING_KEY_ID"] = s.keyARN
		env["ROTATION_FUNCTION_ARN"] = s.rotationARN
		env["ROTATION_DAYS"] = "30"
		env["ROTATION_OVERLAP_MINUTES"] = "60"
	case "DcsTokenRotationFunction":
		env["API_URL"] = s.apiURL
		env["OVERLAP_MINUTES"] = "60"
		env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "30" // its Timeout
	case "ExpiryNoticesFunction":
		env["TABLE_NAME"] = s.table
		env["EVENT_BUS_NAME"] = s.pipeline.busName
		env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "120" // its Timeout
	case "PublishAuditEventsFunction":
		env["EVENT_BUS_NAME"] = s.pipeline.busName
		env["STACK_NAME"] = "dcs-access-lambdatest" // the AuditTampering metric's dimension
	case "ConsoleFunction":
		// As with the stack's Cognito pool: its hosted UI's endpoints.
		env["OIDC_AUTHORIZATION_ENDPOINT"] = consoleSignIn + "/oauth2/authorize"
		env["OIDC_TOKEN_ENDPOINT"] = consoleSignIn + "/oauth2/token"
		env["OIDC_LOGOUT_ENDPOINT"] = consoleSignIn + "/logout"
		env["OIDC_CLIENT_ID"] = oidcAudience
	default:
		t.Fatalf("no environment for function %s", name)
	}
	if _, table := env["TABLE_NAME"]; table {
		env["AUDIT_RETENTION_DAYS"] = "400" // the AuditRetentionDays default
	}
	return env
}

// start runs one function's bootstrap under its own emulator until the test ends.
func (s *stack) start(t testing.TB, name string, env map[string]string) *Function {
	t.Helper()
	var list []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		list = append(list, k+"="+env[k])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	f, err := Start(ctx, Config{Emulator: s.emulator, Bootstrap: s.bootstraps[name], Env: list})
	if err != nil {
		t.Fatalf("start %s under the emulator: %v", name, err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("stop %s: %v", name, err)
		}
		if t.Failed() {
			t.Logf("%s emulator output:\n%s", name, f.Logs())
		}
	})
	return f
}

func invoke(t testing.TB, f *Function, payload []byte) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), invokeTimeout)
	defer cancel()
	return f.Invoke(ctx, payload)
}

// call feeds an API Gateway proxy event to a function and returns its
// response; any invoke or function error fails the test.
func (s *stack) call(t testing.TB, name string, event []byte) events.APIGatewayProxyResponse {
	t.Helper()
	out, err := invoke(t, s.fns[name], event)
	if err != nil {
		t.Fatalf("invoke %s: %v", name, err)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s answered %s, not an API Gateway proxy response: %v", name, out, err)
	}
	return resp
}

// idp stands in for the OIDC issuer (Cognito): it signs ID tokens with an
// ES256 key and serves the key's JWKS on loopback, as
// <issuer>/.well-known/jwks.json and as /keys (a provider's own JWKS URL).
type idp struct {
	url string // the issuer: the server's base URL
	kid string
	key *ecdsa.PrivateKey
}

func newIDP(t testing.TB) *idp {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{kid: "lambdatest-es256-1", key: key}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &key.PublicKey, KeyID: p.kid, Algorithm: string(jose.ES256), Use: "sig",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" && r.URL.Path != "/keys" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// session returns an ID token for email in tenant, valid for an hour;
// overrides replace claims (a nil value removes one).
func (p *idp) session(t testing.TB, email, tenant string, overrides map[string]any) string {
	t.Helper()
	return p.sign(t, p.key, email, tenant, overrides)
}

func (p *idp) sign(t testing.TB, key *ecdsa.PrivateKey, email, tenant string, overrides map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": p.url, "aud": oidcAudience, "sub": "sub-" + email, "email": email, "custom:tenant": tenant,
		"token_use": "id", "iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	for k, v := range overrides {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = p.kid
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// eventFiles lists events/*.json by base name.
func eventFiles(t testing.TB) []string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join(root, "events", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no events/*.json under %s (err %v)", root, err)
	}
	names := make([]string, 0, len(paths))
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	return names
}

// readEvent returns events/<name> as written.
func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "events", name))
	if err != nil {
		t.Fatalf("read sample event: %v", err)
	}
	return b
}

// editEvent returns events/<name> with edit applied to its generic JSON, so
// every field the file holds reaches the function, not only those a Go type knows.
func editEvent(t testing.TB, name string, edit func(e map[string]any)) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(readEvent(t, name), &e); err != nil {
		t.Fatalf("events/%s: %v", name, err)
	}
	edit(e)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setAuthorizer puts an authorizer's answer into a proxy event's
// requestContext the way API Gateway does: its context plus principalId.
func setAuthorizer(e map[string]any, allow events.APIGatewayCustomAuthorizerResponse) {
	auth := map[string]any{"principalId": allow.PrincipalID}
	maps.Copy(auth, allow.Context)
	e["requestContext"].(map[string]any)["authorizer"] = auth
}

// setBearer sets the Authorization header of a proxy event.
func setBearer(e map[string]any, token string) {
	e["headers"].(map[string]any)["Authorization"] = "Bearer " + token
	e["multiValueHeaders"].(map[string]any)["Authorization"] = []any{"Bearer " + token}
}

// errorCode reads the project's error shape from a response body.
func errorCode(t testing.TB, resp events.APIGatewayProxyResponse) string {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("got body %q, want {\"error\":{\"code\",\"message\"}}", resp.Body)
	}
	return body.Error.Code
}

// keysOf returns the sorted keys of a JSON object.
func keysOf(t testing.TB, body string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("got body %q, want a JSON object", body)
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}
