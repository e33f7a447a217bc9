package openapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	dcsaccess "github.com/dcs-access/dcs-access"
	"github.com/dcs-access/dcs-access/internal/openapi"
)

func TestTheConsoleFunctionServesTheDescriptionAndLeavesTheRestToTheConsole(t *testing.T) {
	var passed []string
	console := func(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		passed = append(passed, req.HTTPMethod+" "+req.Path)
		return events.APIGatewayProxyResponse{StatusCode: http.StatusTeapot}, nil
	}
	h := openapi.WithDocument(console)
	get := func(method, path string, headers map[string]string) events.APIGatewayProxyResponse {
		resp, err := h(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: method, Path: path, Headers: headers})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	resp := get("GET", "/openapi.yaml", nil)
	if resp.StatusCode != 200 || resp.Headers["Content-Type"] != "application/yaml" || resp.Body != string(dcsaccess.OpenAPI) || len(resp.Body) < 1000 {
		t.Fatalf("GET /openapi.yaml: got %d %v (%d bytes), want 200 application/yaml and openapi.yaml", resp.StatusCode, resp.Headers, len(resp.Body))
	}
	etag := resp.Headers["ETag"]
	if got := get("GET", "/openapi.yaml", map[string]string{"if-none-match": etag}); got.StatusCode != 304 || got.Body != "" {
		t.Errorf("GET with If-None-Match %s: got %d (%d bytes), want 304 and no body", etag, got.StatusCode, len(got.Body))
	}
	if got := get("GET", "/openapi.yaml", map[string]string{"If-None-Match": `"another"`}); got.StatusCode != 200 {
		t.Errorf("GET with another ETag: got %d, want 200", got.StatusCode)
	}
	for _, path := range []string{"/", "/config.json", "/openapi.yml", "/openapi.yaml/"} {
		if got := get("GET", path, nil); got.StatusCode != http.StatusTeapot {
			t.Errorf("GET %s: got %d, want the console's answer", path, got.StatusCode)
		}
	}
	if got := get("POST", "/openapi.yaml", nil); got.StatusCode != http.StatusTeapot {
		t.Errorf("POST /openapi.yaml: got %d, want the console's answer (its 405)", got.StatusCode)
	}
	if len(passed) != 5 {
		t.Errorf("the console got %v, want the five requests that are not GET /openapi.yaml", passed)
	}
}

func TestTheLocalHandlerServesTheDescription(t *testing.T) {
	srv := httptest.NewServer(openapi.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(body.Bytes(), dcsaccess.OpenAPI) || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("got %d %v, want 200 nosniff and openapi.yaml", resp.StatusCode, resp.Header)
	}
}
