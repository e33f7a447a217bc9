// Package lambdatest runs built Lambda function binaries (each function's
// bootstrap) under the AWS Lambda Runtime Interface Emulator, so that tests
// and benchmarks exercise the artifact that is deployed: the runtime API, the
// environment wiring and the cold start, not only the handler.
package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dcs-access/dcs-access/internal/testenv"
)

// EmulatorRelPath is where scripts/install-rie.sh installs the emulator,
// relative to the repository root.
const EmulatorRelPath = ".local/tools/bin/aws-lambda-rie"

// Functions are the logical ids of template.yaml's functions, which are also
// the folders `make build` puts their bootstraps in.
var Functions = []string{
	"CreateTokenFunction",
	"ListTokensFunction",
	"DeleteTokenFunction",
	"RevokeLeakedTokensFunction",
	"WhoAmIFunction",
	"AuthorizerFunction",
	"IntrospectTokenFunction",
	"PublicKeysFunction",
	"SandboxPlansFunction",
	"SandboxRefreshesFunction",
	"SandboxRefreshEventsFunction",
	"PipelineStepsFunction",
	"ConsoleFunction",
	"PipelineSecretsFunction",
	"DcsTokenRotationFunction",
	"ExpiryNoticesFunction",
	"ListAuditEventsFunction",
	"PublishAuditEventsFunction",
	"TenantPolicyFunction",
}

// RepoRoot returns the root of the module: the nearest directory holding
// go.mod, from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// EmulatorPath returns the emulator installed under root, or an error that
// says how to install it.
func EmulatorPath(root string) (string, error) {
	path := filepath.Join(root, EmulatorRelPath)
	if info, err := os.Stat(path); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		return "", fmt.Errorf("the Lambda Runtime Interface Emulator is not installed at %s: run `bash scripts/install-rie.sh` "+
			"(outside scripts/with-services.sh: it downloads from the Go module proxy)", path)
	}
	return path, nil
}

// Build builds every function's bootstrap into dir with `make build`, so with
// exactly the flags of a deployment build, for this machine's architecture
// (the emulator runs the binary here; AWS runs the arm64 build of the same
// source). It returns each bootstrap's path by logical id.
func Build(ctx context.Context, root, dir string) (map[string]string, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("the emulator runs Linux binaries only, and this is %s", runtime.GOOS)
	}
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "build", "GOOS=linux", "GOARCH="+runtime.GOARCH, "BUILD="+dir)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("make build: %w\n%s", err, out)
	}
	paths := make(map[string]string, len(Functions))
	for _, name := range Functions {
		p := filepath.Join(dir, name, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("make build did not produce %s: %w", p, err)
		}
		paths[name] = p
	}
	return paths, nil
}

// Config is what one emulator runs.
type Config struct {
	Emulator  string   // path of aws-lambda-rie
	Bootstrap string   // path of the function's bootstrap
	Env       []string // the function's whole environment, KEY=value; nothing is inherited
}

// Function is one emulator running one bootstrap. Its invocations are
// serialized: the emulator crashes on overlapping invokes.
type Function struct {
	cmd     *exec.Cmd
	url     string
	started time.Time
	ready   time.Duration // process start to listening
	exited  chan struct{}
	waitErr error
	logs    *testenv.Buffer
	client  *http.Client

	mu        sync.Mutex // one invoke at a time
	coldStart time.Duration
	abandoned error // an invoke given up on mid-flight: the emulator may still run it
}

// Start starts the emulator on two free loopback ports (its invoke API, and
// the runtime API it offers the bootstrap) and returns once it accepts
// invokes. The bootstrap itself starts on the first invoke, as in Lambda.
//
// A port is found free and then handed to the emulator, so another process
// can take it in between (the emulator then panics with "failed to listen"
// and exit status 2); such an attempt is retried on fresh ports.
func Start(ctx context.Context, cfg Config) (*Function, error) {
	var err error
	for attempt := 1; attempt <= 4; attempt++ {
		var f *Function
		if f, err = startOnce(ctx, cfg); err == nil || !errors.Is(err, errPortTaken) {
			return f, err
		}
	}
	return nil, err
}

// errPortTaken is an attempt lost to another process binding a chosen port.
var errPortTaken = errors.New("a chosen port was taken before the emulator bound it")

func startOnce(ctx context.Context, cfg Config) (*Function, error) {
	invokeAddr, err := pickAddr()
	if err != nil {
		return nil, err
	}
	// Without a flag the runtime API is on the fixed port 9001, so two
	// emulators would collide.
	runtimeAddr, err := pickAddr()
	if err != nil {
		return nil, err
	}
	bootstrap, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("bootstrap path: %w", err)
	}
	// The first argument after the flags is the command the emulator runs;
	// a further one would be taken as the handler name.
	cmd := exec.Command(cfg.Emulator,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		bootstrap)
	// The emulator passes its own environment on to the bootstrap; an empty
	// Env must not fall back to the test's environment.
	cmd.Env = append([]string{}, cfg.Env...)
	cmd.Dir = filepath.Dir(bootstrap) // as /var/task is in Lambda
	logs := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = sysProcAttr()
	f := &Function{
		cmd:    cmd,
		url:    "http://" + invokeAddr + "/2015-03-31/functions/function/invocations",
		exited: make(chan struct{}),
		logs:   logs,
		// No proxy: the emulator is on loopback, and the environment may name one.
		client: &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
	}
	f.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Emulator, err)
	}
	go func() {
		f.waitErr = cmd.Wait()
		close(f.exited)
	}()
	// Both servers listen before the first invoke; waiting for the runtime
	// API too catches the emulator that lost that port.
	for _, addr := range []string{invokeAddr, runtimeAddr} {
		if err := f.awaitListening(ctx, addr); err != nil {
			_ = f.Close()
			if strings.Contains(f.Logs(), "failed to listen") {
				err = fmt.Errorf("%w: %v", errPortTaken, err)
			}
			return nil, fmt.Errorf("%w\nemulator output:\n%s", err, f.Logs())
		}
	}
	f.ready = time.Since(f.started)
	return f, nil
}

// awaitListening waits until the emulator itself listens on addr. A dial
// would not do: it also succeeds when another process holds the port, and
// the emulator then dies a moment later.
func (f *Function) awaitListening(ctx context.Context, addr string) error {
	for {
		owned, err := listensOn(f.cmd.Process.Pid, addr)
		if err != nil {
			return err
		}
		if owned {
			return nil
		}
		select {
		case <-f.exited:
			return fmt.Errorf("the emulator exited before it listened on %s: %v", addr, f.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("the emulator is not listening on %s: %w", addr, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// listensOn tells whether process pid holds a TCP socket listening on addr
// (127.0.0.1:port), from Linux's /proc: the socket's inode in /proc/net/tcp
// among the process's descriptors. The emulator runs only on Linux.
func listensOn(pid int, addr string) (bool, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return false, err
	}
	table, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false, fmt.Errorf("read the socket table: %w", err)
	}
	local := fmt.Sprintf("0100007F:%04X", n) // 127.0.0.1 in the kernel's byte order
	var inodes []string
	for _, line := range strings.Split(string(table), "\n")[1:] {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		if f := strings.Fields(line); len(f) > 9 && f[1] == local && f[3] == "0A" { // 0A is LISTEN
			inodes = append(inodes, "socket:["+f[9]+"]")
		}
	}
	if len(inodes) == 0 {
		return false, nil
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false, nil // the process has exited; the caller sees it
	}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && slices.Contains(inodes, target) {
			return true, nil
		}
	}
	return false, nil
}

// Invoke sends payload to the function and returns its response. A handler
// error is a *FunctionError, an invoke the emulator could not complete (a
// failed cold start, a crash, a timeout) an *EmulatorError.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.exited:
		return nil, fmt.Errorf("the emulator has exited: %v", f.waitErr)
	default:
	}
	if f.abandoned != nil {
		// Another invoke now would overlap the one still running, which crashes the emulator.
		return nil, fmt.Errorf("an earlier invoke was abandoned (%w); start a new emulator", f.abandoned)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	sent := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		f.abandoned = err
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.abandoned = err
		return nil, fmt.Errorf("invoke: read response: %w", err)
	}
	if f.coldStart == 0 {
		f.coldStart = f.ready + time.Since(sent)
	}
	// A timed-out invoke is a 200 whose body is this sentence.
	if resp.StatusCode != http.StatusOK || bytes.HasPrefix(body, []byte("Task timed out after ")) {
		return body, &EmulatorError{StatusCode: resp.StatusCode, Body: body}
	}
	if fe := asFunctionError(body); fe != nil {
		return body, fe
	}
	return body, nil
}

// ColdStart is the time from the emulator's process start to the end of the
// first invoke's response, which includes the bootstrap's start and init (the
// emulator starts the bootstrap on the first invoke, as Lambda does on a cold
// one), or zero before the first invoke. Time the caller spent between Start
// returning and the first Invoke is not counted.
func (f *Function) ColdStart() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.coldStart
}

// Logs returns what the emulator and the bootstrap have written so far.
func (f *Function) Logs() string { return f.logs.String() }

// Close stops the emulator, which kills the bootstrap first; a hung emulator
// is killed after a few seconds (the bootstrap then exits on its own when its
// runtime API connection breaks).
func (f *Function) Close() error {
	select {
	case <-f.exited:
		return nil
	default:
	}
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.exited:
		return nil
	case <-time.After(3 * time.Second):
	}
	_ = f.cmd.Process.Kill()
	select {
	case <-f.exited:
		return nil
	case <-time.After(3 * time.Second):
		return fmt.Errorf("emulator pid %d did not exit after SIGKILL", f.cmd.Process.Pid)
	}
}

// FunctionError is an error the function's handler returned: the invoke
// worked and the function answered with an error (as the Lambda Invoke API
// does with X-Amz-Function-Error; the emulator drops that header, so the
// response body's shape tells).
type FunctionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// asFunctionError reads a Lambda error payload: errorMessage and errorType,
// and at most a stack trace besides.
func asFunctionError(body []byte) *FunctionError {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil
	}
	if _, ok := fields["errorMessage"]; !ok {
		return nil
	}
	for k := range fields {
		if k != "errorMessage" && k != "errorType" && k != "stackTrace" {
			return nil
		}
	}
	var fe FunctionError
	if json.Unmarshal(body, &fe) != nil {
		return nil
	}
	return &fe
}

// EmulatorError is an invoke that did not reach a handler's answer: the
// emulator answers 502 (empty body) when the function's cold start failed or
// the process crashed, and 200 "Task timed out after N.00 seconds" when the
// invoke outlived AWS_LAMBDA_FUNCTION_TIMEOUT.
type EmulatorError struct {
	StatusCode int
	Body       []byte
}

func (e *EmulatorError) Error() string {
	return fmt.Sprintf("emulator answered HTTP %d: %q", e.StatusCode, e.Body)
}

// pickAddr chooses the emulator's ports; a test replaces it to lose a port
// (so that test must not run in parallel with the others).
var pickAddr = freeLoopbackAddr

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}
