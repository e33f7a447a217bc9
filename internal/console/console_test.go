package console_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/console"
)

var aws = console.Config{
	Mode:                  console.ModeOIDC,
	AuthorizationEndpoint: "https://dcs-access-1a2b3c4d.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
	TokenEndpoint:         "https://dcs-access-1a2b3c4d.auth.eu-west-1.amazoncognito.com/oauth2/token",
	LogoutEndpoint:        "https://dcs-access-1a2b3c4d.auth.eu-west-1.amazoncognito.com/logout",
	ClientID:              "4h5j6k7l8m9n0p",
	Origin:                "https://console.example.com",
}

func localServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := console.Handler(console.Local())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, method, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestLocalConsoleServesThePageAndItsFiles(t *testing.T) {
	srv := localServer(t)
	for _, tc := range []struct{ path, contentType, cache, contains string }{
		{"/", "text/html; charset=utf-8", "no-store", `<base href="/">`},
		{"/index.html", "text/html; charset=utf-8", "no-store", "API Token Description"},
		{"/auth/callback", "text/html; charset=utf-8", "no-store", `<script src="app.js" defer></script>`},
		{"/app.js", "text/javascript; charset=utf-8", "no-cache", "sessionStorage"},
		{"/app.css", "text/css; charset=utf-8", "no-cache", ":focus-visible"},
		{"/favicon.svg", "image/svg+xml", "no-cache", "<svg"},
		{"/config.json", "application/json", "no-store", `{"mode":"local"}`},
	} {
		resp, body := get(t, srv, "GET", tc.path, nil)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: got %d, want 200", tc.path, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.contentType)
		}
		if got := resp.Header.Get("Cache-Control"); got != tc.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", tc.path, got, tc.cache)
		}
		if !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		checkSecurityHeaders(t, "GET "+tc.path, resp.Header, false)
	}
}

func checkSecurityHeaders(t *testing.T, what string, h http.Header, aws bool) {
	t.Helper()
	want := map[string]string{
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"Referrer-Policy":            "no-referrer",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s is %q, want %q", what, k, got, v)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'self'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") || strings.Contains(csp, "data:") {
		t.Errorf("%s: CSP %q allows unsafe sources", what, csp)
	}
	if hsts := h.Get("Strict-Transport-Security"); aws != (hsts != "") {
		t.Errorf("%s: Strict-Transport-Security %q (in AWS: %v)", what, hsts, aws)
	}
}

func TestCSPAllowsFetchesOnlyToTheAPIAndTheTokenEndpoint(t *testing.T) {
	local := console.CSP(console.Local())
	if !strings.Contains(local, "connect-src 'self';") {
		t.Errorf("local CSP %q: want connect-src 'self' alone", local)
	}
	got := console.CSP(aws)
	if !strings.Contains(got, "connect-src 'self' https://dcs-access-1a2b3c4d.auth.eu-west-1.amazoncognito.com;") {
		t.Errorf("AWS CSP %q: want connect-src 'self' and the token endpoint's origin", got)
	}
	if !strings.Contains(got, "upgrade-insecure-requests") {
		t.Errorf("AWS CSP %q: want upgrade-insecure-requests", got)
	}
}

func TestWhatIsNotTheConsoleAnswersAsTheAPIDoes(t *testing.T) {
	srv := localServer(t)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/nope", 404, "NOT_FOUND"},
		{"GET", "/web/app.js", 404, "NOT_FOUND"},
		{"GET", "/../go.mod", 404, "NOT_FOUND"},
		{"POST", "/unknown", 404, "NOT_FOUND"},
		{"POST", "/", 405, "METHOD_NOT_ALLOWED"},
		{"DELETE", "/app.js", 405, "METHOD_NOT_ALLOWED"},
	} {
		resp, body := get(t, srv, tc.method, tc.path, nil)
		var out struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != tc.status || out.Error.Code != tc.code || out.Error.Message == "" {
			t.Errorf("%s %s: got %d %q, want %d %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.code)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
	}
}

func TestHeadAndConditionalRequests(t *testing.T) {
	srv := localServer(t)
	resp, body := get(t, srv, "HEAD", "/app.js", nil)
	if resp.StatusCode != 200 || body != "" {
		t.Fatalf("HEAD: got %d with %d bytes", resp.StatusCode, len(body))
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on app.js")
	}
	resp, body = get(t, srv, "GET", "/app.js", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 304 || body != "" {
		t.Fatalf("If-None-Match: got %d with %d bytes, want 304", resp.StatusCode, len(body))
	}
	if resp, _ = get(t, srv, "GET", "/app.js", map[string]string{"If-None-Match": `"other"`}); resp.StatusCode != 200 {
		t.Fatalf("a stale ETag: got %d, want 200", resp.StatusCode)
	}
}

func lambda(t *testing.T, cfg console.Config) console.LambdaHandler {
	t.Helper()
	h, err := console.Lambda(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func proxy(method, path, requested string) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{
		HTTPMethod: method, Path: path, Resource: "/{proxy+}",
		RequestContext: events.APIGatewayProxyRequestContext{Path: requested, Stage: "v1"},
	}
}

func TestLambdaServesUnderTheStageOrACustomDomain(t *testing.T) {
	h := lambda(t, aws)
	for _, tc := range []struct {
		path, requested string
		base            string
	}{
		{"/", "/v1/", "/v1/"},
		{"/auth/callback", "/v1/auth/callback", "/v1/"},
		{"/auth/callback", "/auth/callback", "/"}, // a custom domain without a base path
		{"/", "/console/", "/console/"},           // a custom domain's base path
		{"/", "", "/"},
		{"/auth/callback", `/"><script>/auth/callback`, "/"},
	} {
		resp, err := h(context.Background(), proxy("GET", tc.path, tc.requested))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s (%s): got %d %v", tc.path, tc.requested, resp.StatusCode, err)
		}
		if want := `<base href="` + tc.base + `">`; !strings.Contains(resp.Body, want) {
			t.Errorf("GET %s (%s): want %s in the page", tc.path, tc.requested, want)
		}
		h := http.Header{}
		for k, v := range resp.Headers {
			h.Set(k, v)
		}
		checkSecurityHeaders(t, "Lambda GET "+tc.requested, h, true)
		if h.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", h.Get("Content-Type"))
		}
	}
}

func TestLambdaSendsTheStageURLWithoutItsSlashToTheSlash(t *testing.T) {
	req := proxy("GET", "/", "/v1")
	req.MultiValueQueryStringParameters = map[string][]string{"a": {"b"}}
	resp, err := lambda(t, aws)(context.Background(), req)
	if err != nil || resp.StatusCode != 301 || resp.Headers["Location"] != "/v1/?a=b" {
		t.Fatalf("got %d %v %v, want 301 to /v1/?a=b", resp.StatusCode, resp.Headers["Location"], err)
	}
}

func TestLambdaConfigTellsThePageHowToSignIn(t *testing.T) {
	resp, err := lambda(t, aws)(context.Background(), proxy("GET", "/config.json", "/v1/config.json"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %d %v", resp.StatusCode, err)
	}
	if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
		t.Errorf("headers %v", resp.Headers)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"mode": "oidc", "authorizationEndpoint": aws.AuthorizationEndpoint, "tokenEndpoint": aws.TokenEndpoint,
		"logoutEndpoint": aws.LogoutEndpoint, "clientId": aws.ClientID, "scope": "openid email profile", "origin": aws.Origin,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want exactly %v", got, want)
	}
}

func TestLambdaAnswersOtherMethodsAndPaths(t *testing.T) {
	h := lambda(t, aws)
	if resp, _ := h(context.Background(), proxy("POST", "/", "/v1/")); resp.StatusCode != 405 || resp.Headers["Allow"] != "GET, HEAD" {
		t.Errorf("POST /: got %d %v", resp.StatusCode, resp.Headers)
	}
	if resp, _ := h(context.Background(), proxy("GET", "/secrets", "/v1/secrets")); resp.StatusCode != 404 || !strings.Contains(resp.Body, "NOT_FOUND") {
		t.Errorf("GET /secrets: got %d %s", resp.StatusCode, resp.Body)
	}
	req := proxy("GET", "/app.css", "/v1/app.css")
	first, _ := h(context.Background(), req)
	req.Headers = map[string]string{"if-none-match": first.Headers["ETag"]}
	if resp, _ := h(context.Background(), req); resp.StatusCode != 304 || resp.Body != "" {
		t.Errorf("conditional GET: got %d", resp.StatusCode)
	}
}

func TestConfigurationMistakesFailTheColdStart(t *testing.T) {
	bad := func(change func(*console.Config)) console.Config {
		c := aws
		change(&c)
		return c
	}
	for name, cfg := range map[string]console.Config{
		"no mode":                   {},
		"an unknown mode":           {Mode: "saml"},
		"no token endpoint":         bad(func(c *console.Config) { c.TokenEndpoint = "" }),
		"an http token endpoint":    bad(func(c *console.Config) { c.TokenEndpoint = "http://example.com/oauth2/token" }),
		"an endpoint with a query":  bad(func(c *console.Config) { c.AuthorizationEndpoint += "?x=1" }),
		"an endpoint with a quote":  bad(func(c *console.Config) { c.TokenEndpoint = "https://a.example/'x" }),
		"no client id":              bad(func(c *console.Config) { c.ClientID = "" }),
		"a client id with a quote":  bad(func(c *console.Config) { c.ClientID = `a"b` }),
		"an origin with a path":     bad(func(c *console.Config) { c.Origin = "https://console.example.com/x" }),
		"an http origin":            bad(func(c *console.Config) { c.Origin = "http://console.example.com" }),
		"an http logout endpoint":   bad(func(c *console.Config) { c.LogoutEndpoint = "http://example.com/logout" }),
		"a relative token endpoint": bad(func(c *console.Config) { c.TokenEndpoint = "/oauth2/token" }),
	} {
		if _, err := console.Lambda(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := console.Handler(cfg); err == nil {
			t.Errorf("%s: no error from Handler", name)
		}
	}
	ok := aws
	ok.LogoutEndpoint, ok.Origin = "", "http://localhost:3000"
	if _, err := console.Lambda(ok); err != nil {
		t.Errorf("no logout endpoint and a localhost origin: %v", err)
	}
}

// The page's own files keep the rules the CSP enforces, so that a rule
// broken by an edit fails here, not only in a browser.
func TestThePageHasNoInlineCodeAndFetchesNothingForeign(t *testing.T) {
	files := map[string]string{}
	err := fs.WalkDir(os.DirFS("web"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join("web", p))
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	html := files["index.html"]
	for _, m := range regexp.MustCompile(`(?s)<script\b([^>]*)>(.*?)</script>`).FindAllStringSubmatch(html, -1) {
		if !strings.Contains(m[1], `src="`) || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script in index.html: %q", m[0])
		}
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<style\b`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`javascript:`),
	} {
		if loc := bad.FindString(html); loc != "" {
			t.Errorf("index.html holds %q: inline code or style is refused by the CSP", loc)
		}
	}
	for _, bad := range []string{".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage", "setAttribute('style'", ".cssText"} {
		if strings.Contains(files["app.js"], bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	// Styling lives in app.css. The one exception: a row's menu, a popover,
	// is placed at its button with top and left (CSSOM property writes,
	// which the CSP does not refuse, unlike style attributes).
	for _, m := range regexp.MustCompile(`\.style\.[A-Za-z]+`).FindAllString(files["app.js"], -1) {
		if m != ".style.top" && m != ".style.left" {
			t.Errorf("app.js sets %s: style it in app.css", m)
		}
	}
	// No address outside the page: fonts, CDNs or trackers. The SVG
	// namespace is a name, and Salesforce's login hosts are examples in the
	// plan form's hints: text, never fetched (connect-src refuses them).
	url := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	named := map[string]bool{"http://www.w3.org": true, "https://login.salesforce.com": true, "https://test.salesforce.com": true}
	for name, text := range files {
		for _, u := range url.FindAllString(text, -1) {
			if !named[u] {
				t.Errorf("%s refers to %s", name, u)
			}
		}
		if strings.Contains(text, "@import") || strings.Contains(text, "@font-face") {
			t.Errorf("%s imports styles or fonts", name)
		}
	}
}

// TestTheREADMEShowsEachScreenshotOnDesktopAndPhone keeps the README's
// table in step with `make screenshots`: every picture it names exists, and
// each phone screenshot is shown in the same row as the desktop one.
func TestTheREADMEShowsEachScreenshotOnDesktopAndPhone(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`docs/screenshots/[A-Za-z0-9._-]+\.png`)
	for _, p := range named.FindAllString(string(readme), -1) {
		if _, err := os.Stat(filepath.Join("../..", p)); err != nil {
			t.Errorf("README.md shows %s, which does not exist", p)
		}
	}
	phones, err := filepath.Glob("../../docs/screenshots/*-phone.png")
	if err != nil || len(phones) == 0 {
		t.Fatalf("no phone screenshots in docs/screenshots (%v)", err)
	}
	for _, phone := range phones {
		phone = "docs/screenshots/" + filepath.Base(phone)
		desktop := strings.TrimSuffix(phone, "-phone.png") + ".png"
		row := false
		for _, line := range strings.Split(string(readme), "\n") {
			row = row || (strings.Contains(line, desktop) && strings.Contains(line, phone))
		}
		if !row {
			t.Errorf("README.md has no row showing %s beside %s", phone, desktop)
		}
	}
}
