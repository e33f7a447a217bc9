package salesforce_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
)

func TestConnectSignsInWithATrustedKey(t *testing.T) {
	f := newFixture(t, sfsim.Options{})
	c := f.connect(t, integrationUser)
	if got, want := c.InstanceURL(), f.srv.URL+"/org/prod"; got != want {
		t.Errorf("InstanceURL() = %q, want %q", got, want)
	}
	u, _ := f.sim.User(sfsim.Production, integrationUser)
	if got, want := c.UserID(), u.ID; got != want {
		t.Errorf("UserID() = %q, want %q", got, want)
	}
}

func TestConnectFailures(t *testing.T) {
	_, untrusted := keys()
	tests := []struct {
		name          string
		setup         func(*fixture)
		change        func(*salesforce.Config)
		wantStatus    int
		wantCode      string
		wantTransient bool
	}{
		{
			name:       "an assertion signed with an untrusted key is refused with invalid_grant, permanently",
			change:     func(c *salesforce.Config) { c.PrivateKey = untrusted },
			wantStatus: 400, wantCode: "invalid_grant",
		},
		{
			name:       "an expired assertion is refused with invalid_grant",
			change:     func(c *salesforce.Config) { c.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) } },
			wantStatus: 400, wantCode: "invalid_grant",
		},
		{
			name:       "an unknown consumer key is refused with invalid_client_id",
			change:     func(c *salesforce.Config) { c.ConsumerKey = "someone-else" },
			wantStatus: 400, wantCode: "invalid_client_id",
		},
		{
			name:       "a user the org does not have is refused",
			change:     func(c *salesforce.Config) { c.Username = "nobody@acme.example" },
			wantStatus: 400, wantCode: "invalid_grant",
		},
		{
			name:       "an inactive user is refused",
			setup:      func(f *fixture) { f.sim.AddProdUsers(sfsim.User{Username: "gone@acme.example", Inactive: true}) },
			change:     func(c *salesforce.Config) { c.Username = "gone@acme.example" },
			wantStatus: 400, wantCode: "invalid_grant",
		},
		{
			name:       "a sandbox username is refused before the sandbox exists",
			setup:      func(f *fixture) { f.sim.AddSandbox("dev", "DEVELOPER") },
			change:     func(c *salesforce.Config) { c.Username = integrationUser + ".dev" },
			wantStatus: 400, wantCode: "invalid_grant",
		},
		{
			name:       "a 503 from the token endpoint is transient",
			setup:      func(f *fixture) { f.sim.FailNext(1, http.StatusServiceUnavailable) },
			wantStatus: 503, wantCode: "server_unavailable", wantTransient: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, sfsim.Options{})
			if tt.setup != nil {
				tt.setup(f)
			}
			cfg := f.config(integrationUser)
			if tt.change != nil {
				tt.change(&cfg)
			}
			_, err := salesforce.Connect(context.Background(), cfg)
			e := apiError(t, err)
			if e.Status != tt.wantStatus || e.Code != tt.wantCode {
				t.Errorf("error = %d %s, want %d %s", e.Status, e.Code, tt.wantStatus, tt.wantCode)
			}
			if got := salesforce.IsTransient(err); got != tt.wantTransient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tt.wantTransient)
			}
			if strings.Contains(err.Error(), "eyJ") {
				t.Errorf("error %q quotes the assertion", err)
			}
		})
	}
}

func TestConnectRejectsABadConfigWithoutCallingSalesforce(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*salesforce.Config)
		wantErr string
	}{
		{"an API version before v60.0 is refused", func(c *salesforce.Config) { c.APIVersion = "v59.0" }, "older than v60.0"},
		{"an API version without the v is refused", func(c *salesforce.Config) { c.APIVersion = "62.0" }, "must look like v62.0"},
		{"a login URL without a scheme is refused", func(c *salesforce.Config) { c.LoginURL = "login.salesforce.com" }, "login URL"},
		{"a missing private key is refused", func(c *salesforce.Config) { c.PrivateKey = nil }, "private key is required"},
		{"a missing username is refused", func(c *salesforce.Config) { c.Username = "" }, "username is required"},
		{"a missing consumer key is refused", func(c *salesforce.Config) { c.ConsumerKey = "" }, "consumer key is required"},
		{"a missing audience is refused", func(c *salesforce.Config) { c.Audience = "" }, "audience must be"},
		{"an http audience is refused", func(c *salesforce.Config) { c.Audience = "http://login.salesforce.com" }, "audience must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
			defer srv.Close()
			f := &fixture{srv: srv}
			cfg := f.config(integrationUser)
			tt.change(&cfg)
			_, err := salesforce.Connect(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Connect error = %v, want one containing %q", err, tt.wantErr)
			}
			if called {
				t.Error("Connect sent a request, want none")
			}
		})
	}
}

// recorder passes requests to the simulator and keeps what the client sent.
type recorder struct {
	next http.Handler

	mu         sync.Mutex
	form       map[string]string
	paths      []string
	authHeader string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	if r.URL.Path == "/services/oauth2/token" {
		_ = r.ParseForm()
		rec.form = map[string]string{"grant_type": r.PostForm.Get("grant_type"), "assertion": r.PostForm.Get("assertion")}
	} else {
		rec.paths = append(rec.paths, r.URL.Path)
		rec.authHeader = r.Header.Get("Authorization")
	}
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func TestTheAssertionFollowsSalesforceRules(t *testing.T) {
	trusted, _ := keys()
	sim := sfsim.New(sfsim.Options{})
	rec := &recorder{next: sim}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	sim.SetBaseURL(srv.URL)
	sim.TrustKey(consumerKey, &trusted.PublicKey)
	sim.AddProdUsers(sfsim.User{Username: integrationUser})

	now := time.Now()
	c, err := salesforce.Connect(context.Background(), salesforce.Config{
		LoginURL: srv.URL + "/", Audience: salesforce.AudienceProduction, ConsumerKey: consumerKey, Username: integrationUser,
		PrivateKey: trusted, HTTPClient: srv.Client(), Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if got, want := rec.form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer"; got != want {
		t.Errorf("grant_type = %q, want %q", got, want)
	}

	assertion := rec.form["assertion"]
	claims := jwt.MapClaims{}
	token, err := jwt.NewParser(jwt.WithTimeFunc(func() time.Time { return now })).ParseWithClaims(assertion, claims, func(*jwt.Token) (any, error) { return &trusted.PublicKey, nil })
	if err != nil {
		t.Fatalf("parse assertion: %v", err)
	}
	if got, want := token.Method.Alg(), "RS256"; got != want {
		t.Errorf("alg = %q, want %q", got, want)
	}
	// The token is requested from the login URL (here, as from a My Domain),
	// but the audience is Salesforce's generic login URL.
	for claim, want := range map[string]any{"iss": consumerKey, "sub": integrationUser, "aud": "https://login.salesforce.com"} {
		if got := claims[claim]; got != want {
			t.Errorf("%s = %#v, want %#v (aud a plain string)", claim, got, want)
		}
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		t.Fatalf("exp: %v, %v", exp, err)
	}
	if got := exp.Sub(now); got > 3*time.Minute || got < 3*time.Minute-time.Second {
		t.Errorf("exp - now = %v, want at most 3m (and within a second of it)", got)
	}

	// The default API version is used, and the access token is never printed.
	if _, err := c.Users(context.Background()); err != nil {
		t.Fatalf("Users: %v", err)
	}
	if got, want := rec.paths[len(rec.paths)-1], "/org/prod/services/data/v62.0/query"; got != want {
		t.Errorf("query path = %q, want %q", got, want)
	}
	accessToken := strings.TrimPrefix(rec.authHeader, "Bearer ")
	if accessToken == "" {
		t.Fatal("no bearer token was sent")
	}
	if printed := fmt.Sprintf("%v %+v %#v %s", c, c, c, c); strings.Contains(printed, accessToken) {
		t.Errorf("printing the client shows the access token: %s", printed)
	}
}
