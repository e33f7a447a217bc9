package templatecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// checkParametersDocumented returns the template's parameters that the
// README's table of what `sam deploy --guided` asks does not name.
func checkParametersDocumented(tpl *cfnTemplate, readme string) []string {
	start := strings.Index(readme, "What `sam deploy --guided` asks")
	if start < 0 {
		return []string{"README.md has no table of what `sam deploy --guided` asks"}
	}
	table := readme[start:]
	if end := strings.Index(table, "\n\n"+"The stack's outputs"); end >= 0 {
		table = table[:end]
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([A-Za-z0-9]+)`").FindAllStringSubmatch(table, -1) {
		named[m[1]] = true
	}
	var problems []string
	for _, p := range entries(at(tpl.root, "Parameters")) {
		if !named[p.Key] {
			problems = append(problems, fmt.Sprintf("parameter %s is not in README.md's table of what sam deploy --guided asks", p.Key))
		}
	}
	return problems
}

func TestEveryParameterIsDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if problems := checkParametersDocumented(loadTemplate(t), string(data)); len(problems) > 0 {
		t.Fatal(strings.Join(problems, "\n"))
	}
	// And the check can fail: a README without one of the rows.
	cut := strings.Replace(string(data), "`ExistingOidcAuthorizationEndpoint`", "", 1)
	if problems := checkParametersDocumented(loadTemplate(t), cut); len(problems) != 1 || !strings.Contains(problems[0], "ExistingOidcAuthorizationEndpoint") {
		t.Fatalf("with the row gone: got %q, want ExistingOidcAuthorizationEndpoint reported", problems)
	}
}
