package pipeline

import (
	"io"
	"time"

	"github.com/dcs-access/dcs-access/internal/emf"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// MetricsNamespace is the CloudWatch namespace of the pipeline's metrics;
// each is under the dimension Stack (the stack's name), which its alarms name.
const MetricsNamespace = emf.Namespace

// Metrics writes the exposure figures as CloudWatch embedded metric format
// documents (internal/emf) in the Lambda's log.
type Metrics struct {
	out *emf.Writer
}

// NewMetrics writes to w (the Lambda's stdout) under stack.
func NewMetrics(w io.Writer, stack string) *Metrics { return &Metrics{out: emf.New(w, stack)} }

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

// ExtraMaskingExecutionsMetric counts the DCS executions of a run's job
// started after its masking baseline besides the one it polls, on which
// template.yaml's ExtraMaskingExecutionsAlarm is (templatecheck compares).
const ExtraMaskingExecutionsMetric = "ExtraMaskingExecutions"

// otherExecutions emits ExtraMaskingExecutionsMetric for run.
func (m *Metrics) otherExecutions(run State, n int, now time.Time) {
	m.out.Emit(now, "Count", map[string]float64{ExtraMaskingExecutionsMetric: float64(n)},
		map[string]string{"runId": run.RunID, "sandbox": run.Sandbox, "tenant": run.Tenant})
}

// emit writes one document of values (seconds) and properties.
func (m *Metrics) emit(now time.Time, values map[string]float64, properties map[string]string) {
	m.out.Emit(now, "Seconds", values, properties)
}

// MetricsFromEnv writes the metrics to the Lambda's stdout, under the stack
// STACK_NAME.
func MetricsFromEnv() (*Metrics, error) {
	out, err := emf.FromEnv()
	if err != nil {
		return nil, err
	}
	return &Metrics{out: out}, nil
}
