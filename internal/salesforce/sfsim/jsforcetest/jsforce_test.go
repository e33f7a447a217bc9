package jsforcetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// setup names what to install when something the suite needs is missing.
const setup = `The jsforce suite needs Node.js >= 20 and the npm packages jsforce and jsonwebtoken:
    (cd internal/salesforce/sfsim/jsforcetest && npm ci)   # pinned in package-lock.json
make deps does it (scripts/deps.sh).`

// requireTools returns node, or fails the test with setup.
func requireTools(t *testing.T, dir string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is missing: install Node.js >= 20.\n%s", setup)
	}
	out, err := exec.Command(node, "-p", "process.versions.node").Output()
	major, _, _ := strings.Cut(strings.TrimSpace(string(out)), ".")
	if n, convErr := strconv.Atoi(major); err != nil || convErr != nil || n < 20 {
		t.Fatalf("node %s is too old or does not run (%v): install Node.js >= 20.\n%s", strings.TrimSpace(string(out)), err, setup)
	}
	for _, pkg := range []string{"jsforce", "jsonwebtoken"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s is missing: no %s.\n%s", pkg, filepath.Join(dir, "node_modules", pkg), setup)
		}
	}
	return node
}

const (
	consumerKey = "jsforcetest-consumer-key"
	apiVersion  = "62.0"
	// bulkUsers is more than two of Salesforce's 2,000-record query pages.
	bulkUsers = 4500
	// licenseType is the seeded sandboxes' (see startOrg).
	licenseType = "FULL"
)

// fixtureUser is a seeded production user.
type fixtureUser struct {
	Username string `json:"username"`
	ID       string `json:"id"`
}

// fixtureSandbox is a seeded SandboxInfo.
type fixtureSandbox struct {
	Name        string `json:"name"`
	ID          string `json:"id"`
	LicenseType string `json:"licenseType"`
	InstanceURL string `json:"instanceUrl"` // of its org once a refresh is activated
}

// fixtures is what the suites are told about the seeded org (SFSIM_FIXTURES).
type fixtures struct {
	APIVersion      string        `json:"apiVersion"`
	Admin           fixtureUser   `json:"admin"`
	ProdInstanceURL string        `json:"prodInstanceUrl"`
	ProdUsers       int           `json:"prodUsers"`
	Bulk            bulkFixture   `json:"bulk"`
	Deactivate      []fixtureUser `json:"deactivate"`
	Pinned          fixtureUser   `json:"pinned"`
	Rollback        fixtureUser   `json:"rollback"`
	Freeze          []fixtureUser `json:"freeze"`
	// Copied is a sandbox whose copy of production exists (refreshed and
	// activated before the suites run); CLI and Activate have never been
	// refreshed: the suites refresh them.
	Copied   fixtureSandbox `json:"copied"`
	CLI      fixtureSandbox `json:"cli"`
	Activate fixtureSandbox `json:"activate"`
}

// bulkFixture: the bulk users are Prefix + the index padded to Digits + Domain.
type bulkFixture struct {
	Prefix string `json:"prefix"`
	Digits int    `json:"digits"`
	Domain string `json:"domain"`
	Count  int    `json:"count"`
}

func (b bulkFixture) username(i int) string {
	return fmt.Sprintf("%s%0*d%s", b.Prefix, b.Digits, i, b.Domain)
}

// clock is the simulator's clock: real time, shifted back while the org is
// seeded, so that the seeded users and sandboxes are weeks old when the
// suites run, as the sandboxes a customer refreshes are.
type clock struct{ shift atomic.Int64 }

func (c *clock) Now() time.Time { return time.Now().Add(-time.Duration(c.shift.Load())) }

// org is the simulator the suites drive, seeded.
type org struct {
	sim      *sfsim.Sim
	url      string
	key      *rsa.PrivateKey
	keyFile  string
	fixtures fixtures
}

// startOrg starts sfsim on a loopback port and seeds production: an
// integration user (System Administrator), 4,500 more users, the users the
// Collections and UserLogin suites change, and three Full sandboxes, one of
// which is refreshed and activated so that its copy of production exists.
// Full, because the Tooling API reference announces that from Spring '25 a
// Developer or Developer Pro refresh needs an ActivationUserGroupId, which
// the CLI's refresh does not send unless asked. Query paging is sfsim's default on purpose: the suites check it.
func startOrg(t *testing.T) *org {
	t.Helper()
	clk := &clock{}
	clk.shift.Store(int64(40 * 24 * time.Hour))
	sim := sfsim.New(sfsim.Options{
		Now:        clk.Now,
		PendingFor: 50 * time.Millisecond, ProcessingFor: 200 * time.Millisecond, ActivatingFor: 50 * time.Millisecond,
	})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.SetBaseURL(srv.URL)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sim.TrustKey(consumerKey, &key.PublicKey)

	f := fixtures{APIVersion: apiVersion, ProdInstanceURL: sim.InstanceURL(sfsim.Production)}
	add := func(u sfsim.User) fixtureUser {
		f.ProdUsers++
		return fixtureUser{Username: u.Username, ID: sim.AddProdUsers(u)[0]}
	}
	f.Admin = add(sfsim.User{Username: "jsforce.admin@acme.example", Profile: "System Administrator"})
	f.Bulk = bulkFixture{Prefix: "bulk", Digits: 4, Domain: "@bulk.acme.example", Count: bulkUsers}
	bulk := make([]sfsim.User, bulkUsers)
	for i := range bulk {
		bulk[i] = sfsim.User{Username: f.Bulk.username(i)}
	}
	sim.AddProdUsers(bulk...)
	f.ProdUsers += bulkUsers
	f.Deactivate = []fixtureUser{add(sfsim.User{Username: "leaver.one@acme.example"}), add(sfsim.User{Username: "leaver.two@acme.example"})}
	f.Pinned = add(sfsim.User{Username: "workflow.user@acme.example", CannotDeactivate: "Default Workflow User"})
	f.Rollback = add(sfsim.User{Username: "rollback@acme.example"})
	f.Freeze = []fixtureUser{add(sfsim.User{Username: "freeze.one@acme.example"}), add(sfsim.User{Username: "freeze.two@acme.example"})}
	sandbox := func(name string) fixtureSandbox {
		return fixtureSandbox{Name: name, ID: sim.AddSandbox(name, licenseType), LicenseType: licenseType, InstanceURL: sim.InstanceURL(name)}
	}
	f.Copied, f.CLI, f.Activate = sandbox("jsfcopy"), sandbox("jsfcli"), sandbox("jsfact")
	clk.shift.Store(0)

	o := &org{sim: sim, url: srv.URL, key: key, fixtures: f}
	o.keyFile = writeKey(t, key)
	o.refreshAndActivate(t, f.Copied)
	return o
}

func writeKey(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	return testenv.PrivateKeyFile(t, key, "server.key")
}

// refreshAndActivate refreshes a sandbox as the integration user with
// AutoActivate, over HTTP as any client would, and waits for its org.
func (o *org) refreshAndActivate(t *testing.T, sb fixtureSandbox) {
	t.Helper()
	token, instance := o.signIn(t, o.fixtures.Admin.Username)
	body := strings.NewReader(`{"LicenseType":"` + sb.LicenseType + `","AutoActivate":true}`)
	req, err := http.NewRequest(http.MethodPatch, instance+"/services/data/v"+apiVersion+"/tooling/sobjects/SandboxInfo/"+sb.ID, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("seeding: PATCH SandboxInfo %s: status %d, want 204", sb.Name, resp.StatusCode)
	}
	if !testenv.Eventually(15*time.Second, func() bool { return o.sim.SandboxExists(sb.Name) }) {
		t.Fatalf("seeding: sandbox %s was not activated within 15 s: %+v", sb.Name, o.sim.SandboxProcesses(sb.Name))
	}
}

// signIn is the JWT bearer flow for a production user, for seeding.
func (o *org) signIn(t *testing.T, username string) (token, instanceURL string) {
	t.Helper()
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": consumerKey, "sub": username, "aud": sfsim.AudienceProduction, "exp": time.Now().Add(3 * time.Minute).Unix(),
	}).SignedString(o.key)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(o.url+"/services/oauth2/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("seeding: sign-in as %s: status %d (%v)", username, resp.StatusCode, err)
	}
	return body.AccessToken, body.InstanceURL
}

// env is what every suite is given: see sim.mjs.
func (o *org) env(t *testing.T) []string {
	t.Helper()
	f, err := json.Marshal(o.fixtures)
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		"SFSIM_URL=" + o.url,
		"SFSIM_KEY_FILE=" + o.keyFile,
		"SFSIM_CONSUMER_KEY=" + consumerKey,
		"SFSIM_USERNAME=" + o.fixtures.Admin.Username,
		"SFSIM_FIXTURES=" + string(f),
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}
}

// TestJsforceAgainstSfsim runs every *.test.mjs suite against one seeded
// simulator and reports each of their checks as a subtest.
func TestJsforceAgainstSfsim(t *testing.T) {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	node := requireTools(t, dir) // before starting anything
	suites, err := filepath.Glob(filepath.Join(dir, "*.test.mjs"))
	if err != nil || len(suites) == 0 {
		t.Fatalf("no *.test.mjs suites in %s (%v)", dir, err)
	}
	o := startOrg(t)
	env := o.env(t)
	for _, suite := range suites {
		name := strings.TrimSuffix(filepath.Base(suite), ".test.mjs")
		t.Run(name, func(t *testing.T) { runSuite(t, node, dir, filepath.Base(suite), env) })
	}
}

// check is one node:test test or suite, with its result.
type check struct {
	name        string
	reported    bool
	ok          bool
	failureType string
	message     string
	children    []*check
}

func (c *check) child(name string) *check {
	for _, k := range c.children {
		if k.name == name {
			return k
		}
	}
	k := &check{name: name}
	c.children = append(c.children, k)
	return k
}

// failed reports whether the check itself failed, not only its subtests.
func (c *check) failed() bool {
	return c.reported && !c.ok && c.failureType != "subtestsFailed"
}

// result is one line that report.mjs writes.
type result struct {
	Path        []string `json:"path"`
	OK          bool     `json:"ok"`
	FailureType string   `json:"failureType"`
	Message     string   `json:"message"`
}

// runSuite runs one node:test file and turns its checks into subtests.
func runSuite(t *testing.T, node, dir, file string, env []string) {
	resultsFile := filepath.Join(t.TempDir(), "results.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node,
		"--test-reporter=./report.mjs", "--test-reporter-destination="+resultsFile,
		"--test-reporter=spec", "--test-reporter-destination=stdout",
		file)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	ownGroup(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()

	root := &check{}
	var failed []string
	total := 0
	if data, err := os.ReadFile(resultsFile); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var r result
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || len(r.Path) == 0 {
				t.Errorf("report.mjs wrote %q: %v", sc.Text(), err)
				continue
			}
			c := root
			for _, p := range r.Path {
				c = c.child(p)
			}
			c.reported, c.ok, c.failureType, c.message = true, r.OK, r.FailureType, r.Message
			if c.failed() {
				failed = append(failed, strings.Join(r.Path, " > "))
			}
			if len(c.children) == 0 {
				total++
			}
		}
	}
	report(t, root)

	switch {
	case ctx.Err() != nil:
		t.Errorf("node %s did not finish within 3 minutes; its output:\n%s", file, out.String())
	case runErr != nil && len(failed) == 0:
		t.Errorf("node %s failed (%v) with no failing check; its output:\n%s", file, runErr, out.String())
	case runErr != nil:
		t.Logf("node's output:\n%s", out.String())
		t.Errorf("%d of %d checks of %s failed against sfsim:\n  - %s", len(failed), total, file, strings.Join(failed, "\n  - "))
	case total == 0:
		t.Errorf("node %s ran no checks; its output:\n%s", file, out.String())
	default:
		t.Logf("node's output:\n%s", out.String())
	}
}

// report makes each check a subtest, failing with its message.
func report(t *testing.T, c *check) {
	t.Helper()
	for _, k := range c.children {
		t.Run(k.name, func(t *testing.T) {
			switch {
			case !k.failed():
			case k.failureType == "testCodeFailure": // an assertion or a refused call: its message says it
				t.Error(k.message)
			default: // hookFailed, testTimeoutFailure, cancelledByParent…
				t.Errorf("%s (%s)", k.message, k.failureType)
			}
			report(t, k)
		})
	}
}
