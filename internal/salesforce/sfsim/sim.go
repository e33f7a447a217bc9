// Package sfsim simulates the Salesforce endpoints that package salesforce
// calls, with Salesforce's request and response shapes: the OAuth 2.0 JWT
// bearer token endpoint, Tooling API queries of SandboxInfo and
// SandboxProcess, the SandboxInfo PATCH that starts a refresh, REST queries of
// User, UserLogin and Profile with nextRecordsUrl paging, and sObject
// Collections create and update with per-record results. Faults can be
// injected and state inspected, for tests and for the local server.
//
// One Sim serves several orgs: production, and each sandbox once a refresh of
// it has completed and been activated. Each org has its own instance URL,
// <base>/org/prod or <base>/org/sandbox-<name>, which the token endpoint
// returns as instance_url for the user who signs in.
package sfsim

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Production names the production org where the helpers take a sandbox name.
const Production = ""

// Default profile names every simulated org starts with.
var DefaultProfiles = []string{"System Administrator", "Standard User", "Read Only", "Minimum Access - Salesforce"}

// Options configure a Sim. The zero value is usable.
type Options struct {
	// ExperienceSites are Experience Cloud site URLs (such as
	// https://acme.my.site.com/customers) that assertions may name as their
	// audience, besides AudienceProduction and AudienceSandbox.
	ExperienceSites []string
	// Now is the simulator's clock; time.Now when nil.
	Now func() time.Time
	// PageSize is the most records one query response holds; more are
	// served through nextRecordsUrl. Default 2000, as Salesforce.
	PageSize int
	// StepPerPoll moves a refresh one status further each time a
	// SandboxProcess query reads it (Pending → Processing → [Sampling →]
	// Activating → Completed, or Pending Activation until activated),
	// instead of by the clock: deterministic tests.
	StepPerPoll bool
	// How long a refresh stays Pending, Processing and Activating when
	// StepPerPoll is false (Sampling, for Partial Copy, a quarter of
	// Processing). Defaults 1 s, 3 s and 1 s.
	PendingFor, ProcessingFor, ActivatingFor time.Duration
	// IntervalScale scales RefreshIntervals, the wait Salesforce imposes
	// between refreshes of a sandbox, as the other durations are scaled
	// for tests and `make run`. 0 means 1: the real intervals.
	IntervalScale float64
	// UserLicenses, when above 0, is how many active users each org may
	// have: more are refused with LICENSE_LIMIT_EXCEEDED.
	UserLicenses int
}

// Sim is the simulator: an http.Handler. It is safe for concurrent use.
type Sim struct {
	opts Options

	mu       sync.Mutex
	baseURL  string
	trusted  map[string]*rsa.PublicKey // consumer key → certificate's key
	prod     *org
	orgs     map[string]*org // by path key
	infos    []*sandboxInfo
	procs    []*sandboxProcess
	sessions map[string]*session // access token → session
	cursors  map[string]*cursor  // query locator → remaining records
	seq      int

	failCount, failStatus int
	failMessage           string
	stall                 bool
	endRefreshWith        string                 // a status copies end in after Processing
	recordFaults          map[string]RecordError // lower-case id or username → error
	collectionCalls       []CollectionCall
}

// New returns a simulator whose production org has the DefaultProfiles and no users.
func New(opts Options) *Sim {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 2000
	}
	if opts.IntervalScale <= 0 {
		opts.IntervalScale = 1
	}
	if opts.PendingFor <= 0 {
		opts.PendingFor = time.Second
	}
	if opts.ProcessingFor <= 0 {
		opts.ProcessingFor = 3 * time.Second
	}
	if opts.ActivatingFor <= 0 {
		opts.ActivatingFor = time.Second
	}
	s := &Sim{
		opts:         opts,
		trusted:      map[string]*rsa.PublicKey{},
		orgs:         map[string]*org{},
		sessions:     map[string]*session{},
		cursors:      map[string]*cursor{},
		recordFaults: map[string]RecordError{},
	}
	s.prod = newOrg("prod", s.newID("00D"), Production)
	s.orgs[s.prod.key] = s.prod
	for _, name := range DefaultProfiles {
		s.prod.profiles = append(s.prod.profiles, &profile{id: s.newID("00e"), name: name})
	}
	return s
}

// newID returns an 18-character Salesforce-style id with the key prefix of
// its object (005 User, 060 UserLogin, 00e Profile, 0GQ SandboxInfo, …).
func (s *Sim) newID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%012d%s", prefix, s.seq, "AAA")
}

func orgKey(sandbox string) string {
	if sandbox == Production {
		return "prod"
	}
	return "sandbox-" + strings.ToLower(sandbox)
}

// SetBaseURL sets the URL the Sim is reached at (e.g. httptest.Server.URL),
// the root of the instance URLs it hands out.
// Unset, it is derived from each request's Host, which is right only when the
// Sim is served at the root of a host.
func (s *Sim) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimRight(u, "/")
}

func (s *Sim) base(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// InstanceURL is the instance URL of production ("") or of a sandbox.
// It is empty until SetBaseURL is called.
func (s *Sim) InstanceURL(sandbox string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL == "" {
		return ""
	}
	return s.baseURL + "/org/" + orgKey(sandbox)
}

// TrustKey makes the token endpoint accept assertions from the external
// client app consumerKey signed by the private half of pub.
func (s *Sim) TrustKey(consumerKey string, pub *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trusted[consumerKey] = pub
}

// TrustCertificate is TrustKey with the certificate uploaded to the app.
func (s *Sim) TrustCertificate(consumerKey string, cert *x509.Certificate) error {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("sfsim: certificate's key is not RSA")
	}
	s.TrustKey(consumerKey, pub)
	return nil
}

// User is a production user to seed with AddProdUsers. Only Username is
// required; the rest defaults to values Salesforce would accept.
type User struct {
	Username          string
	Email             string // default: Username
	FirstName         string
	LastName          string // default: Username's local part
	Alias             string // default: the first 8 characters of the local part
	Profile           string // profile name; default "Standard User"
	UserType          string // default "Standard"
	TimeZoneSidKey    string // default America/Los_Angeles
	LocaleSidKey      string // default en_US
	EmailEncodingKey  string // default UTF-8
	LanguageLocaleKey string // default en_US
	Inactive          bool
	Frozen            bool
	// LastLogin is when the user last signed in (zero: never); signing in
	// through the token endpoint sets it too.
	LastLogin time.Time
	// CannotDeactivate makes Salesforce refuse to deactivate the user, as it
	// does for a user that a setting of the org names (the default workflow
	// user, a default case or lead owner…); the value is that setting.
	CannotDeactivate string
}

// AddProdUsers adds users to production and returns their ids. Like the
// other seeding helpers it panics on a mistake (a duplicate username, an
// unknown profile): seeding is a program's setup, not input.
func (s *Sim) AddProdUsers(users ...User) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(users))
	for i, in := range users {
		if in.Username == "" || s.usernameTaken(in.Username, nil) {
			panic(fmt.Sprintf("sfsim: AddProdUsers: username %q is empty or taken", in.Username))
		}
		local, _, _ := strings.Cut(in.Username, "@")
		alias := []rune(local)[:min(8, utf8.RuneCountInString(local))]
		u := &user{
			id: s.newID("005"), loginID: s.newID("060"), username: in.Username,
			email: or(in.Email, in.Username), firstName: in.FirstName, lastName: or(in.LastName, local),
			alias: or(in.Alias, string(alias)), userType: or(in.UserType, "Standard"),
			timeZone: or(in.TimeZoneSidKey, "America/Los_Angeles"), locale: or(in.LocaleSidKey, "en_US"),
			encoding: or(in.EmailEncodingKey, "UTF-8"), language: or(in.LanguageLocaleKey, "en_US"),
			active: !in.Inactive, frozen: in.Frozen, created: s.opts.Now(), lastLogin: in.LastLogin, pinnedBy: in.CannotDeactivate,
		}
		p := s.prod.profileByName(or(in.Profile, "Standard User"))
		if p == nil {
			panic(fmt.Sprintf("sfsim: AddProdUsers: no profile %q", in.Profile))
		}
		u.profileID = p.id
		s.prod.add(u)
		ids[i] = u.id
	}
	return ids
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AddProfile adds a profile to production and returns its id. Sandboxes
// copied afterwards have it too.
func (s *Sim) AddProfile(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prod.profileByName(name) != nil {
		panic(fmt.Sprintf("sfsim: AddProfile: profile %q exists", name))
	}
	p := &profile{id: s.newID("00e"), name: name}
	s.prod.profiles = append(s.prod.profiles, p)
	return p.id
}

var sandboxNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,9}$`)

// AddSandbox adds a SandboxInfo to production and returns its id. The
// sandbox org itself exists once a refresh of it completes and is activated.
// Its last refresh is long past: it may be refreshed at once.
func (s *Sim) AddSandbox(name, licenseType string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sandboxNamePattern.MatchString(name) || s.infoByName(name) != nil {
		panic(fmt.Sprintf("sfsim: AddSandbox: %q is not a sandbox name (1 to 10 letters and digits, starting with a letter) or is taken", name))
	}
	license, ok := canonicalLicense(licenseType)
	if !ok {
		panic(fmt.Sprintf("sfsim: AddSandbox: license type %q is not one of %v", licenseType, licenseTypes))
	}
	now := s.opts.Now()
	info := &sandboxInfo{id: s.newID("0GQ"), name: name, created: now, modified: now}
	info.license = license
	s.infos = append(s.infos, info)
	return info.id
}

// AddApexClass adds an Apex class (a SandboxPostCopy one, say) to
// production and returns its id. namespace is its managed package's
// prefix, "" for the org's own.
func (s *Sim) AddApexClass(name, namespace string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &apexClass{id: s.newID("01p"), name: name, namespace: namespace}
	s.prod.apexClasses = append(s.prod.apexClasses, c)
	return c.id
}

// RemoveApexClass deletes production's Apex class with this id.
func (s *Sim) RemoveApexClass(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prod.apexClasses = slices.DeleteFunc(slices.Clone(s.prod.apexClasses), func(c *apexClass) bool { return c.id == id })
}

// AddPublicGroup adds a public group (Group of Type Regular) of production
// users, by username, and returns its id: an activation user group.
func (s *Sim) AddPublicGroup(name string, usernames ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &group{id: s.newID("00G"), name: name, developerName: strings.ReplaceAll(name, " ", "_"), kind: "Regular", members: map[string]bool{}}
	for _, n := range usernames {
		u := s.prod.userByUsername(n)
		if u == nil {
			panic(fmt.Sprintf("sfsim: AddPublicGroup: no production user %q", n))
		}
		g.members[u.id] = true
	}
	s.prod.groups = append(s.prod.groups, g)
	return g.id
}

func (s *Sim) apexClassByID(id string) *apexClass {
	for _, c := range s.prod.apexClasses {
		if c.id == id {
			return c
		}
	}
	return nil
}

func (s *Sim) groupByID(id string) *group {
	for _, g := range s.prod.groups {
		if g.id == id {
			return g
		}
	}
	return nil
}

// UserState is a user as the inspection helpers report it.
type UserState struct {
	ID, LoginID, Username, Email, FirstName, LastName, Alias, ProfileID, UserType string
	TimeZoneSidKey, LocaleSidKey, EmailEncodingKey, LanguageLocaleKey             string
	IsActive, IsFrozen                                                            bool
}

// Users returns every user of production ("") or of a sandbox, in creation
// order, or nil when that org does not exist (yet).
func (s *Sim) Users(sandbox string) []UserState {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceByClock(s.opts.Now())
	o := s.orgs[orgKey(sandbox)]
	if o == nil {
		return nil
	}
	out := make([]UserState, len(o.users))
	for i, u := range o.users {
		out[i] = u.state()
	}
	return out
}

// User returns one user of production ("") or of a sandbox by username.
func (s *Sim) User(sandbox, username string) (UserState, bool) {
	for _, u := range s.Users(sandbox) {
		if strings.EqualFold(u.Username, username) {
			return u, true
		}
	}
	return UserState{}, false
}

// SandboxExists reports whether the sandbox org exists: a refresh of it
// completed and was activated.
func (s *Sim) SandboxExists(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceByClock(s.opts.Now())
	return s.orgs[orgKey(name)] != nil
}

// CollectionCall is one sObject Collections request the Sim received.
type CollectionCall struct {
	Sandbox string   // "" for production
	Method  string   // PATCH (update) or POST (create)
	Types   []string // the sObject types in the request
	Records int      // how many records it held
	Status  int      // the HTTP status answered
}

// CollectionCalls returns the sObject Collections requests received so far.
func (s *Sim) CollectionCalls() []CollectionCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.collectionCalls)
}

// FailNext makes the next n requests (token requests included) fail with
// status, e.g. 503 (SERVER_UNAVAILABLE) or 500 (UNKNOWN_EXCEPTION).
func (s *Sim) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCount, s.failStatus, s.failMessage = n, status, ""
}

// The messages of Salesforce's API limits, all 403 REQUEST_LIMIT_EXCEEDED
// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm):
// the org's daily total, which lasts until the 24-hour window frees calls,
// and the concurrent long-running requests, which clears in seconds.
const (
	LimitTotalRequests      = "TotalRequests Limit exceeded."
	LimitConcurrentRequests = "ConcurrentPerOrgLongTxn Limit exceeded"
)

// ExceedLimitNext makes the next n API requests fail as an exceeded API
// limit does: 403 REQUEST_LIMIT_EXCEEDED with the limit's message.
func (s *Sim) ExceedLimitNext(n int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCount, s.failStatus, s.failMessage = n, http.StatusForbidden, message
}

// StallRefresh, while on, keeps refreshes in Processing: they never complete.
func (s *Sim) StallRefresh(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = on
}

// EndRefreshWith, while status is not "", makes copies end in that status
// after Processing (Stopped, Suspended, Deleted…) instead of completing.
func (s *Sim) EndRefreshWith(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endRefreshWith = status
}

// RecordError is a per-record error as sObject Collections reports it.
type RecordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// FailRecord makes every create or update of the record with this id, or of
// the user with this username (its User and its UserLogin), fail with the
// given per-record error until ClearFaults.
func (s *Sim) FailRecord(idOrUsername, statusCode, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordFaults[strings.ToLower(idOrUsername)] = RecordError{StatusCode: statusCode, Message: message, Fields: []string{}}
}

// ExpireSessions ends every session: API calls get 401 INVALID_SESSION_ID
// until the client signs in again.
func (s *Sim) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// ClearFaults turns off FailNext, ExceedLimitNext, StallRefresh,
// EndRefreshWith and FailRecord.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCount, s.stall, s.endRefreshWith = 0, false, ""
	clear(s.recordFaults)
}

// takeFault answers the request with an injected failure, if one is due.
func (s *Sim) takeFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	// API limits count API requests; the token endpoint is not one.
	if s.failCount <= 0 || (s.failMessage != "" && r.URL.Path == tokenPath) {
		s.mu.Unlock()
		return false
	}
	s.failCount--
	status, limit := s.failStatus, s.failMessage
	s.mu.Unlock()
	code, msg := "UNKNOWN_EXCEPTION", "An unexpected error occurred (simulated)."
	switch {
	case limit != "":
		code, msg = "REQUEST_LIMIT_EXCEEDED", limit
	case status == http.StatusServiceUnavailable:
		code, msg = "SERVER_UNAVAILABLE", "Server temporarily unavailable (simulated)."
	}
	if r.URL.Path == tokenPath {
		writeOAuthError(w, status, strings.ToLower(code), msg)
	} else {
		writeError(w, newRESTError(status, code, msg))
	}
	return true
}

const maxBodyBytes = 8 << 20

var versionPattern = regexp.MustCompile(`^v\d{2,3}\.\d$`)

// ServeHTTP serves the token endpoint at /services/oauth2/token and each
// org's REST API under /org/<key>/services/data/vXX.X/.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.takeFault(w, r) {
		return
	}
	if r.URL.Path == tokenPath {
		s.serveToken(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/org/")
	key, rest, _ := strings.Cut(rest, "/")
	rest, ok2 := strings.CutPrefix(rest, "services/data/")
	version, resource, _ := strings.Cut(rest, "/")
	if !ok || !ok2 || !versionPattern.MatchString(version) {
		writeError(w, newRESTError(404, "NOT_FOUND", "The requested resource does not exist"))
		return
	}
	var body []byte
	if r.Method == http.MethodPatch || r.Method == http.MethodPost {
		var err error
		if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes)); err != nil {
			writeError(w, newRESTError(413, "REQUEST_TOO_LARGE", "The request body is too large."))
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceByClock(s.opts.Now())
	o := s.orgs[key]
	if o == nil {
		writeError(w, newRESTError(404, "NOT_FOUND", "The requested resource does not exist"))
		return
	}
	sess := s.authenticate(r, o)
	if sess == nil {
		writeError(w, newRESTError(401, "INVALID_SESSION_ID", "Session expired or invalid"))
		return
	}
	req := apiRequest{org: o, session: sess, version: version, body: body}
	var handle func(http.ResponseWriter, apiRequest)
	allowed := []string{http.MethodGet}
	switch {
	case resource == "query" || resource == "tooling/query":
		req.tooling = strings.HasPrefix(resource, "tooling/")
		req.soql = r.URL.Query().Get("q")
		handle = s.serveQuery
	case strings.HasPrefix(resource, "query/") || strings.HasPrefix(resource, "tooling/query/"):
		req.tooling = strings.HasPrefix(resource, "tooling/")
		req.locator = resource[strings.LastIndex(resource, "/")+1:]
		handle = s.serveNextPage
	case strings.HasPrefix(resource, "tooling/sobjects/SandboxInfo/"):
		req.id, req.object = strings.TrimPrefix(resource, "tooling/sobjects/SandboxInfo/"), "SandboxInfo"
		handle, allowed = s.serveRefresh, []string{http.MethodPatch, http.MethodGet}
		if r.Method == http.MethodGet {
			handle = s.serveRecord
		}
	case strings.HasPrefix(resource, "tooling/sobjects/SandboxProcess/"):
		req.id, req.object = strings.TrimPrefix(resource, "tooling/sobjects/SandboxProcess/"), "SandboxProcess"
		handle, allowed = s.serveSandboxProcess, []string{http.MethodPatch, http.MethodGet}
		if r.Method == http.MethodGet {
			handle = s.serveRecord
		}
	case resource == "composite/sobjects":
		req.method = r.Method
		handle, allowed = s.serveCollection, []string{http.MethodPatch, http.MethodPost}
	default:
		writeError(w, newRESTError(404, "NOT_FOUND", "The requested resource does not exist"))
		return
	}
	if !slices.Contains(allowed, r.Method) {
		list := strings.Join(allowed, ",")
		w.Header().Set("Allow", list)
		writeError(w, newRESTError(405, "METHOD_NOT_ALLOWED", fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", r.Method, list)))
		return
	}
	handle(w, req)
}

// apiRequest is what the REST handlers need of a request; they run with s.mu held.
type apiRequest struct {
	org     *org
	session *session
	version string
	tooling bool
	soql    string
	locator string
	id      string
	object  string // the sObject a record route names
	method  string
	body    []byte
}
