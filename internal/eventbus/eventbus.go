// Package eventbus publishes the pipeline's events: on an Amazon EventBridge
// bus in AWS, and on an in-memory bus that the local stack shows.
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/dcs-access/dcs-access/internal/access"
)

// Source is the source of every event dcs-access publishes.
const Source = "dcs-access"

// API is the EventBridge call used.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

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
	out, err := b.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(b.Name), Source: aws.String(Source), DetailType: aws.String(detailType), Detail: aws.String(string(doc)),
	}}})
	if err != nil {
		return access.Unavailable(fmt.Errorf("put %s event: %w", detailType, err))
	}
	if out.FailedEntryCount > 0 {
		e := out.Entries[0]
		return access.Unavailable(fmt.Errorf("put %s event: %s: %s", detailType, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage)))
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
