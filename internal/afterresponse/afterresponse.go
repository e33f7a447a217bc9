// Package afterresponse runs a Lambda function's work after the function
// has answered, so that the caller never waits for it: the authorizer's
// record of a token's last use, which must not delay the decision.
//
// Lambda freezes the execution environment once the runtime has asked for
// the next invocation, so a goroutine still running when the handler
// returns is stopped mid-flight: its request may be signed before the freeze
// and sent after a thaw minutes later, or never. Lambda's documented way to
// work after the response is an extension: "After receiving the function
// response from the runtime, Lambda returns the response to the client, even
// if extensions are still running", and the invocation ends only when every
// extension has asked for the next event
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html,
// "Invoke phase"). An internal extension is a goroutine of the function's own
// process that registers with the Extensions API during init. Extension is
// one: the handler queues work (After), Wrap hands the invocation's work over
// when the handler returns, and the extension runs it, then asks for the
// next event. The time it takes is billed, and the environment takes no
// other invocation until it is done (Lambda's PostRuntimeExtensionsDuration
// metric), but the caller already has its answer.
//
// The Lambda Runtime Interface Emulator registers internal extensions too,
// but answers an invoke only once they are done, so under the emulator the
// work is not hidden from the caller; in Lambda it is.
package afterresponse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"
)

// Work is what runs after the answer. Its ctx ends at the invocation's
// deadline; Work bounds itself more tightly if it should. (An alias, so a
// package that takes plain funcs, such as the authorizer, need not import
// this one.)
type Work = func(ctx context.Context)

// Name is the extension's name, as Lambda logs it.
const Name = "dcs-access-after-response"

// Extension is a Lambda internal extension that runs each invocation's
// queued work after the function has answered.
type Extension struct {
	base   string // http://<AWS_LAMBDA_RUNTIME_API>/2020-01-01/extension
	id     string // Lambda-Extension-Identifier
	client *http.Client
	exit   func(code int) // os.Exit; a test's own

	mu     sync.Mutex
	queued []Work
	// handed carries each invocation's work from the handler to the
	// extension: exactly one batch (maybe empty) per invocation.
	handed chan []Work
}

// Register registers the extension with the Extensions API of
// AWS_LAMBDA_RUNTIME_API (which Lambda sets) and starts it. Call it before
// the runtime starts (lambda.Start): Lambda closes registration when the
// runtime asks for its first invocation.
func Register(ctx context.Context) (*Extension, error) {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		return nil, errors.New("AWS_LAMBDA_RUNTIME_API is not set: not running in Lambda")
	}
	return RegisterAt(ctx, api, os.Exit)
}

// RegisterAt is Register on the Extensions API at runtimeAPI (host:port);
// exit ends the process when that API fails (Lambda then starts a new
// environment: without the extension asking for the next event, every
// invocation would time out).
func RegisterAt(ctx context.Context, runtimeAPI string, exit func(int)) (*Extension, error) {
	e := &Extension{
		base: "http://" + runtimeAPI + "/2020-01-01/extension",
		// No timeout: the next event comes when the next invocation does.
		client: &http.Client{Transport: &http.Transport{Proxy: nil}},
		exit:   exit,
		handed: make(chan []Work, 1),
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+"/register", bytes.NewReader([]byte(`{"events":["INVOKE"]}`)))
	if err != nil {
		return nil, err
	}
	// An internal extension may register for INVOKE only (SHUTDOWN is for
	// external ones).
	req.Header.Set("Lambda-Extension-Name", Name)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("register extension %s: %w", Name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("register extension %s: %s: %s", Name, resp.Status, body)
	}
	if e.id = resp.Header.Get("Lambda-Extension-Identifier"); e.id == "" {
		return nil, fmt.Errorf("register extension %s: no Lambda-Extension-Identifier in the answer", Name)
	}
	go e.loop()
	return e, nil
}

// After queues work to run once the current invocation has answered.
func (e *Extension) After(work Work) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.queued = append(e.queued, work)
}

// Wrap returns h, handing what it queued to the extension when it returns
// (a panic included: the runtime reports it as the invocation's error).
func Wrap[In, Out any](e *Extension, h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		defer e.handOver()
		return h(ctx, in)
	}
}

func (e *Extension) handOver() {
	e.mu.Lock()
	batch := e.queued
	e.queued = nil
	e.mu.Unlock()
	select {
	case e.handed <- batch:
	default:
		// The extension gave up waiting on an earlier invocation (it passed
		// its deadline, and Lambda resets the environment after a timeout).
		slog.Error("work after the response dropped: the extension is not waiting for it", "extension", Name, "works", len(batch))
	}
}

// event is what the Extensions API's next answers.
type event struct {
	EventType  string `json:"eventType"`
	DeadlineMs int64  `json:"deadlineMs"`
	RequestID  string `json:"requestId"`
}

// loop asks for each event, which also tells Lambda that the extension is
// done with the invocation before it, and runs that invocation's work.
func (e *Extension) loop() {
	for {
		ev, err := e.next()
		if err != nil {
			slog.Error("the Lambda Extensions API failed: ending the process so Lambda starts a new environment", "extension", Name, "error", err)
			e.exit(1)
			return
		}
		if ev.EventType != "INVOKE" {
			continue
		}
		ctx, cancel := context.WithDeadline(context.Background(), time.UnixMilli(ev.DeadlineMs))
		select {
		case batch := <-e.handed:
			for _, work := range batch {
				work(ctx)
			}
		case <-ctx.Done():
			// The handler did not return before the deadline.
		}
		cancel()
	}
}

func (e *Extension) next() (event, error) {
	req, err := http.NewRequest(http.MethodGet, e.base+"/event/next", nil)
	if err != nil {
		return event{}, err
	}
	req.Header.Set("Lambda-Extension-Identifier", e.id)
	resp, err := e.client.Do(req)
	if err != nil {
		return event{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return event{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return event{}, fmt.Errorf("next event: %s: %s", resp.Status, body)
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return event{}, fmt.Errorf("next event: %w", err)
	}
	return ev, nil
}

// Inline runs work at once, before the caller answers, bounded by timeout:
// for a process that Lambda does not freeze (the local server), where the
// answer may wait and what the work wrote is then there for the very next
// request.
func Inline(timeout time.Duration) func(Work) {
	return func(work Work) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		work(ctx)
	}
}
