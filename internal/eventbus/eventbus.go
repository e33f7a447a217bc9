// Package eventbus publishes the pipeline's events: on an Amazon EventBridge
// bus in AWS, and on an in-memory bus that the local stack shows.
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/awsjson"
)

// Source is the source of every event dcs-access publishes.
const Source = "dcs-access"

// Service is EventBridge, which this package calls through awsjson
// (PutEvents, on a regional bus) rather than the SDK's client: that client,
// with its schemas and the SigV4a signer for global endpoints, cost the
// events function about 0.5 MB for one call (docs/performance.md).
// internal/templatecheck reads it to know what a function calls.
var Service = awsjson.Service{ID: "EventBridge", EndpointPrefix: "events", SigningName: "events", TargetPrefix: "AWSEvents", Protocol: awsjson.JSON11}

// API is how this package calls EventBridge: an *awsjson.Client of
// Service, or a test's fake.
type API interface {
	Call(ctx context.Context, operation string, in, out any) error
}

// The members of PutEvents' shapes that are sent and read, by their wire
// names.
type (
	putEventsInput struct {
		Entries []putEventsEntry
	}
	putEventsEntry struct {
		EventBusName, Source, DetailType, Detail string
	}
	putEventsOutput struct {
		FailedEntryCount int
		Entries          []struct{ ErrorCode, ErrorMessage string } // in the order of the input's
	}
)

// Bus is one EventBridge bus.
type Bus struct {
	API  API
	Name string
}

// Publish puts one event on the bus. A rejected entry is an error, so the
// caller (a Lambda invoked by EventBridge) fails and is retried.
func (b Bus) Publish(ctx context.Context, detailType string, detail any) error {
	doc, err := json.Marshal(detail)
	if err != nil {
		return access.Internal(err)
	}
	in := putEventsInput{Entries: []putEventsEntry{{EventBusName: b.Name, Source: Source, DetailType: detailType, Detail: string(doc)}}}
	var out putEventsOutput
	if err := b.API.Call(ctx, "PutEvents", in, &out); err != nil {
		return access.Unavailable(fmt.Errorf("put %s event: %w", detailType, err))
	}
	if out.FailedEntryCount > 0 {
		var code, message string
		if len(out.Entries) > 0 {
			code, message = out.Entries[0].ErrorCode, out.Entries[0].ErrorMessage
		}
		return access.Unavailable(fmt.Errorf("put %s event: %s: %s", detailType, code, message))
	}
	return nil
}

// Event is an event on the in-memory bus, shaped as EventBridge delivers it.
type Event struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       time.Time       `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// Memory is the local stack's bus: it keeps what was published.
type Memory struct {
	mu     sync.Mutex
	events []Event
}

// Publish records the event.
func (m *Memory) Publish(_ context.Context, detailType string, detail any) error {
	doc, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	m.Record(Event{DetailType: detailType, Source: Source, Time: time.Now().UTC(), Detail: doc})
	return nil
}

// Record keeps an event that arrived on the bus.
func (m *Memory) Record(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.ID == "" {
		e.ID = fmt.Sprintf("local-%d", len(m.events)+1)
	}
	m.events = append(m.events, e)
}

// Events returns every event so far, oldest first.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}
