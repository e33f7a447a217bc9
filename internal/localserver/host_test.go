package localserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// send makes a request with a given Host header and Content-Type ("" for
// none), and returns the status and the error code of the answer.
func send(t *testing.T, srv *httptest.Server, method, path, host, contentType, bearer, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, errorCode(raw)
}

// errorCode is the code of the project's error body, or "" for any other body.
func errorCode(raw []byte) string {
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &body)
	return body.Error.Code
}

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	_, p, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A web page can make the browser send requests to 127.0.0.1 (cross-site
// requests), or, after DNS rebinding, requests whose Host is the page's own
// name. The local server answers only requests addressed to itself by a
// loopback name and its own port, on every route.
func TestOnlyLoopbackHostsAreServed(t *testing.T) {
	srv, _ := stack(t)
	session := signIn(t, srv, "ada@example.com", "acme")
	p := port(t, srv)
	routes := []struct{ method, path, contentType, bearer, body string }{
		{"GET", "/", "", "", ""},
		{"GET", "/whoami", "", session, ""},
		{"POST", "/api-tokens", "application/json", session, `{}`},
		{"POST", "/local/sessions", "application/json", "", `{"email":"eve@example.com","tenant":"acme"}`},
		{"GET", "/no-such-route", "", "", ""},
	}
	refused := []string{
		"evil.example", "evil.example:" + p, "localhost.evil.example:" + p, "127.0.0.1.nip.io:" + p,
		"127.0.0.2:" + p, "0.0.0.0:" + p, "127.0.0.1:1", "localhost", "[::1]", "127.0.0.1:" + p + "0",
	}
	for _, r := range routes {
		for _, host := range refused {
			status, code := send(t, srv, r.method, r.path, host, r.contentType, r.bearer, r.body)
			if status != http.StatusMisdirectedRequest || code != "MISDIRECTED_REQUEST" {
				t.Errorf("%s %s with Host %q: got %d %q, want 421 MISDIRECTED_REQUEST", r.method, r.path, host, status, code)
			}
		}
	}
	// The positive control: the same requests with loopback names are served.
	for _, host := range []string{"127.0.0.1:" + p, "localhost:" + p, "[::1]:" + p, "LOCALHOST:" + p} {
		for _, r := range routes {
			status, code := send(t, srv, r.method, r.path, host, r.contentType, r.bearer, r.body)
			if status == http.StatusMisdirectedRequest || status >= 500 {
				t.Errorf("%s %s with Host %q: got %d %q, want it served", r.method, r.path, host, status, code)
			}
		}
	}
}

// A cross-site form or fetch without preflight can only send text/plain,
// application/x-www-form-urlencoded or multipart/form-data. Requiring JSON on
// the state-changing /local/ routes makes the browser ask first (a CORS
// preflight), which the local server never grants.
func TestStateChangingLocalRoutesRequireJSON(t *testing.T) {
	s := newPipelineStack(t)
	srv := s.http
	host := "127.0.0.1:" + port(t, srv)
	routes := []struct{ method, path, bearer, body string }{
		{"POST", "/local/sessions", "", `{"email":"eve@example.com","tenant":"acme"}`},
		{"POST", "/local/events", "", `{"detail-type":"Sandbox Refresh Requested","detail":{"tenant":"acme","sandbox":"uat1"}}`},
		{"POST", "/local/sandbox-demo", s.session, `{}`},
		{"POST", "/local/lambda/2015-03-31/functions/PipelineStepsFunction/invocations", "", `{}`},
	}
	for _, r := range routes {
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "text/json"} {
			status, code := send(t, srv, r.method, r.path, host, ct, r.bearer, r.body)
			if status != http.StatusUnsupportedMediaType || code != "UNSUPPORTED_MEDIA_TYPE" {
				t.Errorf("%s %s with Content-Type %q: got %d %q, want 415 UNSUPPORTED_MEDIA_TYPE", r.method, r.path, ct, status, code)
			}
		}
		// The positive control: JSON is accepted, with or without a charset.
		for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
			status, code := send(t, srv, r.method, r.path, host, ct, r.bearer, r.body)
			if status == http.StatusUnsupportedMediaType {
				t.Errorf("%s %s with Content-Type %q: got %d %q, want it accepted", r.method, r.path, ct, status, code)
			}
		}
	}
	// Reads need no body, and so no Content-Type.
	if status, code := send(t, srv, "GET", "/local/events", host, "", "", ""); status != http.StatusOK {
		t.Errorf("GET /local/events without a Content-Type: got %d %q, want 200", status, code)
	}
}
