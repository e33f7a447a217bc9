package browsertest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/console"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/localserver"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
	"github.com/dcs-access/dcs-access/internal/statemachinetest"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

const chromiumPath = "/usr/bin/chromium"

// setup names what to install when something the browser test needs is missing.
const setup = `The browser tests need Debian's Chromium and npm playwright-core:
    apt-get update && apt-get install -y chromium      # as root; gives ` + chromiumPath + `
    (cd internal/console/browsertest && npm ci)        # playwright-core and axe-core, pinned in package-lock.json
make deps does both (scripts/deps.sh). Playwright's own browser download cannot work here: the
tests launch ` + chromiumPath + ` (override with CHROMIUM=/path/to/chromium).`

// requireTools returns node and chromium, or fails the test with setup.
func requireTools(t *testing.T, dir string) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is missing: install Node.js >= 20.\n%s", setup)
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = chromiumPath
	}
	if fi, err := os.Stat(chromium); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("Chromium is missing: no executable %s.\n%s", chromium, setup)
	}
	for _, pkg := range []string{"playwright-core", "axe-core"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s is missing: no %s.\n%s", pkg, filepath.Join(dir, "node_modules", pkg), setup)
		}
	}
	return node, chromium
}

func key(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// stack is make run's stack, served on a loopback port with the console at "/".
type stack struct {
	URL        string
	Server     *localserver.Server
	SessionKey *ecdsa.PrivateKey // signs the local sessions the authorizer accepts
}

// startStack starts DynamoDB Local's fresh table, the Step Functions
// stand-in running the real definition with waits scaled down, the
// simulators, the pipeline steps in this process, and the local server.
func startStack(t *testing.T) *stack {
	t.Helper()
	client, table := testenv.Table(t)
	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	sfn, arn := statemachinetest.StartForLocalServer(t, base)
	sessionKey := key(t)
	srv, err := localserver.NewWith(dynamo.New(client, table, time.Now), key(t), sessionKey, localserver.Config{
		BaseURL: base, StepFunctionsEndpoint: sfn.Endpoint, StateMachineARN: arn,
		Salesforce: sfsim.Options{StepPerPoll: true, IntervalScale: 1e-9}, // runs back to back: Salesforce's wait between refreshes is tested elsewhere
	})
	if err != nil {
		t.Fatal(err)
	}
	mountConsole(t, srv)
	hs.Config.Handler = srv
	hs.Start()
	t.Cleanup(hs.Close)
	return &stack{URL: base, Server: srv, SessionKey: sessionKey}
}

// mountConsole mounts the console at "/" as the local server does, unless
// it already does (then what is tested is its own wiring).
func mountConsole(t *testing.T, srv *localserver.Server) {
	t.Helper()
	rec := httptest.NewRecorder()
	// The local server answers only requests addressed to itself on loopback.
	req := httptest.NewRequest("GET", "http://127.0.0.1:3000/", nil)
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3000}))
	srv.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK && strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		return
	}
	g, ok := srv.Handler.(*localserver.Gateway)
	if !ok {
		t.Fatalf("the local server's handler is a %T, not a *localserver.Gateway: mount the console there", srv.Handler)
	}
	h, err := console.Handler(console.Local())
	if err != nil {
		t.Fatal(err)
	}
	g.Public("/", h)
}

// lineLog collects the driver's output and echoes it as it comes, so a
// hanging step is visible in go test -v.
type lineLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lineLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.WriteString(line + "\n")
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// screenshotDir is $CONSOLE_SCREENSHOTS (make screenshots points it at
// docs/screenshots), else a temporary folder.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CONSOLE_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runDriver runs a Node script of this folder with env added, echoing its
// output as it comes (so a hanging step shows in go test -v), and fails the
// test unless it exits 0 after printing "all steps passed".
func runDriver(t *testing.T, script string, env ...string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	node, chromium := requireTools(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CHROMIUM="+chromium), env...)
	cmd.WaitDelay = 5 * time.Second
	ownGroup(cmd)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	log := &lineLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			log.add(sc.Text())
			t.Log(sc.Text())
		}
	}()
	err = cmd.Run()
	_ = pw.Close()
	<-done
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s did not finish within 5 minutes", script)
	case err != nil:
		t.Fatalf("%s failed (%v)", script, err)
	case !strings.Contains("\n"+log.String(), "\nall steps passed\n"):
		t.Fatalf("%s exited 0 without finishing its steps", script)
	}
}

// planFields lists the JSON path of every field a person sets in a refresh
// plan (plans.Plan but the server's updatedAt and updatedBy), an element of
// a list as [0]: "salesforce.consumerKey", "nonProdUsers[0].email". The
// console's plan form must have a control for each.
func planFields() []string {
	var paths []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			ft := t.Field(i).Type
			switch p := prefix + name; {
			case name == "" || name == "-" || p == "updatedAt" || p == "updatedBy":
			case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]():
				walk(ft, p+".")
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), p+"[0].")
			default:
				paths = append(paths, p)
			}
		}
	}
	walk(reflect.TypeFor[plans.Plan](), "")
	return paths
}

// auditActions is every action the audit trail records, comma-separated:
// what the console's Action filter must offer, and name.
func auditActions() string {
	var names []string
	for _, a := range audit.Actions() {
		names = append(names, string(a))
	}
	return strings.Join(names, ",")
}

// keyConsumer is the consumer key under which the simulated production org
// trusts the integration user's key that the console stores for uat2.
const keyConsumer = "console-stored-key"

// integrationKey writes a new RSA private key in PEM to a file, as an admin
// has it, and returns the file and the key.
func integrationKey(t *testing.T) (string, *rsa.PrivateKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.PrivateKeyFile(t, k, "integration-user.pem"), k
}

// TestConsoleInChromium runs console.test.mjs: every step of issue 5's test
// list, and issues 12 and 13's console (scopes, last use, expiry warnings,
// rotation, a plan's pipeline secrets, the audit trail), in a real headless Chromium, against
// the local stack, with the local sign-in. The simulated production org has
// a second sandbox, uat2, for the plan the test creates in the console, and
// trusts the key that the test then stores for it from the console.
func TestConsoleInChromium(t *testing.T) {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	requireTools(t, dir) // before starting anything
	s := startStack(t)
	s.Server.Salesforce.AddSandbox("uat2", "FULL")
	keyFile, k := integrationKey(t)
	s.Server.Salesforce.TrustKey(keyConsumer, &k.PublicKey)
	runDriver(t, "console.test.mjs", "BASE_URL="+s.URL, "SCREENSHOT_DIR="+screenshotDir(t), "PLAN_FIELDS="+strings.Join(planFields(), ","),
		"SALESFORCE_KEY_FILE="+keyFile, "SALESFORCE_KEY_CONSUMER="+keyConsumer, "AUDIT_ACTIONS="+auditActions())
}
