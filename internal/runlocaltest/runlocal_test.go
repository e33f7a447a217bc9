package runlocaltest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/testenv"
)

// make run's own ports: what a developer gets.
const (
	apiPort = 3000
	ddbPort = 8765
	sfnPort = 8083
)

// runLocal is a running scripts/run-local.sh.
type runLocal struct {
	cmd    *exec.Cmd
	output *testenv.Buffer
	done   chan struct{} // closed when the script has exited
	err    error         // its exit, once done is closed
}

// startRunLocal starts the real scripts/run-local.sh, with its table, keys
// and logs in a temporary folder, and waits until the API answers.
func startRunLocal(t *testing.T) *runLocal {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "run-local.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DATA_DIR="+t.TempDir(), "ADDR=127.0.0.1:"+strconv.Itoa(apiPort),
		"DDB_LOCAL_PORT="+strconv.Itoa(ddbPort), "SFN_LOCAL_PORT="+strconv.Itoa(sfnPort))
	r := &runLocal{cmd: cmd, output: &testenv.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.output, r.output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // one group: the cleanup stops everything it started
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { r.stop(t) })

	deadline := time.Now().Add(3 * time.Minute) // the first run builds the binaries
	for {
		if status, _ := get(apiURL("/")); status == http.StatusOK {
			return r
		}
		select {
		case <-r.done:
			t.Fatalf("make run exited (%v) before serving; its output:\n%s", r.err, r.output)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("make run did not serve %s within 3 minutes; its output:\n%s", apiURL("/"), r.output)
		}
	}
}

// stop stops the script as `kill PID` does, then anything left in its group.
func (r *runLocal) stop(t *testing.T) {
	pgid := r.cmd.Process.Pid
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Errorf("make run still running 15 s after SIGTERM; its output:\n%s", r.output)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func apiURL(path string) string { return "http://127.0.0.1:" + strconv.Itoa(apiPort) + path }

func get(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func postJSON(t *testing.T, path, bearer, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "POST", apiURL(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// awsCall is one AWS JSON protocol request, as the SDKs send it.
type awsCall struct {
	port   int
	target string
}

func (c awsCall) do(t *testing.T, method, host, origin string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, "http://127.0.0.1:"+strconv.Itoa(c.port)+"/", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-amz-target")
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", c.target)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=local/20261201/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on port %d: %v", method, c.target, c.port, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

// ourNetns is the network namespace the test (and so make run) runs in.
func ourNetns(t *testing.T) string {
	t.Helper()
	ns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// interfaces lists the network interfaces that pid sees.
func interfaces(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "net", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n")[2:] {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out = append(out, name)
		}
	}
	return out
}

func TestMakeRunServesLoopbackOnly(t *testing.T) {
	requireNamespaces(t)
	if self, _ := os.Readlink("/proc/self"); self != strconv.Itoa(os.Getpid()) {
		t.Fatalf("/proc is not this PID namespace's (/proc/self is %q, the test is pid %d): scripts/with-services.sh mounts one", self, os.Getpid())
	}
	p := startPeer(t)
	// The positive control: from the peer, a port open on every interface
	// here answers, so the probes below can see one.
	if open, got := p.dial(t, net.JoinHostPort(hostAddr, listenEverywhere(t))); !open {
		t.Fatalf("the peer cannot reach a port listening on every interface here (%s): the probe proves nothing", got)
	}

	r := startRunLocal(t)
	pids := descendants(t, r.cmd.Process.Pid)
	found := listeners(t, pids)
	ports := map[int]bool{}
	for _, l := range found {
		ports[l.port] = true
	}
	for _, want := range []int{apiPort, ddbPort, sfnPort} {
		if !ports[want] {
			t.Fatalf("no process of make run listens on port %d (found %v): the enumeration is broken, so its checks prove nothing", want, found)
		}
	}

	t.Run("no port of make run answers from another machine", func(t *testing.T) {
		here := ourNetns(t)
		for _, l := range found {
			if l.netns == here && !l.ip.IsLoopback() {
				t.Errorf("%s listens on a non-loopback address of this machine's network", l)
			}
			if l.netns != here {
				if ifs := interfaces(t, l.nsPID); len(ifs) != 1 || ifs[0] != "lo" {
					t.Errorf("%s is in a network namespace with interfaces %v, want only lo", l, ifs)
				}
			}
			if open, got := p.dial(t, net.JoinHostPort(hostAddr, strconv.Itoa(l.port))); open {
				t.Errorf("%s answers the peer at %s:%d", l, hostAddr, l.port)
			} else if !strings.Contains(got, "refused") {
				t.Errorf("%s: the peer's connection to %s:%d failed with %q, want refused (is the veth up?)", l, hostAddr, l.port, got)
			}
		}
		t.Logf("make run's listeners: %v", found)
	})

	t.Run("the API answers on 127.0.0.1, with DynamoDB Local behind it", func(t *testing.T) {
		status, out := postJSON(t, "/local/sessions", "", `{"email":"ada@example.com","tenant":"acme"}`)
		session, _ := out["token"].(string)
		if status != http.StatusOK || session == "" {
			t.Fatalf("sign in: got %d %v", status, out)
		}
		if status, out := postJSON(t, "/api-tokens", session, `{"description":"through the forwarder"}`); status != http.StatusCreated {
			t.Fatalf("create a token (a DynamoDB transaction): got %d %v, want 201", status, out)
		}
	})

	t.Run("no web page can reach DynamoDB Local or the Step Functions stand-in", func(t *testing.T) {
		// DynamoDB Local grants CORS to any origin and ignores Host: a page the
		// developer visits could read and write the table by a cross-site
		// fetch, or after DNS rebinding.
		// Both answer a refused request 403; the service's own answers are
		// 200, or 400 for a bad input.
		ddb := awsCall{port: ddbPort, target: "DynamoDB_20120810.ListTables"}
		sfn := awsCall{port: sfnPort, target: "AWSStepFunctions.DescribeStateMachine"}
		for _, c := range []awsCall{ddb, sfn} {
			if status, _ := c.do(t, "POST", "", ""); status != http.StatusOK && status != http.StatusBadRequest {
				t.Fatalf("the positive control: %s on 127.0.0.1:%d: got %d, want the service's own answer (200 or 400)", c.target, c.port, status)
			}
			for _, tc := range []struct{ method, host, origin string }{
				{"OPTIONS", "", "http://evil.example"}, // a CORS preflight
				{"POST", "", "http://evil.example"},
				{"POST", "evil.example:" + strconv.Itoa(c.port), ""}, // DNS rebinding
				{"POST", "evil.example:" + strconv.Itoa(c.port), "http://evil.example:" + strconv.Itoa(c.port)},
			} {
				status, header := c.do(t, tc.method, tc.host, tc.origin)
				if status != http.StatusForbidden || header.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("%s %s on port %d with Host %q and Origin %q: got %d, Access-Control-Allow-Origin %q; want it refused",
						tc.method, c.target, c.port, tc.host, tc.origin, status, header.Get("Access-Control-Allow-Origin"))
				}
			}
		}
	})

	t.Run("when DynamoDB Local dies, make run says so and stops", func(t *testing.T) {
		var java []int
		for _, pid := range descendants(t, r.cmd.Process.Pid) {
			if comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm")); strings.TrimSpace(string(comm)) == "java" {
				java = append(java, pid)
			}
		}
		if len(java) != 1 {
			t.Fatalf("got java processes %v under make run, want DynamoDB Local's one", java)
		}
		if err := syscall.Kill(java[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Fatalf("make run still running 20 s after DynamoDB Local died; its output:\n%s", r.output)
		}
		var exit *exec.ExitError
		if !errors.As(r.err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("make run exited with %v, want a failure status", r.err)
		}
		if out := r.output.String(); !strings.Contains(out, "DynamoDB Local stopped") {
			t.Errorf("make run's output does not say that DynamoDB Local stopped:\n%s", out)
		}
		if _, err := get(apiURL("/")); err == nil {
			t.Errorf("%s still answers after make run stopped", apiURL("/"))
		}
	})
}
