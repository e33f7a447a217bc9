// Package emf writes CloudWatch embedded metric format documents: one JSON
// object a line on a Lambda function's stdout, which CloudWatch Logs turns
// into metrics (no API call, no SDK client). The document's shape is the
// specification's: the "_aws" metadata with a Timestamp and one metric
// directive (Namespace, Dimensions, Metrics), and each metric's value and
// each dimension's value as members of the root
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
package emf

import (
	"encoding/json"
	"io"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/dcs-access/dcs-access/internal/env"
)

// Namespace is the CloudWatch namespace of dcs-access's own metrics; each is
// under the one dimension StackDimension (the stack's name), which their
// alarms in template.yaml name.
const (
	Namespace      = "dcs-access"
	StackDimension = "Stack"
)

// Writer writes the documents of one stack to W; safe for concurrent use.
type Writer struct {
	Stack string // the Stack dimension's value
	mu    sync.Mutex
	w     io.Writer
}

// New writes to w (the Lambda's stdout) under stack; a nil w writes nothing.
func New(w io.Writer, stack string) *Writer { return &Writer{Stack: stack, w: w} }

// Emit writes one document at now of values (every one in unit) and
// properties (searchable in the log, not dimensions).
func (m *Writer) Emit(now time.Time, unit string, values map[string]float64, properties map[string]string) {
	if m == nil || m.w == nil {
		return
	}
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	doc := map[string]any{}
	for k, v := range properties {
		doc[k] = v
	}
	doc[StackDimension] = m.Stack
	var defs []metric
	for _, name := range slices.Sorted(maps.Keys(values)) {
		doc[name] = values[name]
		defs = append(defs, metric{Name: name, Unit: unit})
	}
	doc["_aws"] = map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace": Namespace, "Dimensions": [][]string{{StackDimension}}, "Metrics": defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(append(line, '\n'))
}

// FromEnv writes to the Lambda's stdout under the stack STACK_NAME.
func FromEnv() (*Writer, error) {
	stack, err := env.Must("STACK_NAME")
	if err != nil {
		return nil, err
	}
	return New(os.Stdout, stack), nil
}
