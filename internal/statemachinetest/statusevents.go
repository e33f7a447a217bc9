package statemachinetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/testenv"
)

// StatusEvent is a "Step Functions Execution Status Change" event as
// EventBridge delivers it to a Lambda target (what the stand-in POSTs to
// STATUS_EVENTS_ENDPOINT). Raw is the event as received.
type StatusEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     StatusDetail    `json:"detail"`
	Raw        json.RawMessage `json:"-"`
}

// StatusDetail is the detail of a StatusEvent: the DescribeExecution fields,
// dates in epoch milliseconds, input and output as JSON text.
type StatusDetail struct {
	ExecutionArn        string  `json:"executionArn"`
	StateMachineArn     string  `json:"stateMachineArn"`
	Name                string  `json:"name"`
	Status              string  `json:"status"`
	StartDate           int64   `json:"startDate"`
	StopDate            *int64  `json:"stopDate"`
	Input               string  `json:"input"`
	Output              *string `json:"output"`
	Error               *string `json:"error"`
	Cause               *string `json:"cause"`
	RedriveCount        int     `json:"redriveCount"`
	RedriveDate         *int64  `json:"redriveDate"`
	RedriveStatus       string  `json:"redriveStatus"`
	RedriveStatusReason *string `json:"redriveStatusReason"`
}

// StatusEventReceiver is an HTTP endpoint for Config.StatusEventsEndpoint that
// records the status events it receives.
type StatusEventReceiver struct {
	URL string
	// Refuse answers this many POSTs with 503 before recording any (to
	// exercise the stand-in's retries).
	Refuse atomic.Int64

	mu     sync.Mutex
	posts  int
	events []StatusEvent
}

// NewStatusEventReceiver starts a receiver until the test ends.
func NewStatusEventReceiver(t testing.TB) *StatusEventReceiver {
	t.Helper()
	r := &StatusEventReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		r.mu.Lock()
		r.posts++
		r.mu.Unlock()
		if err != nil || req.Method != http.MethodPost {
			http.Error(w, "POST an event", http.StatusBadRequest)
			return
		}
		if r.Refuse.Add(-1) >= 0 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		var e StatusEvent
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.Raw = body
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/status-events"
	return r
}

// Posts is the number of POSTs received, refused ones included.
func (r *StatusEventReceiver) Posts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts
}

// Events returns the events received for one execution, in arrival order.
func (r *StatusEventReceiver) Events(executionArn string) []StatusEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []StatusEvent
	for _, e := range r.events {
		if e.Detail.ExecutionArn == executionArn {
			out = append(out, e)
		}
	}
	return out
}

// WaitFor waits until n events for the execution have arrived (delivery is
// asynchronous: it may follow DescribeExecution's final status by a moment)
// and returns the events received by then. An extra one may still be on
// its way: callers that want exactly n check again when the test ends.
func (r *StatusEventReceiver) WaitFor(t testing.TB, executionArn string, n int) []StatusEvent {
	t.Helper()
	if !testenv.Eventually(10*time.Second, func() bool { return len(r.Events(executionArn)) >= n }) {
		t.Fatalf("%d status events for %s after 10 s, want %d: %+v", len(r.Events(executionArn)), executionArn, n, r.Events(executionArn))
	}
	return r.Events(executionArn)
}
