package browsertest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dcs-access/dcs-access/internal/console"
	"github.com/dcs-access/dcs-access/internal/localserver"
)

const oidcClientID = "console-test-client"

// fakeIdP stands in for the Cognito hosted UI on its own loopback origin:
// /oauth2/authorize signs "ada" in at once and redirects back with a code,
// /oauth2/token checks the PKCE verifier against the challenge and returns
// an ID token the local authorizer accepts (signed with the stack's session
// key, with the sign-in's nonce), and /logout redirects back.
type fakeIdP struct {
	key           *ecdsa.PrivateKey
	consoleOrigin string

	mu        sync.Mutex
	codes     map[string]authRequest
	problems  []string
	exchanges int
	logouts   int
}

type authRequest struct {
	challenge, nonce, redirectURI string
}

func (f *fakeIdP) problem(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

func (f *fakeIdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth2/authorize":
		f.authorize(w, r)
	case "/oauth2/token":
		f.token(w, r)
	case "/logout":
		q := r.URL.Query()
		if q.Get("client_id") != oidcClientID || q.Get("logout_uri") != f.consoleOrigin+"/" {
			f.problem("logout with %v", q)
		}
		f.mu.Lock()
		f.logouts++
		f.mu.Unlock()
		http.Redirect(w, r, q.Get("logout_uri"), http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	want := map[string]string{"response_type": "code", "client_id": oidcClientID, "redirect_uri": f.consoleOrigin + "/auth/callback", "scope": "openid email profile", "code_challenge_method": "S256"}
	for k, v := range want {
		if q.Get(k) != v {
			f.problem("authorize: %s=%q, want %q", k, q.Get(k), v)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			f.problem("authorize: %s=%q is not 32 random bytes", k, q.Get(k))
		}
	}
	code := rand.Text()
	f.mu.Lock()
	f.codes[code] = authRequest{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirectURI: q.Get("redirect_uri")}
	f.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (f *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	// The console calls from its own origin: CORS, as Cognito answers it.
	w.Header().Set("Access-Control-Allow-Origin", f.consoleOrigin)
	w.Header().Set("Cache-Control", "no-store")
	fail := func(format string, args ...any) {
		f.problem("token: "+format, args...)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		fail("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		return
	}
	if err := r.ParseForm(); err != nil {
		fail("%v", err)
		return
	}
	f.mu.Lock()
	req, ok := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code")) // one use only
	f.exchanges++
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok:
		fail("unknown code")
		return
	case r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("client_id") != oidcClientID:
		fail("grant %v", r.PostForm)
		return
	case r.PostForm.Get("redirect_uri") != req.redirectURI:
		fail("redirect_uri %q, want %q", r.PostForm.Get("redirect_uri"), req.redirectURI)
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge:
		fail("the code_verifier does not match the code_challenge")
		return
	}
	now := time.Now()
	idToken, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": localserver.SessionIssuer, "aud": localserver.SessionAudience, "sub": "ada", "token_use": "id",
		"email": "ada@acme.example", "custom:tenant": "acme", "nonce": req.nonce,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).SignedString(f.key)
	if err != nil {
		fail("%v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id_token": idToken, "access_token": "not-used", "token_type": "Bearer", "expires_in": 3600})
}

// TestConsoleSignsInWithOIDCAndPKCE runs oidc.test.mjs: the console as the
// ConsoleFunction serves it in AWS (mode "oidc"), in front of the same API,
// signs in through a stand-in hosted UI on another origin.
func TestConsoleSignsInWithOIDCAndPKCE(t *testing.T) {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	requireTools(t, dir)
	s := startStack(t)

	idpServer := httptest.NewUnstartedServer(nil)
	consoleServer := httptest.NewUnstartedServer(nil)
	idpURL := "http://" + idpServer.Listener.Addr().String()
	consoleURL := "http://" + consoleServer.Listener.Addr().String()

	idp := &fakeIdP{key: s.SessionKey, consoleOrigin: consoleURL, codes: map[string]authRequest{}}
	idpServer.Config.Handler = idp
	idpServer.Start()
	t.Cleanup(idpServer.Close)

	page, err := console.Handler(console.Config{
		Mode:                  console.ModeOIDC,
		AuthorizationEndpoint: idpURL + "/oauth2/authorize",
		TokenEndpoint:         idpURL + "/oauth2/token",
		LogoutEndpoint:        idpURL + "/logout",
		ClientID:              oidcClientID,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The console's files from the OIDC console, everything else from the
	// local stack: one origin, as the ConsoleFunction and the API share one.
	consoleServer.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/", "/index.html", "/auth/callback", "/config.json", "/app.js", "/app.css", "/favicon.svg":
			page.ServeHTTP(w, r)
		default:
			s.Server.ServeHTTP(w, r)
		}
	})
	consoleServer.Start()
	t.Cleanup(consoleServer.Close)

	runDriver(t, "oidc.test.mjs", "BASE_URL="+consoleURL, "IDP_URL="+idpURL, "SCREENSHOT_DIR="+screenshotDir(t))

	idp.mu.Lock()
	defer idp.mu.Unlock()
	if len(idp.problems) > 0 {
		t.Errorf("the provider saw bad requests:\n  %s", strings.Join(idp.problems, "\n  "))
	}
	// Four sign-ins (the first, a shared link's, two with a bogus saved
	// route), each ended by a sign-out; the forged callback exchanges nothing.
	if idp.exchanges != 4 || idp.logouts != 4 {
		t.Errorf("got %d code exchanges and %d logouts, want 4 and 4", idp.exchanges, idp.logouts)
	}
}
