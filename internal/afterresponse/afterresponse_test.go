package afterresponse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/afterresponse"
)

// extensionsAPI is a stand-in for Lambda's Extensions API: it records the
// registration, and answers each next with the event the test sends, after
// noting that the extension asked (which, to Lambda, ends the invocation
// before).
type extensionsAPI struct {
	*httptest.Server
	mu       sync.Mutex
	register *http.Request
	body     string
	asked    chan string // the Lambda-Extension-Identifier of each next
	events   chan string // what the next next answers
	done     chan struct{}
}

func newExtensionsAPI(t *testing.T) *extensionsAPI {
	t.Helper()
	api := &extensionsAPI{asked: make(chan string, 10), events: make(chan string), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2020-01-01/extension/register", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		api.mu.Lock()
		api.register, api.body = r, string(b)
		api.mu.Unlock()
		w.Header().Set("Lambda-Extension-Identifier", "ext-id-1")
		_, _ = w.Write([]byte(`{"functionName":"f","functionVersion":"$LATEST","handler":"bootstrap"}`))
	})
	mux.HandleFunc("GET /2020-01-01/extension/event/next", func(w http.ResponseWriter, r *http.Request) {
		api.asked <- r.Header.Get("Lambda-Extension-Identifier")
		select {
		case ev := <-api.events:
			_, _ = w.Write([]byte(ev))
		case <-api.done: // the test is over: the extension's loop ends
			w.WriteHeader(http.StatusGone)
		}
	})
	api.Server = httptest.NewServer(mux)
	t.Cleanup(api.Close)
	t.Cleanup(func() { close(api.done) }) // first: releases the pending next
	return api
}

// exits records the extension's calls of exit; the test checks it before
// it ends (the loop calls exit once the stand-in is gone).
func exits() (func(int), func(t *testing.T)) {
	ch := make(chan int, 10)
	return func(code int) { ch <- code }, func(t *testing.T) {
		t.Helper()
		select {
		case code := <-ch:
			t.Errorf("the extension called exit(%d), want it running", code)
		default:
		}
	}
}

func invokeEvent(id string) string {
	return fmt.Sprintf(`{"eventType":"INVOKE","deadlineMs":%d,"requestId":%q}`, time.Now().Add(time.Minute).UnixMilli(), id)
}

// waitAsked returns once the extension has asked for its next event.
func (api *extensionsAPI) waitAsked(t *testing.T) {
	t.Helper()
	select {
	case id := <-api.asked:
		if id != "ext-id-1" {
			t.Errorf("next sent Lambda-Extension-Identifier %q, want the one registration gave", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the extension did not ask for its next event")
	}
}

// notAsked fails when the extension asks for its next event within d.
func (api *extensionsAPI) notAsked(t *testing.T, d time.Duration, why string) {
	t.Helper()
	select {
	case <-api.asked:
		t.Fatalf("the extension asked for its next event %s", why)
	case <-time.After(d):
	}
}

// registered is an extension registered with a stand-in Extensions API; the
// test fails if the extension ends the process before the test does.
func registered(t *testing.T) (*extensionsAPI, *afterresponse.Extension) {
	t.Helper()
	api := newExtensionsAPI(t)
	exit, noExit := exits()
	ext, err := afterresponse.RegisterAt(t.Context(), strings.TrimPrefix(api.URL, "http://"), exit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { noExit(t) }) // before the stand-in closes, which ends the loop
	return api, ext
}

func TestTheExtensionRunsEachInvocationsWorkAfterTheHandlerThenEndsTheInvocation(t *testing.T) {
	api, ext := registered(t)
	api.mu.Lock()
	name, body := api.register.Header.Get("Lambda-Extension-Name"), api.body
	api.mu.Unlock()
	if name != afterresponse.Name || body != `{"events":["INVOKE"]}` {
		t.Errorf("registered as %q with %s, want %q for INVOKE only (internal extensions may not take SHUTDOWN)", name, body, afterresponse.Name)
	}
	api.waitAsked(t) // init done

	var mu sync.Mutex
	var order []string
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	release := make(chan struct{})
	handler := afterresponse.Wrap(ext, func(ctx context.Context, in string) (string, error) {
		ext.After(func(ctx context.Context) {
			note("work started")
			if _, ok := ctx.Deadline(); !ok {
				t.Error("the work's ctx has no deadline, want the invocation's")
			}
			<-release
			note("work done")
		})
		note("handler answered")
		return "answer to " + in, nil
	})

	api.events <- invokeEvent("req-1")
	out, err := handler(t.Context(), "req-1")
	if out != "answer to req-1" || err != nil {
		t.Fatalf("got (%q, %v), want the handler's own answer", out, err)
	}
	api.notAsked(t, 100*time.Millisecond, "while the invocation's work still ran: Lambda would freeze it mid-flight")
	close(release)
	api.waitAsked(t)
	mu.Lock()
	got := strings.Join(order, ", ")
	mu.Unlock()
	if want := "handler answered, work started, work done"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}

	// An invocation that queued nothing ends at once; the work of the one
	// before is not run again.
	api.events <- invokeEvent("req-2")
	if _, err := afterresponse.Wrap(ext, func(context.Context, string) (string, error) { return "", nil })(t.Context(), "req-2"); err != nil {
		t.Fatal(err)
	}
	api.waitAsked(t)
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 3 {
		t.Errorf("got %q, want the first invocation's work run once", order)
	}
}

func TestAHandlerThatPanicsStillHandsOverItsWork(t *testing.T) {
	api, ext := registered(t)
	api.waitAsked(t)
	ran := make(chan struct{})
	api.events <- invokeEvent("req-1")
	func() {
		defer func() { _ = recover() }() // as the runtime does
		afterresponse.Wrap(ext, func(context.Context, string) (string, error) {
			ext.After(func(context.Context) { close(ran) })
			panic("boom")
		})(t.Context(), "req-1")
	}()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("the work queued before the panic never ran")
	}
	api.waitAsked(t)
}

func TestARefusedRegistrationFailsTheColdStart(t *testing.T) {
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]string{"errorType": "Extension.RegistrationClosed", "errorMessage": "Extension registration closed already"})
	}))
	t.Cleanup(refuse.Close)
	_, err := afterresponse.RegisterAt(t.Context(), strings.TrimPrefix(refuse.URL, "http://"), func(int) {})
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "RegistrationClosed") {
		t.Fatalf("got %v, want the refusal, with Lambda's reason", err)
	}
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	if _, err := afterresponse.Register(t.Context()); err == nil {
		t.Fatal("Register outside Lambda: got no error, want one")
	}
}

func TestAFailingExtensionsAPIEndsTheProcess(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/register") {
			w.Header().Set("Lambda-Extension-Identifier", "ext-id-1")
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(api.Close)
	exited := make(chan int, 1)
	if _, err := afterresponse.RegisterAt(t.Context(), strings.TrimPrefix(api.URL, "http://"), func(code int) { exited <- code }); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code == 0 {
			t.Errorf("exit(0), want a failure code")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the extension did not end the process: every invocation would wait for it until its timeout")
	}
}

func TestInlineRunsTheWorkBeforeReturning(t *testing.T) {
	done := false
	afterresponse.Inline(time.Second)(func(ctx context.Context) {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > time.Second {
			t.Errorf("got deadline %v (%v), want one within a second", d, ok)
		}
		done = true
	})
	if !done {
		t.Fatal("the work had not run when Inline returned")
	}
}
