package lambdatest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// coldStartEvent is, for each function, a request it answers without
// changing what the next run sees.
var coldStartEvent = map[string]func(testing.TB) []byte{
	"AuthorizerFunction":      sample("authorizer-no-bearer.json"),
	"IntrospectTokenFunction": sample("introspect-token.json"), // a placeholder token: inactive, before any table read
	"PublicKeysFunction":      sample("public-keys.json"),
	"CreateTokenFunction":     sample("whoami.json"), // an API-token caller: refused (403) before any signing
	"ListTokensFunction":      sample("list-tokens.json"),
	"DeleteTokenFunction":     sample("delete-token.json"),
	"TenantPolicyFunction":    sample("get-tenant-policy.json"), // no policy stored: the default, one read
	// A report with no token: 400 at once (any list of tokens is answered
	// no sooner than a second after it came).
	"RevokeLeakedTokensFunction": func(t testing.TB) []byte {
		return editEvent(t, "revoke-leaked-tokens.json", func(e map[string]any) { e["body"] = `{"tokens":[]}` })
	},
	"WhoAmIFunction":           sample("whoami.json"),
	"SandboxPlansFunction":     sample("get-sandbox-plan.json"),    // no such plan: 404
	"SandboxRefreshesFunction": sample("get-sandbox-refresh.json"), // no such run: 404, before any Step Functions call
	// A status change of a run still running: announced nothing, so no call.
	// (An event that publishes would time moto's PutEvents, some 150 ms.)
	"SandboxRefreshEventsFunction": func(t testing.TB) []byte {
		return editEvent(t, "execution-status-change.json", func(e map[string]any) { e["detail"].(map[string]any)["status"] = "RUNNING" })
	},
	"PipelineStepsFunction": sample("pipeline-step.json"), // past its run's deadline: RunTimedOut, before any secret is read
	"ConsoleFunction":       sample("console-config.json"),
	// Nothing due: its 38 queries of the index (one per expiry day) and no notice.
	"ExpiryNoticesFunction": sample("expiry-notices-tick.json"),
	// The placeholder key: 400 before any Secrets Manager call.
	"PipelineSecretsFunction": sample("put-salesforce-key.json"),
	// No such secret: one DescribeSecret (moto), and the step fails.
	"DcsTokenRotationFunction": sample("dcs-token-rotation.json"),
	"ListAuditEventsFunction":  sample("list-audit-events.json"),
	// Records of no audit item: nothing to publish, so no call.
	"PublishAuditEventsFunction": func(t testing.TB) []byte {
		return editEvent(t, "audit-stream-records.json", func(e map[string]any) { e["Records"] = e["Records"].([]any)[1:] })
	},
}

// sample is events/<name> as written.
func sample(name string) func(testing.TB) []byte {
	return func(t testing.TB) []byte { return readEvent(t, name) }
}

// BenchmarkColdStart is, per function, the time from starting the emulator
// process to the first response (median of the runs), and the size of the
// arm64 bootstrap that is deployed, in MB (10^6 bytes) and MiB (2^20).
// Goals (issue 10): cold starts under 50 ms; every bootstrap under 8 MB,
// WhoAmIFunction's and ConsoleFunction's under 6.5 MB.
func BenchmarkColdStart(b *testing.B) {
	root, err := RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	arm := b.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	armPaths, err := buildFor(ctx, root, arm, "arm64")
	if err != nil {
		b.Fatal(err)
	}
	s := newStack(b)
	for _, name := range Functions {
		b.Run(name, func(b *testing.B) {
			event := coldStartEvent[name](b)
			env := s.env(b, name)
			var starts []time.Duration
			for b.Loop() {
				f := s.start(b, name, env)
				if _, err := invoke(b, f, event); err != nil {
					if _, handled := err.(*FunctionError); !handled {
						b.Fatalf("invoke %s: %v", name, err)
					}
				}
				starts = append(starts, f.ColdStart())
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
			}
			slices.Sort(starts)
			b.ReportMetric(float64(starts[len(starts)/2].Microseconds())/1000, "cold-start-ms")
			info, err := os.Stat(armPaths[name])
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(info.Size())/1e6, "arm64-MB")
			b.ReportMetric(float64(info.Size())/(1<<20), "arm64-MiB")
		})
	}
}

// buildFor builds every bootstrap for arch into dir with `make build`.
func buildFor(ctx context.Context, root, dir, arch string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "build", "GOOS=linux", "GOARCH="+arch, "BUILD="+dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("make build: %w\n%s", err, out)
	}
	paths := map[string]string{}
	for _, name := range Functions {
		paths[name] = filepath.Join(dir, name, "bootstrap")
	}
	return paths, nil
}
