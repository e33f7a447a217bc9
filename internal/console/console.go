// Package console serves the web console: the Accounts pages (API Tokens:
// add, rotate and delete tokens; Token policy), the Sandbox refreshes page
// with its plan form and the plan's pipeline secrets, and the Audit trail,
// a few static files embedded in the binary (web/), and /config.json, which
// tells the page how to sign in.
//
// The same files and headers are served two ways: Handler is an
// http.Handler for the local server (mounted at "/"), and Lambda answers
// API Gateway proxy events for the ConsoleFunction in AWS.
//
// Every answer carries a strict Content-Security-Policy (no inline script
// or style, Trusted Types required, no fetch but to the API's own origin and,
// in AWS, the OIDC token endpoint) and the other usual security headers.
package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/header"
)

//go:embed web
var webFS embed.FS

// Modes of sign-in.
const (
	// ModeLocal signs in with the local server's POST /local/sessions.
	ModeLocal = "local"
	// ModeOIDC signs in with an OIDC provider (the Cognito hosted UI):
	// authorization code with PKCE.
	ModeOIDC = "oidc"
)

// Config is what the page needs to know to sign a user in.
type Config struct {
	Mode string // ModeLocal or ModeOIDC

	// ModeOIDC only.
	AuthorizationEndpoint string // https://<domain>/oauth2/authorize
	TokenEndpoint         string // https://<domain>/oauth2/token
	LogoutEndpoint        string // https://<domain>/logout (Cognito); "" signs out of the tab only
	ClientID              string // the public app client (no secret)
	// Origin is where the console is served (the template's ConsoleOrigin):
	// the page redirects back to Origin + "/auth/callback", the URL the
	// app client allows. "" lets the page use its own address.
	Origin string
}

// Local is the configuration of the local server's console.
func Local() Config { return Config{Mode: ModeLocal} }

// Validate reports a configuration the page could not sign in with.
func (c Config) Validate() error {
	switch c.Mode {
	case ModeLocal:
		return nil
	case ModeOIDC:
	default:
		return fmt.Errorf("console: mode %q is neither %q nor %q", c.Mode, ModeLocal, ModeOIDC)
	}
	for _, u := range []struct{ name, value string }{
		{"authorization endpoint", c.AuthorizationEndpoint},
		{"token endpoint", c.TokenEndpoint},
		{"logout endpoint", c.LogoutEndpoint},
	} {
		if u.value == "" && u.name == "logout endpoint" {
			continue
		}
		if err := checkHTTPS(u.value); err != nil {
			return fmt.Errorf("console: %s: %w", u.name, err)
		}
	}
	if c.ClientID == "" || strings.ContainsAny(c.ClientID, " \t\r\n\"'<>&") {
		return errors.New("console: the OIDC client id must be set, without spaces or quotes")
	}
	if c.Origin != "" {
		u, err := url.Parse(c.Origin)
		if err != nil || u.Scheme+"://"+u.Host != c.Origin || !(u.Scheme == "https" || u.Hostname() == "localhost") {
			return fmt.Errorf("console: origin %q must be an https origin without a path (http only for localhost)", c.Origin)
		}
	}
	return nil
}

// checkHTTPS accepts an absolute https URL without credentials or fragment
// (http for localhost, where a test may stand in for the provider).
func checkHTTPS(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || raw == "":
		return fmt.Errorf("%q is not a URL", raw)
	case u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")):
		return fmt.Errorf("%q must be an https URL", raw)
	case u.Host == "" || u.User != nil || u.Fragment != "" || u.RawQuery != "":
		return fmt.Errorf("%q must be a plain URL (host and path only)", raw)
	case strings.ContainsAny(raw, " \"'<>;,"):
		return fmt.Errorf("%q holds characters a header cannot carry", raw)
	}
	return nil
}

func originOf(raw string) string {
	u, _ := url.Parse(raw)
	return u.Scheme + "://" + u.Host
}

// site is the prepared console: files, the config document and headers.
type site struct {
	cfg        Config
	files      map[string]file // by URL path: "/app.js"
	index      []byte          // index.html, with the base placeholder
	configJSON []byte
	headers    map[string]string // on every answer
}

type file struct {
	body        []byte
	contentType string
	etag        string
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
}

// basePlaceholder is index.html's <base href>: the path the console is
// served under ("/" locally, "/<stage>/" behind API Gateway's default URL).
const basePlaceholder = `<base href="/">`

func newSite(cfg Config) (*site, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &site{cfg: cfg, files: map[string]file{}}
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("console: no content type for %s", p)
		}
		sum := sha256.Sum256(body)
		s.files[strings.TrimPrefix(p, "web")] = file{body: body, contentType: ct, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	index, ok := s.files["/index.html"]
	if !ok || bytes.Count(index.body, []byte(basePlaceholder)) != 1 {
		return nil, errors.New("console: web/index.html must hold exactly one " + basePlaceholder)
	}
	s.index = index.body
	delete(s.files, "/index.html")

	page := map[string]string{"mode": cfg.Mode}
	if cfg.Mode == ModeOIDC {
		page["authorizationEndpoint"] = cfg.AuthorizationEndpoint
		page["tokenEndpoint"] = cfg.TokenEndpoint
		page["logoutEndpoint"] = cfg.LogoutEndpoint
		page["clientId"] = cfg.ClientID
		page["scope"] = "openid email profile"
		if cfg.Origin != "" {
			page["origin"] = cfg.Origin
		}
	}
	if s.configJSON, err = json.Marshal(page); err != nil {
		return nil, err
	}
	s.headers = securityHeaders(cfg)
	return s, nil
}

// CSP returns the Content-Security-Policy for cfg: scripts, styles, images
// and the manifest from the console's own origin only, no inline code, DOM
// sinks behind Trusted Types, fetches to the API (same origin) and, in AWS,
// the OIDC token endpoint; no plugins, frames or foreign forms.
func CSP(cfg Config) string {
	connect := "'self'"
	if cfg.Mode == ModeOIDC {
		connect += " " + originOf(cfg.TokenEndpoint)
	}
	directives := []string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		"connect-src " + connect,
		"base-uri 'self'",
		"form-action 'self'",
		"frame-ancestors 'none'",
		"object-src 'none'",
		"require-trusted-types-for 'script'",
		"trusted-types 'none'",
	}
	if cfg.Mode == ModeOIDC && strings.HasPrefix(cfg.TokenEndpoint, "https://") {
		// Deployed: nothing goes out in clear text. (A test's stand-in
		// provider on http://127.0.0.1 is left as it is.)
		directives = append(directives, "upgrade-insecure-requests")
	}
	return strings.Join(directives, "; ")
}

func securityHeaders(cfg Config) map[string]string {
	h := map[string]string{
		"Content-Security-Policy":      CSP(cfg),
		"X-Content-Type-Options":       "nosniff",
		"X-Frame-Options":              "DENY",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
	}
	if cfg.Mode == ModeOIDC {
		h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
	}
	return h
}

// pagePaths are the page's own addresses: the page itself, and the OIDC
// redirect target, which the page reads the authorization code from.
var pagePaths = map[string]bool{"/": true, "/index.html": true, "/auth/callback": true}

// answer is one response, before it becomes an http or a Lambda one.
type answer struct {
	status  int
	headers map[string]string
	body    []byte
}

// serve answers method and urlPath for a console served under base ("/" or
// "/v1/"); ifNoneMatch is the request's If-None-Match header.
func (s *site) serve(method, urlPath, base, ifNoneMatch string) answer {
	h := map[string]string{}
	for k, v := range s.headers {
		h[k] = v
	}
	var f file
	switch {
	case pagePaths[urlPath]:
		body := bytes.Replace(s.index, []byte(basePlaceholder), []byte(`<base href="`+html.EscapeString(base)+`">`), 1)
		f = file{body: body, contentType: contentTypes[".html"]}
		h["Cache-Control"] = "no-store" // the callback URL holds a one-time code
	case urlPath == "/config.json":
		f = file{body: s.configJSON, contentType: contentTypes[".json"]}
		h["Cache-Control"] = "no-store"
	default:
		var ok bool
		if f, ok = s.files[urlPath]; !ok {
			return notFound(h)
		}
		// Names carry no content hash: a browser keeps the file but asks
		// again each time, and a 304 costs no body.
		h["Cache-Control"] = "no-cache"
		h["ETag"] = f.etag
	}
	if method != http.MethodGet && method != http.MethodHead {
		h["Allow"] = "GET, HEAD"
		return errorAnswer(h, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "The console only answers GET and HEAD.")
	}
	h["Content-Type"] = f.contentType
	if f.etag != "" && etagMatches(ifNoneMatch, f.etag) {
		delete(h, "Content-Type")
		return answer{status: http.StatusNotModified, headers: h}
	}
	if method == http.MethodHead {
		return answer{status: http.StatusOK, headers: h}
	}
	return answer{status: http.StatusOK, headers: h, body: f.body}
}

func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == etag || v == "*" {
			return true
		}
	}
	return false
}

// notFound answers as the API does for a route it does not have, so that
// mounting the console at "/" changes nothing for API clients.
func notFound(h map[string]string) answer {
	return errorAnswer(h, http.StatusNotFound, "NOT_FOUND", "No such route: check the method and the path.")
}

func errorAnswer(h map[string]string, status int, code, message string) answer {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, message
	b, _ := json.Marshal(body)
	h["Content-Type"] = "application/json"
	h["Cache-Control"] = "no-store"
	return answer{status: status, headers: h, body: b}
}

// Handler serves the console at "/" of an http server: the local server
// mounts it with Gateway.Public("/", …), under every more specific route.
// Paths that are not the console's answer 404 in the API's error shape.
func Handler(cfg Config) (http.Handler, error) {
	s, err := newSite(cfg)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.serve(r.Method, r.URL.Path, "/", r.Header.Get("If-None-Match"))
		for k, v := range a.headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}), nil
}

// LambdaHandler is the ConsoleFunction's entry point.
type LambdaHandler func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Lambda serves the console behind API Gateway (GET / and GET /{proxy+},
// without the authorizer).
func Lambda(cfg Config) (LambdaHandler, error) {
	s, err := newSite(cfg)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		p := req.Path
		if p == "" {
			p = "/"
		}
		base, redirect := basePath(req.RequestContext.Path, p)
		if redirect {
			h := map[string]string{}
			for k, v := range s.headers {
				h[k] = v
			}
			loc := base
			if q := url.Values(req.MultiValueQueryStringParameters).Encode(); q != "" {
				loc += "?" + q
			}
			h["Location"] = loc
			h["Cache-Control"] = "no-store"
			return events.APIGatewayProxyResponse{StatusCode: http.StatusMovedPermanently, Headers: h}, nil
		}
		a := s.serve(req.HTTPMethod, p, base, header.Get(req.Headers, "If-None-Match"))
		return events.APIGatewayProxyResponse{StatusCode: a.status, Headers: a.headers, Body: string(a.body)}, nil
	}, nil
}

var safePrefix = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)*$`)

// basePath returns the path the console is served under, from the path the
// browser asked for (requestContext.path: "/v1/auth/callback" on API
// Gateway's own URL, "/auth/callback" on a custom domain) and the resource
// path (path: "/auth/callback"). redirect is true for the stage URL
// without its trailing slash ("/v1"), where the page's relative addresses
// would miss the stage: the caller sends the browser to base instead.
func basePath(requested, resource string) (base string, redirect bool) {
	if requested == "" {
		return "/", false
	}
	if resource == "/" && !strings.HasSuffix(requested, "/") {
		if safePrefix.MatchString(requested) {
			return requested + "/", true
		}
		return "/", false
	}
	prefix, ok := strings.CutSuffix(requested, resource)
	if !ok || !safePrefix.MatchString(prefix) {
		return "/", false
	}
	return prefix + "/", false
}
