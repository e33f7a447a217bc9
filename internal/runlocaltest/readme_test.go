package runlocaltest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeStep is one command of the README's local walk-through and what the
// README says it prints.
type readmeStep struct {
	command string   // one shell command, continuation lines joined as written
	want    []string // the "# …" lines right under it; "…" stands for anything
	line    int      // where it is in README.md
}

// readmeWalkthrough reads the ```sh local blocks of README.md, in order. In a
// block, comment lines right under a command (no blank line between) are its
// output; other comments are prose.
func readmeWalkthrough(t *testing.T, path string) []readmeStep {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []readmeStep
	in, cont, afterCommand := false, false, false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !in:
			in = strings.TrimSpace(line) == "```sh local"
			afterCommand = false
		case strings.HasPrefix(line, "```"):
			in = false
		case cont:
			steps[len(steps)-1].command += "\n" + line
			cont = strings.HasSuffix(line, `\`)
		case strings.HasPrefix(line, "# ") && afterCommand:
			s := &steps[len(steps)-1]
			s.want = append(s.want, strings.TrimPrefix(line, "# "))
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
			afterCommand = false
		default:
			steps = append(steps, readmeStep{command: line, line: n})
			cont, afterCommand = strings.HasSuffix(line, `\`), true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return steps
}

// matches reports whether got is want, where each "…" of want stands for
// any text.
func matches(want, got string) bool {
	parts := strings.Split(want, "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`^` + strings.Join(parts, `.*?`) + `$`).MatchString(got)
}

// TestTheREADMEWalkthroughRunsAsWritten runs the README's local walk-through
// against make run as a person pastes it: every command in one bash, in
// order, each succeeding, each printing what the README says.
func TestTheREADMEWalkthroughRunsAsWritten(t *testing.T) {
	requireNamespaces(t) // make run's own ports, in a namespace of its own
	steps := readmeWalkthrough(t, "../../README.md")
	checked := 0
	for _, s := range steps {
		checked += len(s.want)
	}
	if len(steps) < 10 || checked < 8 {
		t.Fatalf("found %d commands and %d printed lines in README.md's ```sh local blocks: the walk-through is gone or unmarked", len(steps), checked)
	}
	startRunLocal(t)

	out := t.TempDir()
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for i, s := range steps {
		if len(s.want) == 0 {
			fmt.Fprintf(&script, "%s\n", s.command)
			continue
		}
		// Braces, not a subshell: a command may set variables for the next.
		fmt.Fprintf(&script, "{\n%s\n} >%s\n", s.command, filepath.Join(out, fmt.Sprint(i)))
	}
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	done := make(chan struct{})
	var output []byte
	var err error
	go func() { output, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the walk-through did not finish in 3 minutes; it printed:\n%s", output)
	}
	if err != nil {
		t.Fatalf("the walk-through failed (%v); it printed:\n%s\nThe script:\n%s", err, output, script.String())
	}
	for i, s := range steps {
		if len(s.want) == 0 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(out, fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		ok := len(got) == len(s.want)
		for j := 0; ok && j < len(got); j++ {
			ok = matches(s.want[j], got[j])
		}
		if !ok {
			t.Errorf("README.md:%d: %s\nprinted:\n%s\nthe README says:\n%s", s.line, s.command, strings.Join(got, "\n"), strings.Join(s.want, "\n"))
		}
	}
}

func TestReadingTheWalkthrough(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	text := "intro\n```sh\nnot run\n```\n```sh local\n# prose\nA=$(echo x \\\n  y)\necho \"$A\"\n# x y\n\n# more prose\necho done\n```\n"
	if err := os.WriteFile(readme, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	got := readmeWalkthrough(t, readme)
	want := []readmeStep{
		{command: "A=$(echo x \\\n  y)", line: 7},
		{command: `echo "$A"`, want: []string{"x y"}, line: 9},
		{command: "echo done", line: 13},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for want, got := range map[string]string{`{"id":"…","a":1}`: `{"id":"019abc","a":1}`, "204": "204"} {
		if !matches(want, got) {
			t.Errorf("%q does not match %q", got, want)
		}
	}
	if matches("204", "2045") || matches(`{"a":"…"}`, `{"b":"x"}`) {
		t.Error("matches is too loose")
	}
}
