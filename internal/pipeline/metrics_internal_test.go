package pipeline

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/runs"
)

// The exposure figures are EMF documents as the specification shapes them:
// each metric named in the directive and valued at the root, under the
// Stack dimension, with the run as properties; OpenToUsersSeconds once,
// UnmaskedSeconds on each report until masking succeeded.
func TestExposureIsWrittenAsEmbeddedMetrics(t *testing.T) {
	var out bytes.Buffer
	m := NewMetrics(&out, "prod")
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	run := runs.Run{ID: "uat1-1", Sandbox: "uat1", Tenant: "acme"}

	run.Exposure = runs.Exposure{ActivatedAt: at(0), UsersFrozenAt: at(40 * time.Second)}
	m.exposure(run, runs.Exposure{ActivatedAt: at(0)}, t0.Add(time.Minute)) // the users were just frozen
	before := run.Exposure
	m.exposure(run, before, t0.Add(2*time.Minute)) // a later report, still unmasked
	run.Exposure.MaskedAt = at(3 * time.Minute)
	m.exposure(run, before, t0.Add(3*time.Minute))       // masking succeeded
	m.exposure(run, run.Exposure, t0.Add(4*time.Minute)) // after it: nothing

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d documents, want 3:\n%s", len(lines), out.String())
	}
	want := []map[string]float64{
		{"OpenToUsersSeconds": 40, "UnmaskedSeconds": 60},
		{"UnmaskedSeconds": 120},
		{"UnmaskedSeconds": 180},
	}
	for i, line := range lines {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("document %d: %v: %s", i, err, line)
		}
		meta := doc["_aws"].(map[string]any)
		directive := meta["CloudWatchMetrics"].([]any)[0].(map[string]any)
		if directive["Namespace"] != MetricsNamespace || doc["Stack"] != "prod" || doc["runId"] != "uat1-1" || doc["tenant"] != "acme" {
			t.Errorf("document %d: got %s, want the namespace, the stack and the run", i, line)
		}
		if dims, _ := json.Marshal(directive["Dimensions"]); string(dims) != `[["Stack"]]` {
			t.Errorf("document %d: got dimensions %s, want [[\"Stack\"]]", i, dims)
		}
		var named []string
		for _, def := range directive["Metrics"].([]any) {
			d := def.(map[string]any)
			named = append(named, d["Name"].(string))
			if d["Unit"] != "Seconds" {
				t.Errorf("document %d: %s has unit %v, want Seconds", i, d["Name"], d["Unit"])
			}
		}
		if len(named) != len(want[i]) {
			t.Errorf("document %d: got metrics %v, want %v", i, named, want[i])
		}
		for name, v := range want[i] {
			if doc[name] != v {
				t.Errorf("document %d: got %s = %v, want %v", i, name, doc[name], v)
			}
		}
		if ts, ok := meta["Timestamp"].(float64); !ok || ts <= 0 {
			t.Errorf("document %d: got Timestamp %v, want milliseconds since the epoch", i, meta["Timestamp"])
		}
	}
}
