// Package statemachinetest runs the real state machine definition
// (statemachine/sandbox-refresh.asl.json) on the local Step Functions stand-in
// (scripts/stepfunctions-local, Node + aws-local-stepfunctions), and drives it
// with the AWS SDK's Step Functions client, over the real AWS JSON 1.0 protocol.
//
// Lambda Task states are sent to a Lambda Invoke endpoint that the caller
// provides; LambdaInvokeHandler serves one in process, so a test can plug in
// fake steps (this package's tests) or the real pipeline handlers.
//
// The stand-in needs `npm ci` in scripts/stepfunctions-local (make deps runs
// it). Without it, or without node, Start fails the test with instructions: it
// never skips.
package statemachinetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// Paths relative to the repository root.
const (
	DefinitionRelPath = "statemachine/sandbox-refresh.asl.json"
	ServerRelDir      = "scripts/stepfunctions-local"
)

// Config configures one stand-in server.
type Config struct {
	// LambdaEndpoint is the base URL of the Lambda Invoke API that Lambda
	// Task states are sent to (for example an httptest server of
	// LambdaInvokeHandler).
	LambdaEndpoint string
	// WaitScale, RetryScale and TimeoutScale multiply Wait durations, Retry
	// intervals and the top-level TimeoutSeconds; 0 means 1 (real time).
	WaitScale, RetryScale, TimeoutScale float64
	// StatusEventsEndpoint, when set, receives a POST of a "Step Functions
	// Execution Status Change" event (StatusEvent) each time an execution ends
	// (for example the URL of a StatusEventReceiver).
	StatusEventsEndpoint string
}

// Server is a running stand-in.
type Server struct {
	Endpoint string
	Client   *sfn.Client
}

// RepoRoot returns the nearest directory holding go.mod, from the working
// directory up.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("find repository root: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start runs a stand-in on a free loopback port until the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), ServerRelDir)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "aws-local-stepfunctions", "package.json")); err != nil {
		t.Fatalf("the Step Functions stand-in is not installed: run `npm ci` in %s (`make deps` does it)", dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is missing: install Node.js >= 20 (scripts/deps.sh checks it)")
	}
	env := append(os.Environ(), "PORT=0", "LAMBDA_ENDPOINT="+cfg.LambdaEndpoint, "STATUS_EVENTS_ENDPOINT="+cfg.StatusEventsEndpoint)
	for name, v := range map[string]float64{"WAIT_SCALE": cfg.WaitScale, "RETRY_SCALE": cfg.RetryScale, "TIMEOUT_SCALE": cfg.TimeoutScale} {
		if v != 0 {
			env = append(env, name+"="+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = sysProcAttr()
	log := &lockedLog{}
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the stand-in: %v", err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("stepfunctions-local output:\n%s", log.String())
		}
	})

	ready := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			_, _ = fmt.Fprintln(log, line)
			if u, ok := strings.CutPrefix(line, "listening on "); ok {
				ready <- u
			}
		}
		_ = cmd.Wait()
	}()
	select {
	case endpoint := <-ready:
		return &Server{Endpoint: endpoint, Client: sfn.NewFromConfig(awsconfig.Local(endpoint))}
	case <-exited:
		t.Fatalf("the stand-in exited during startup:\n%s", log.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("the stand-in did not print 'listening on' within 20 s:\n%s", log.String())
	}
	return nil
}

var placeholder = regexp.MustCompile(`\$\{[A-Za-z0-9_.:]+\}`)

// Definition returns the repository's definition with its DefinitionSubstitutions
// placeholders filled, as CloudFormation does; a placeholder left without a value
// fails the test.
func Definition(t testing.TB, subs map[string]string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(RepoRoot(t), DefinitionRelPath))
	if err != nil {
		t.Fatal(err)
	}
	def := placeholder.ReplaceAllStringFunc(string(raw), func(p string) string {
		if v, ok := subs[p[2:len(p)-1]]; ok {
			return v
		}
		return p
	})
	if left := placeholder.FindAllString(def, -1); len(left) > 0 {
		t.Fatalf("no substitution for %v", left)
	}
	return def
}

// CreateStateMachine creates a state machine from a definition and returns its ARN.
func (s *Server) CreateStateMachine(t testing.TB, name, definition string) string {
	t.Helper()
	out, err := s.Client.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name:       aws.String(name),
		Definition: aws.String(definition),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/sandbox-refresh"),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine %s: %v", name, err)
	}
	return aws.ToString(out.StateMachineArn)
}

// WaitForEnd polls DescribeExecution until the execution is no longer RUNNING.
func (s *Server) WaitForEnd(t testing.TB, executionArn string, timeout time.Duration) *sfn.DescribeExecutionOutput {
	t.Helper()
	var out *sfn.DescribeExecutionOutput
	var err error
	ended := testenv.Eventually(timeout, func() bool {
		out, err = s.Client.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionArn)})
		return err != nil || out.Status != types.ExecutionStatusRunning
	})
	switch {
	case err != nil:
		t.Fatalf("DescribeExecution: %v", err)
	case !ended:
		t.Fatalf("execution %s still RUNNING after %v", executionArn, timeout)
	}
	return out
}

// History returns the whole execution history, page by page.
func (s *Server) History(t testing.TB, executionArn string) []types.HistoryEvent {
	t.Helper()
	var events []types.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(s.Client, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(executionArn), MaxResults: 100})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		events = append(events, page.Events...)
	}
	return events
}

// InvokeFunc handles one Lambda invocation of function with its JSON payload.
type InvokeFunc func(ctx context.Context, function string, payload json.RawMessage) (any, error)

// LambdaInvokeHandler serves the Lambda Invoke API
// (POST /2015-03-31/functions/{name}/invocations) in process. A returned error
// becomes a function error whose errorType is the error's Go type name, as
// aws-lambda-go reports it, so Retry/Catch see the same names as in AWS.
func LambdaInvokeHandler(invoke InvokeFunc) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		result, err := invoke(r.Context(), r.PathValue("name"), payload)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": err.Error(), "errorType": errorType(err)})
			return
		}
		_ = json.NewEncoder(w).Encode(result)
	})
	return mux
}

// errorType is aws-lambda-go's name for an error: its type's name, without the pointer.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// lockedLog collects the server's output for failure messages.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// IsError reports whether err is the Step Functions API error T (for example
// *types.ExecutionAlreadyExists).
func IsError[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// PipelineStepsARN is the Lambda ARN the local stacks give the definition's
// ${PipelineStepsFunctionArn}; the stand-in invokes it by its name.
const PipelineStepsARN = "arn:aws:lambda:us-east-1:123456789012:function:PipelineStepsFunction"

// StartForLocalServer runs a stand-in for a local server that will listen at
// base: Lambda tasks go to its /local/lambda, status changes to its
// /local/events, and waits and retries are scaled down for tests. It creates
// the sandbox-refresh state machine from the repository's definition and
// returns the stand-in and the machine's ARN.
func StartForLocalServer(t testing.TB, base string) (*Server, string) {
	t.Helper()
	s := Start(t, Config{
		LambdaEndpoint: base + "/local/lambda", StatusEventsEndpoint: base + "/local/events",
		WaitScale: 0.001, RetryScale: 0.001,
	})
	arn := s.CreateStateMachine(t, "sandbox-refresh", Definition(t, map[string]string{"PipelineStepsFunctionArn": PipelineStepsARN}))
	return s, arn
}
