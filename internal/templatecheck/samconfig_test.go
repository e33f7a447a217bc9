package templatecheck

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// samconfig is samconfig.toml as this check reads it: each table
// ("default.build.parameters") with its keys and their values as written.
type samconfig map[string]map[string]string

var (
	tomlTable = regexp.MustCompile(`^\[([A-Za-z0-9_.-]+)\]$`)
	tomlKey   = regexp.MustCompile(`^([A-Za-z0-9_-]+)\s*=\s*(.*)$`)
)

// parseSamconfig reads the small part of TOML that samconfig.toml uses:
// tables, and one key = value a line; anything else is an error, so a
// construct the check does not understand cannot hide a setting.
func parseSamconfig(data string) (samconfig, error) {
	cfg := samconfig{"": {}}
	table := ""
	sc := bufio.NewScanner(strings.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch m, kv := tomlTable.FindStringSubmatch(line), tomlKey.FindStringSubmatch(line); {
		case line == "" || strings.HasPrefix(line, "#"):
		case m != nil:
			table = m[1]
			if _, dup := cfg[table]; dup {
				return nil, fmt.Errorf("line %d: table [%s] twice", n, table)
			}
			cfg[table] = map[string]string{}
		case kv != nil:
			if _, dup := cfg[table][kv[1]]; dup {
				return nil, fmt.Errorf("line %d: %s twice in [%s]", n, kv[1], table)
			}
			cfg[table][kv[1]] = kv[2]
		default:
			return nil, fmt.Errorf("line %d: %q is not a table or a key = value this check reads", n, line)
		}
	}
	return cfg, sc.Err()
}

// checkBuildInSource checks that every config env of samconfig.toml builds
// in source: `sam build` then runs the Makefile's targets in the repository
// instead of copying all of it (CodeUri: ., with .local/'s signing keys and
// node_modules) into a scratch folder for each function.
func checkBuildInSource(cfg samconfig) []string {
	envs := map[string]bool{}
	for table := range cfg {
		if env, _, ok := strings.Cut(table, "."); ok {
			envs[env] = true
		}
	}
	var problems []string
	if len(envs) == 0 {
		return []string{"samconfig.toml has no config env"}
	}
	for _, env := range slices.Sorted(maps.Keys(envs)) {
		build, ok := cfg[env+".build.parameters"]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("config env %s has no [%s.build.parameters]: sam build --config-env %s would copy the whole repository for each function", env, env, env))
		case build["build_in_source"] != "true":
			problems = append(problems, fmt.Sprintf("[%s.build.parameters] has build_in_source = %q, want true: sam build would copy the whole repository, .local/ included, for each function", env, build["build_in_source"]))
		}
	}
	return problems
}

func readSamconfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSamBuildCopiesNothing(t *testing.T) {
	cfg, err := parseSamconfig(readSamconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("every config env of samconfig.toml builds in source", func(t *testing.T) {
		report(t, checkBuildInSource(cfg))
	})
}

func TestBuildInSourceCheckCatchesMutations(t *testing.T) {
	data := readSamconfig(t)
	for _, tc := range []struct {
		name, mutated, want string
	}{
		{"a config env that copies the repository is caught",
			strings.Replace(data, "[prod.build.parameters]\ncached = true\nparallel = true\nbuild_in_source = true", "[prod.build.parameters]\ncached = true\nparallel = true", 1),
			`[prod.build.parameters] has build_in_source = "", want true`},
		{"build_in_source turned off is caught",
			strings.Replace(data, "build_in_source = true", "build_in_source = false", 1), `[default.build.parameters] has build_in_source = "false"`},
		{"a new config env without build parameters is caught",
			data + "\n[staging.deploy.parameters]\nstack_name = \"dcs-access-staging\"\n", "config env staging has no [staging.build.parameters]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.mutated == data {
				t.Fatal("the mutation changed nothing")
			}
			cfg, err := parseSamconfig(tc.mutated)
			if err != nil {
				t.Fatal(err)
			}
			if got := checkBuildInSource(cfg); !hasProblem(got, tc.want) {
				t.Errorf("got problems %q, want one containing %q", got, tc.want)
			}
		})
	}
	t.Run("TOML the reader does not know is refused", func(t *testing.T) {
		if _, err := parseSamconfig(data + "\n[[array.of.tables]]\n"); err == nil {
			t.Error("got no error for [[array.of.tables]]")
		}
	})
}
