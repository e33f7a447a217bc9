package pipeline

import (
	"encoding/json"
	"io"
	"os"
	"sync"
	"time"

	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// MetricsNamespace is the CloudWatch namespace of the pipeline's metrics;
// each is under the dimension Stack (the stack's name), which its alarms name.
const MetricsNamespace = "dcs-access"

// Metrics writes the exposure figures as CloudWatch embedded metric format
// documents, one JSON object a line, which CloudWatch Logs turns into
// metrics from the Lambda's log (no API call):
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
type Metrics struct {
	Stack string // the Stack dimension's value
	mu    sync.Mutex
	w     io.Writer
}

// NewMetrics writes to w (the Lambda's stdout) under stack.
func NewMetrics(w io.Writer, stack string) *Metrics { return &Metrics{Stack: stack, w: w} }

func (s *Steps) metrics() *Metrics {
	if s.Metrics == nil {
		return &Metrics{}
	}
	return s.Metrics
}

// exposure emits what a report changed: OpenToUsersSeconds once, when the
// users were frozen, and UnmaskedSeconds on every report from activation
// until masking succeeded, so that an alarm sees a run staying unmasked
// while it does.
func (m *Metrics) exposure(run runs.Run, before runs.Exposure, now time.Time) {
	values := map[string]float64{}
	if d, ok := run.Exposure.OpenToUsers(); ok && before.UsersFrozenAt == nil {
		values["OpenToUsersSeconds"] = d.Seconds()
	}
	if d, ok := run.Exposure.Unmasked(now); ok && before.MaskedAt == nil {
		values["UnmaskedSeconds"] = d.Seconds()
	}
	if len(values) > 0 {
		m.emit(now, values, map[string]string{"runId": run.ID, "sandbox": run.Sandbox, "tenant": run.Tenant})
	}
}

// emit writes one document of values (seconds) and properties.
func (m *Metrics) emit(now time.Time, values map[string]float64, properties map[string]string) {
	if m.w == nil {
		return
	}
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	doc := map[string]any{"Stack": m.Stack}
	var defs []metric
	for name, v := range values {
		doc[name] = v
		defs = append(defs, metric{Name: name, Unit: "Seconds"})
	}
	for k, v := range properties {
		doc[k] = v
	}
	doc["_aws"] = map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace": MetricsNamespace, "Dimensions": [][]string{{"Stack"}}, "Metrics": defs,
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

// MetricsFromEnv writes the metrics to the Lambda's stdout, under the stack
// STACK_NAME.
func MetricsFromEnv() (*Metrics, error) {
	stack, err := env.Must("STACK_NAME")
	if err != nil {
		return nil, err
	}
	return NewMetrics(os.Stdout, stack), nil
}
