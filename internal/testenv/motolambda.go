package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
)

// MotoLambdaFunction creates a Lambda function in moto and returns its ARN:
// something for Secrets Manager's RotateSecret to name, which requires that
// the rotation function exists. moto runs functions in Docker, which is not
// here, so this switches moto to its Docker-free Lambda, whose invocations
// all succeed without running anything (the tests run the real function
// themselves). Nothing else here uses moto's Lambda.
func MotoLambdaFunction(t testing.TB, name string) string {
	t.Helper()
	endpoint := MotoEndpoint(t)
	motoCall(t, endpoint, "", http.MethodPost, "/moto-api/config", "application/json", `{"lambda": {"use_docker": false}}`, nil)
	role := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	form := url.Values{
		"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {role},
		"AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`},
	}
	motoCall(t, endpoint, "iam", http.MethodPost, "/", "application/x-www-form-urlencoded", form.Encode(), nil)
	fn, _ := json.Marshal(map[string]any{
		"FunctionName": role, "Runtime": "provided.al2023", "Handler": "bootstrap",
		"Role": "arn:aws:iam::123456789012:role/" + role, "Code": map[string]any{"ZipFile": []byte("not run")},
	})
	var out struct{ FunctionArn string }
	motoCall(t, endpoint, "lambda", http.MethodPost, "/2015-03-31/functions", "application/json", string(fn), &out)
	if out.FunctionArn == "" {
		t.Fatal("moto created a Lambda function without an ARN")
	}
	return out.FunctionArn
}

// motoCall sends one request to moto, signed for service (moto tells the
// service from the signature's scope; "" sends it unsigned), and decodes a
// JSON answer into out.
func motoCall(t testing.TB, endpoint, service, method, path, contentType, body string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, endpoint+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if service != "" {
		local := awsconfig.Local(endpoint)
		creds, err := local.Credentials.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, local.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		t.Fatalf("moto %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("moto %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil && json.Unmarshal(bytes.TrimSpace(raw), out) != nil {
		t.Fatalf("moto %s %s answered %s", method, path, raw)
	}
}
