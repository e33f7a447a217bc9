package dcs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/dcs"
)

const secretToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2VjcmV0LXNpZ25hdHVyZQ"

// serve answers every request with h on a loopback server and returns a
// client of it.
func serve(t *testing.T, h http.HandlerFunc) *dcs.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := dcs.New(dcs.Config{BaseURL: srv.URL, Token: secretToken})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// answer is a handler that writes status and body.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func TestNewRefusesInvalidConfiguration(t *testing.T) {
	valid := func() dcs.Config { return dcs.Config{BaseURL: "https://dcs.example.com", Token: secretToken} }
	tests := []struct {
		name string
		edit func(*dcs.Config)
		want string
	}{
		{"an empty base URL is refused", func(c *dcs.Config) { c.BaseURL = "" }, "BaseURL must be an absolute http or https URL"},
		{"a relative base URL is refused", func(c *dcs.Config) { c.BaseURL = "/v1" }, "BaseURL must be an absolute http or https URL"},
		{"a base URL of another scheme is refused", func(c *dcs.Config) { c.BaseURL = "ftp://dcs.example.com" }, "BaseURL must be an absolute http or https URL"},
		{"a base URL without a host is refused", func(c *dcs.Config) { c.BaseURL = "https:dcs.example.com" }, "BaseURL must be an absolute http or https URL"},
		{"a base URL with credentials is refused without echoing them", func(c *dcs.Config) { c.BaseURL = "https://ada:hunter2@dcs.example.com" }, "BaseURL must not contain credentials"},
		{"a base URL with a query is refused", func(c *dcs.Config) { c.BaseURL = "https://dcs.example.com/?a=b" }, "BaseURL must not have a query"},
		{"a start path without {jobId} is refused", func(c *dcs.Config) { c.StartPath = "/v1/jobs/executions" }, "StartPath must contain {jobId}"},
		{"a status path without {id} is refused", func(c *dcs.Config) { c.StatusPath = "/v1/executions/{jobId}" }, "StatusPath must contain {id}"},
		{"a list path without {jobId} is refused", func(c *dcs.Config) { c.ListPath = "/v1/executions" }, "ListPath must contain {jobId}"},
		{"a relative path is refused", func(c *dcs.Config) { c.StatusPath = "v1/executions/{id}" }, "StatusPath must start with /"},
		{"a path with a query is refused", func(c *dcs.Config) { c.StatusPath = "/v1/executions/{id}?x=1" }, "StatusPath must be a path without query"},
		{"a missing token is refused", func(c *dcs.Config) { c.Token = " \n" }, "Token is required"},
		{"a token with a line break inside is refused without echoing it", func(c *dcs.Config) { c.Token = secretToken + "\r\nX-Evil: 1" }, "Token must be printable ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.edit(&cfg)
			c, err := dcs.New(cfg)
			if err == nil {
				t.Fatalf("got client %v, want an error", c)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want one containing %q", err, tt.want)
			}
			for _, secret := range []string{secretToken, "hunter2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds a secret", err)
				}
			}
		})
	}
}

func TestRequestsCarryTheBearerAndNoBody(t *testing.T) {
	type seen struct{ method, path, auth, accept string }
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if len(body) != 0 {
			t.Errorf("%s %s: got body %q, want none", r.Method, r.URL.Path, body)
		}
		got = append(got, seen{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Accept")})
		_, _ = io.WriteString(w, `{"id":"e-1","status":"QUEUED"}`)
	}))
	t.Cleanup(srv.Close)
	c, err := dcs.New(dcs.Config{BaseURL: srv.URL, Token: " " + secretToken + "\n"}) // as pasted into a secret
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.StartExecution(ctx, "j-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Execution(ctx, "e-1"); err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{"POST", "/v1/compliance-jobs/j-1/executions", "Bearer " + secretToken, "application/json"},
		{"GET", "/v1/executions/e-1", "Bearer " + secretToken, "application/json"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests: got %v, want %v", got, want)
	}
}

func TestAnswersAreReadStrictly(t *testing.T) {
	tests := []struct {
		name          string
		handler       http.HandlerFunc
		want          dcs.Execution
		wantErr       string // empty: no error
		wantTransient bool
	}{
		{
			name:    "an answer with more fields than id, status and start time is read",
			handler: answer(200, `{"id":"e-1","jobId":"j-1","status":"RUNNING","startTime":"2026-11-27T13:00:00.250+01:00","endTime":null}`),
			want:    dcs.Execution{ID: "e-1", Status: dcs.StatusRunning, StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 250e6, time.UTC)},
		},
		{
			name:    "a start time that is not RFC 3339 is left unknown",
			handler: answer(200, `{"id":"e-1","status":"RUNNING","startTime":"27/11/2026 12:00"}`),
			want:    dcs.Execution{ID: "e-1", Status: dcs.StatusRunning},
		},
		{
			name:    "a numeric execution id is read as its digits",
			handler: answer(200, `{"id":17,"status":"WAITING"}`),
			want:    dcs.Execution{ID: "17", Status: dcs.StatusWaiting},
		},
		{
			name:    "an unknown status is an error",
			handler: answer(200, `{"id":"e-1","status":"PAUSED"}`),
			wantErr: `unknown execution status "PAUSED"`,
		},
		{
			name:    "a status in lower case is an error",
			handler: answer(200, `{"id":"e-1","status":"succeeded"}`),
			wantErr: `unknown execution status "succeeded"`,
		},
		{
			name:    "an answer without an id is an error",
			handler: answer(200, `{"status":"QUEUED"}`),
			wantErr: "response has no execution id",
		},
		{
			name:    "a fractional id is an error",
			handler: answer(200, `{"id":1.5,"status":"QUEUED"}`),
			wantErr: "response has no execution id",
		},
		{
			name:    "a body that is not JSON is an error",
			handler: answer(200, `<html>maintenance</html>`),
			wantErr: "decode response",
		},
		{
			name:    "a body over 1 MiB is refused",
			handler: answer(200, `{"id":"e-1","status":"QUEUED","pad":"`+strings.Repeat("x", 1<<20)+`"}`),
			wantErr: "response body is larger than",
		},
		{
			name:          "an error answer without the error shape keeps its status",
			handler:       answer(502, `<html>Bad Gateway</html>`),
			wantErr:       "HTTP 502 Bad Gateway",
			wantTransient: true,
		},
		{
			name:    "an error message that echoes the token is redacted",
			handler: answer(400, `{"error":{"code":"BAD_REQUEST","message":"bad header Bearer `+secretToken+`\nX"}}`),
			wantErr: "HTTP 400 BAD_REQUEST: bad header Bearer [redacted] X",
		},
		{
			name:    "a 403 is a permanent error",
			handler: answer(403, `{"error":{"code":"FORBIDDEN","message":"No access to this job."}}`),
			wantErr: "HTTP 403 FORBIDDEN: No access to this job.",
		},
		{
			name: "a redirect is not followed, so the token goes nowhere else",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
			},
			wantErr: "HTTP 302",
		},
		{
			name: "a body cut short is a transient failure",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "100")
				_, _ = io.WriteString(w, `{"id":"e-1",`)
			},
			wantErr:       "read response",
			wantTransient: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := serve(t, tt.handler).StartExecution(context.Background(), "j-1")
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %+v, %v; want an error containing %q", got, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secretToken) {
				t.Errorf("error %q holds the token", err)
			}
			if gotT := dcs.IsTransient(err); gotT != tt.wantTransient {
				t.Errorf("IsTransient(%v): got %v, want %v", err, gotT, tt.wantTransient)
			}
		})
	}
}

func TestAnAnswerAboutAnotherExecutionIsAnError(t *testing.T) {
	c := serve(t, answer(200, `{"id":"e-2","status":"RUNNING"}`))
	_, err := c.Execution(context.Background(), "e-1")
	if err == nil || !strings.Contains(err.Error(), `answer is about execution "e-2"`) {
		t.Fatalf("got %v, want an error naming the other execution", err)
	}
}

func TestIdsThatCannotBeOnePathSegmentAreRefused(t *testing.T) {
	var calls atomic.Int32
	c := serve(t, func(http.ResponseWriter, *http.Request) { calls.Add(1) })
	for _, id := range []string{"", ".", "..", strings.Repeat("x", 1025)} {
		t.Run(fmt.Sprintf("the id %.10q is refused before any request", id), func(t *testing.T) {
			if _, err := c.StartExecution(context.Background(), id); err == nil || dcs.IsTransient(err) {
				t.Errorf("StartExecution: got %v, want a permanent error", err)
			}
			if _, err := c.Execution(context.Background(), id); err == nil || dcs.IsTransient(err) {
				t.Errorf("Execution: got %v, want a permanent error", err)
			}
			if _, err := c.Executions(context.Background(), id); err == nil || dcs.IsTransient(err) {
				t.Errorf("Executions: got %v, want a permanent error", err)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("requests: got %d, want 0", n)
	}
}

func TestNetworkFailuresAndTimeoutsAreTransient(t *testing.T) {
	t.Run("a refused connection is transient", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c, err := dcs.New(dcs.Config{BaseURL: srv.URL, Token: secretToken})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.StartExecution(context.Background(), "j-1")
		if !dcs.IsTransient(err) {
			t.Errorf("IsTransient(%v): got false, want true", err)
		}
	})

	// hang answers only when the request is abandoned.
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	t.Run("a client timeout is transient", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(hang))
		t.Cleanup(srv.Close)
		c, err := dcs.New(dcs.Config{BaseURL: srv.URL, Token: secretToken, HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Execution(context.Background(), "e-1")
		if !dcs.IsTransient(err) {
			t.Errorf("IsTransient(%v): got false, want true", err)
		}
	})
	t.Run("a context deadline is transient", func(t *testing.T) {
		c := serve(t, hang)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.Execution(ctx, "e-1")
		if !errors.Is(err, context.DeadlineExceeded) || !dcs.IsTransient(err) {
			t.Errorf("got %v (transient %v), want a transient deadline error", err, dcs.IsTransient(err))
		}
	})
	t.Run("a cancelled context is not transient", func(t *testing.T) {
		c := serve(t, hang)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err := c.Execution(ctx, "e-1")
		if !errors.Is(err, context.Canceled) || dcs.IsTransient(err) {
			t.Errorf("got %v (transient %v), want a permanent cancellation", err, dcs.IsTransient(err))
		}
	})
}

func TestIsTransientClassifiesErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no error is not transient", nil, false},
		{"a 400 is permanent", &dcs.APIError{Status: 400}, false},
		{"a 401 is permanent", &dcs.APIError{Status: 401}, false},
		{"a 403 is permanent", &dcs.APIError{Status: 403}, false},
		{"a 404 is permanent", &dcs.APIError{Status: 404}, false},
		{"a 408 is transient", &dcs.APIError{Status: 408}, true},
		{"a 429 is transient", &dcs.APIError{Status: 429}, true},
		{"a 500 is transient", &dcs.APIError{Status: 500}, true},
		{"a wrapped 503 is transient", fmt.Errorf("check masking: %w", &dcs.APIError{Status: 503}), true},
		{"a network error is transient", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{"a deadline is transient", context.DeadlineExceeded, true},
		{"a cancellation is permanent", context.Canceled, false},
		{"any other error is permanent", errors.New("unknown execution status"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dcs.IsTransient(tt.err); got != tt.want {
				t.Errorf("IsTransient(%v): got %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestStatusesSayWhetherTheyAreDoneAndSucceeded(t *testing.T) {
	tests := []struct {
		status                 string
		wantDone, wantSucceeds bool
	}{
		{"QUEUED", false, false},
		{"RUNNING", false, false},
		{"WAITING", false, false},
		{"SUCCEEDED", true, true},
		{"FAILED", true, false},
		{"CANCELLED", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.status+" is parsed and classified", func(t *testing.T) {
			s, err := dcs.ParseStatus(tt.status)
			if err != nil {
				t.Fatal(err)
			}
			if s.Done() != tt.wantDone || s.Succeeded() != tt.wantSucceeds {
				t.Errorf("Done, Succeeded: got %v, %v; want %v, %v", s.Done(), s.Succeeded(), tt.wantDone, tt.wantSucceeds)
			}
		})
	}
	t.Run("an unknown status is an error", func(t *testing.T) {
		if s, err := dcs.ParseStatus("CANCELED"); err == nil {
			t.Errorf("got %q, want an error", s)
		}
	})
}

func TestAListIsReadStrictly(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []dcs.Execution
		wantErr string
	}{
		{
			name: "every item is read, in the answer's order",
			body: `{"items":[{"id":"e-2","status":"RUNNING","startTime":"2026-11-27T12:05:00Z"},{"id":7,"status":"FAILED"}],"next":null}`,
			want: []dcs.Execution{
				{ID: "e-2", Status: dcs.StatusRunning, StartedAt: time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)},
				{ID: "7", Status: dcs.StatusFailed},
			},
		},
		{name: "an empty list is read", body: `{"items":[]}`, want: []dcs.Execution{}},
		{name: "an answer without items is an error", body: `{"executions":[]}`, wantErr: `response has no "items" list`},
		{name: "a bare array is an error", body: `[]`, wantErr: "decode response"},
		{name: "an item with an unknown status fails the list", body: `{"items":[{"id":"e-1","status":"SUCCEEDED"},{"id":"e-2","status":"PAUSED"}]}`, wantErr: `item 1: unknown execution status "PAUSED"`},
		{name: "an item without an id fails the list", body: `{"items":[{"status":"RUNNING"}]}`, wantErr: "item 0: response has no execution id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := serve(t, answer(200, tt.body)).Executions(context.Background(), "j-1")
			if tt.wantErr == "" {
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || dcs.IsTransient(err) {
				t.Fatalf("got %+v, %v; want a permanent error containing %q", got, err, tt.wantErr)
			}
		})
	}
}

// DCS documents no idempotency key: sending one would only suggest a
// protection that may not exist.
func TestAStartSendsNoIdempotencyKey(t *testing.T) {
	var headers http.Header
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		headers = r.Header.Clone()
		answer(201, `{"id":"e-1","status":"QUEUED"}`)(w, r)
	})
	if _, err := c.StartExecution(context.Background(), "j-1"); err != nil {
		t.Fatal(err)
	}
	if headers.Get("Authorization") == "" {
		t.Fatal("the request carried no Authorization header: the check below would prove nothing")
	}
	for name := range headers {
		if strings.Contains(strings.ToLower(name), "idempotency") {
			t.Errorf("the start sent %s: %q", name, headers.Get(name))
		}
	}
}

func TestMayHaveHappenedTellsRefusalsFromUnknownOutcomes(t *testing.T) {
	refused := httptest.NewServer(http.NotFoundHandler())
	refused.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	dropped := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	t.Cleanup(dropped.Close)
	start := func(base string, hc *http.Client) error {
		c, err := dcs.New(dcs.Config{BaseURL: base, Token: secretToken, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.StartExecution(context.Background(), "j-1")
		if err == nil {
			t.Fatal("the start succeeded")
		}
		return err
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"a connection that could not be made sent nothing", start(refused.URL, nil), false},
		{"a request cut off by the client's timeout may have been taken", start(hang.URL, &http.Client{Timeout: 50 * time.Millisecond}), true},
		{"a connection dropped before the answer may have been taken", start(dropped.URL, nil), true},
		{"a 502 may come after the request was passed on", start(serve502(t), nil), true},
		{"a 504 likewise", &dcs.APIError{Status: 504}, true},
		{"a 408 likewise", &dcs.APIError{Status: 408}, true},
		{"a 429 is a refusal", &dcs.APIError{Status: 429}, false},
		{"a 400 is a refusal", &dcs.APIError{Status: 400}, false},
		{"a 401 is a refusal", &dcs.APIError{Status: 401}, false},
		{"an answer that cannot be read is no failure to reach DCS", errors.New("decode response: unexpected end of JSON input"), false},
		{"no error", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dcs.MayHaveHappened(tt.err); got != tt.want {
				t.Errorf("MayHaveHappened(%v): got %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func serve502(t *testing.T) string {
	srv := httptest.NewServer(answer(502, `{"error":{"code":"BAD_GATEWAY","message":"upstream"}}`))
	t.Cleanup(srv.Close)
	return srv.URL
}

// pages answers a list request by its cursor query parameter ("" for the
// first page), and records the cursors asked for.
func pages(t *testing.T, byCursor map[string]string, asked *[]string) *dcs.Client {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		cursor := r.URL.Query().Get("cursor")
		*asked = append(*asked, cursor)
		body, ok := byCursor[cursor]
		if !ok {
			answer(400, `{"error":{"code":"BAD_REQUEST","message":"unknown cursor"}}`)(w, r)
			return
		}
		answer(200, body)(w, r)
	})
}

func TestAListFollowsDataControlTowersCursor(t *testing.T) {
	var asked []string
	c := pages(t, map[string]string{
		"":      `{"items":[{"id":"e-1","status":"SUCCEEDED"}],"response_metadata":{"next_cursor":"c/2 +","total":3}}`,
		"c/2 +": `{"items":[{"id":"e-2","status":"FAILED"}],"response_metadata":{"next_cursor":"c3","prev_cursor":"c1","total":3}}`,
		"c3":    `{"items":[{"id":"e-3","status":"RUNNING"}],"response_metadata":{"next_cursor":null,"prev_cursor":"c/2 +","total":3}}`,
	}, &asked)
	list, err := c.Executions(context.Background(), "j-1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range list {
		ids = append(ids, e.ID)
	}
	if fmt.Sprint(ids) != "[e-1 e-2 e-3]" || fmt.Sprint(asked) != "[ c/2 + c3]" {
		t.Fatalf("got %v asking for cursors %q, want the three pages in order", ids, asked)
	}
}

// A list that says, in any way this client does not follow, that it holds
// only part of the executions fails closed: never a partial list as the
// whole, which could hide the execution a lost start made.
func TestAListThatHoldsOnlyPartOfTheExecutionsIsAnError(t *testing.T) {
	tests := []struct {
		name, body string
		header     http.Header
		says       string
	}{
		{"a next_cursor at the top", `{"items":[],"next_cursor":"abc"}`, nil, "next_cursor is set"},
		{"a nextToken", `{"items":[],"nextToken":"abc"}`, nil, "nextToken is set"},
		{"a Slack-style response_metadata in another member", `{"items":[],"metadata":{"next_cursor":"abc"}}`, nil, "metadata.next_cursor is set"},
		{"hasMore without a cursor", `{"items":[{"id":"e-1","status":"QUEUED"}],"hasMore":true}`, nil, "hasMore is true"},
		{"the engine's _pageInfo with more than this page", `{"items":[{"id":"e-1","status":"QUEUED"}],"_pageInfo":{"numberOnPage":1,"total":2}}`, nil, "_pageInfo.total is 2, above the 1 executions listed"},
		{"a total above what was read", `{"items":[],"response_metadata":{"next_cursor":null,"total":5}}`, nil, "response_metadata.total is 5"},
		{"a next link", `{"items":[],"links":{"next":"/v1/compliance-jobs/j-1/executions?page=2"}}`, nil, "links.next is set"},
		{"a Link header", `{"items":[]}`, http.Header{"Link": {`</v1/compliance-jobs/j-1/executions?page=2>; rel="next"`}}, "a Link header with rel=next"},
		{"another cursor beside the one followed", `{"items":[],"response_metadata":{"next_cursor":"c2"},"nextToken":"t2"}`, nil, "nextToken is set"},
		{"a cursor that is not a string", `{"items":[],"response_metadata":{"next_cursor":2}}`, nil, "next_cursor is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serve(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				answer(200, tt.body)(w, r)
			})
			list, err := c.Executions(context.Background(), "j-1")
			if err == nil || !strings.Contains(err.Error(), tt.says) || dcs.IsTransient(err) {
				t.Fatalf("got %+v, %v; want a permanent error saying %q", list, err, tt.says)
			}
		})
	}
	// Positive controls: markers that say there is no more.
	for _, body := range []string{
		`{"items":[{"id":"e-1","status":"QUEUED"}],"hasMore":false,"next_cursor":null,"nextToken":"","_pageInfo":{"numberOnPage":1,"total":1}}`,
		`{"items":[{"id":"e-1","status":"QUEUED"}],"response_metadata":{"next_cursor":null,"prev_cursor":"c1","total":1},"links":{"next":null,"self":"/x"}}`,
	} {
		if list, err := serve(t, answer(200, body)).Executions(context.Background(), "j-1"); err != nil || len(list) != 1 {
			t.Errorf("%s: got %+v, %v; want the one execution", body, list, err)
		}
	}
}

func TestAListWhoseCursorRepeatsIsAnError(t *testing.T) {
	var asked []string
	c := pages(t, map[string]string{
		"":   `{"items":[],"response_metadata":{"next_cursor":"c1"}}`,
		"c1": `{"items":[],"response_metadata":{"next_cursor":"c1"}}`,
	}, &asked)
	if _, err := c.Executions(context.Background(), "j-1"); err == nil || !strings.Contains(err.Error(), "repeats") || len(asked) != 2 {
		t.Fatalf("got %v after %d requests, want an error after 2", err, len(asked))
	}
}
