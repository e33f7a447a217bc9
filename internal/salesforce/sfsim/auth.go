package sfsim

import (
	"crypto/rand"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	tokenPath = "/services/oauth2/token"
	jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// The audiences Salesforce accepts in a JWT bearer assertion: its generic
// login URL of the user's kind of org, whichever host the token is requested
// from (a My Domain URL is refused), or an Experience Cloud site's URL.
// The Salesforce CLI finds the right one by trying each in turn.
const (
	AudienceProduction = "https://login.salesforce.com"
	AudienceSandbox    = "https://test.salesforce.com"
)

// session is what an access token stands for.
type session struct {
	org    *org // a refresh replaces a sandbox's org, ending its sessions
	userID string
}

var errUnknownClient = errors.New("unknown consumer key")

// serveToken is the OAuth 2.0 JWT bearer flow: it checks the assertion's
// signature against the app's certificate, then iss, exp, sub and aud, and
// answers with an access token and the instance URL of the user's org.
// Like Salesforce it does not hold exp to the documented 3 minutes (the
// Salesforce CLI signs an exp in milliseconds, far in the future), and its
// errors are the ones real orgs send: 400 {"error","error_description"}.
func (s *Sim) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "must use HTTP POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed request body")
		return
	}
	if r.PostForm.Get("grant_type") != jwtBearer {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	}
	assertion := r.PostForm.Get("assertion")
	if assertion == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "assertion is required")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.advanceByClock(now)
	claims := &jwt.RegisteredClaims{}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err := parser.ParseWithClaims(assertion, claims, func(*jwt.Token) (any, error) {
		if key, ok := s.trusted[claims.Issuer]; ok {
			return key, nil
		}
		return nil, errUnknownClient
	})
	switch {
	case errors.Is(err, errUnknownClient):
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	case errors.Is(err, jwt.ErrTokenExpired):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "expired authorization code")
		return
	case err != nil:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "invalid assertion")
		return
	}
	base := s.base(r)
	o, u := s.findUser(claims.Subject)
	switch {
	case u == nil:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "user hasn't approved this consumer")
		return
	case len(claims.Audience) != 1 || !s.audienceOf(o, strings.TrimRight(claims.Audience[0], "/")):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "audience is invalid")
		return
	case !u.active:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "inactive user")
		return
	case u.frozen:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "user is frozen")
		return
	}
	u.lastLogin = now
	token := o.id + "!" + rand.Text() + rand.Text()
	s.sessions[token] = &session{org: o, userID: u.id}
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": token,
		"scope":        "api",
		"instance_url": base + "/org/" + o.key,
		"id":           base + "/id/" + o.id + "/" + u.id,
		"token_type":   "Bearer",
		"issued_at":    strconv.FormatInt(now.UnixMilli(), 10),
	})
}

// audienceOf reports whether aud is an audience for users of org o.
func (s *Sim) audienceOf(o *org, aud string) bool {
	want := AudienceProduction
	if o != s.prod {
		want = AudienceSandbox
	}
	return aud == want || slices.Contains(s.opts.ExperienceSites, aud)
}

// findUser finds a user by username in any org: usernames are unique across
// all of Salesforce, which is why sandbox copies get the ".<sandbox>" suffix.
func (s *Sim) findUser(username string) (*org, *user) {
	if u := s.prod.userByUsername(username); u != nil {
		return s.prod, u
	}
	for _, o := range s.orgs {
		if u := o.userByUsername(username); u != nil {
			return o, u
		}
	}
	return nil, nil
}

func (s *Sim) usernameTaken(username string, except *user) bool {
	for _, o := range s.orgs {
		if u := o.userByUsername(username); u != nil && u != except {
			return true
		}
	}
	return false
}

// authenticate returns the session of the request's bearer token if it is
// for org o.
func (s *Sim) authenticate(r *http.Request, o *org) *session {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	sess := s.sessions[token]
	if sess == nil || sess.org != o {
		return nil
	}
	return sess
}
