// Package redoclytest lints openapi.yaml with Redocly CLI (npm @redocly/cli,
// pinned in package-lock.json; make deps installs it), a linter this project
// did not write: the OpenAPI 3.1 structure, the recommended-strict rules
// (operation ids, 4xx responses, path parameters, security schemes, unused
// components…), and every example against its schema. Any problem, error or
// warning, fails the test. The mutations below show that the linter, as
// configured here, catches what it is relied on to catch.
package redoclytest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const setup = `The OpenAPI lint needs Node.js >= 20.19 and the npm package @redocly/cli:
    (cd internal/openapi/redoclytest && npm ci)   # pinned in package-lock.json
make deps does it (scripts/deps.sh).`

type problem struct {
	RuleID   string `json:"ruleId"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Location []struct {
		Pointer string `json:"pointer"`
	} `json:"location"`
}

// lint runs redocly lint on the file at path and returns its problems.
func lint(t *testing.T, path string) []problem {
	t.Helper()
	cli, err := filepath.Abs(filepath.Join("node_modules", "@redocly", "cli", "bin", "cli.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("@redocly/cli is missing (%v).\n%s", err, setup)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is missing.\n%s", setup)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, cli, "lint", "--config", "redocly.yaml", "--format", "json", path)
	// No telemetry nor update check: the tests run without a network.
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Problems []problem `json:"problems"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("redocly lint answered no report (%v, %v):\n%s\n%s", err, runErr, stdout.String(), stderr.String())
	}
	return out.Problems
}

func TestOpenAPIPassesTheLinter(t *testing.T) {
	for _, p := range lint(t, filepath.Join("..", "..", "..", "openapi.yaml")) {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, where, p.Message)
	}
}

func TestTheLinterCatchesMutations(t *testing.T) {
	original, err := os.ReadFile(filepath.Join("..", "..", "..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ name, old, new, rule string }{
		{"an example that its schema refuses", "status: Enabled\n", "status: Active\n", "no-invalid-media-type-examples"},
		{"a path parameter the operation does not declare", "/api-tokens/{id}:", "/api-tokens/{tokenId}:", "path-parameters-defined"},
		{"a security scheme that is not defined", "  - bearer: []", "  - bearerAuth: []", "security-defined"},
		{"an operation without a 4xx response", "        \"429\":\n          $ref: \"#/components/responses/Throttled\"\n", "", "operation-4xx-response"},
	} {
		t.Run(m.name+" is caught by "+m.rule, func(t *testing.T) {
			if !bytes.Contains(original, []byte(m.old)) {
				t.Fatalf("openapi.yaml no longer holds %q: update the mutation", m.old)
			}
			path := filepath.Join(t.TempDir(), "openapi.yaml")
			if err := os.WriteFile(path, bytes.Replace(original, []byte(m.old), []byte(m.new), 1), 0o600); err != nil {
				t.Fatal(err)
			}
			var rules []string
			for _, p := range lint(t, path) {
				rules = append(rules, p.RuleID)
			}
			if !strings.Contains(strings.Join(rules, " "), m.rule) {
				t.Errorf("got problems %v, want one of rule %s", rules, m.rule)
			}
		})
	}
}
