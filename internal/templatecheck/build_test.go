package templatecheck

import (
	"fmt"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// goBuild is a `go build` command line as make prints it.
type goBuild struct {
	Env      map[string]string // NAME=value words before the command
	Flags    map[string]string // build flags but -o; "" for a boolean flag
	Output   string            // -o
	Packages []string
}

// lambdaBuild is the build every function's target must run (issue 3):
// static, no RPC shim for provided.al2023, no HTTP/2 in net/http (issue 10:
// nothing the functions call needs it), reproducible and small.
var lambdaBuild = goBuild{
	Env:   map[string]string{"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "arm64"},
	Flags: map[string]string{"-tags": "lambda.norpc,nethttpomithttp2", "-trimpath": "", "-ldflags": "-s -w -buildid="},
}

// sourceDir is where a function's package may live.
var sourceDir = regexp.MustCompile(`^\./(functions/[a-z0-9][a-z0-9-]*|authorizer)$`)

// assignment is a NAME=value word before a command.
var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// boolFlags are the go build flags that take no value.
var boolFlags = map[string]bool{
	"-a": true, "-n": true, "-x": true, "-v": true, "-race": true, "-msan": true, "-asan": true,
	"-cover": true, "-trimpath": true, "-work": true, "-linkshared": true, "-modcacherw": true,
}

// makeEnv is the environment for make: without the variables the Makefile
// lets the caller override (GOARCH=amd64 for the RIE build, say), or that an
// outer `make test` passes down, so the dry run shows the Makefile's defaults.
func makeEnv() []string {
	drop := map[string]bool{
		"GO": true, "GOOS": true, "GOARCH": true, "CGO_ENABLED": true, "BUILD": true, "GOBUILD": true,
		"ARTIFACTS_DIR": true, "FUNCTIONS": true,
		"MAKEFLAGS": true, "MFLAGS": true, "MAKELEVEL": true, "MAKEOVERRIDES": true, "GNUMAKEFLAGS": true,
	}
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !drop[name] {
			env = append(env, kv)
		}
	}
	return env
}

// makeDryRun returns the commands `make -n args...` prints in root.
func makeDryRun(root string, args ...string) ([]string, error) {
	cmd := exec.Command("make", append([]string{"-n", "--no-print-directory"}, args...)...)
	cmd.Dir = root
	cmd.Env = makeEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("make -n %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// parseGoBuild reads a `[NAME=value...] go build [flags] packages` line.
func parseGoBuild(line string) (goBuild, error) {
	words, err := shellWords(line)
	if err != nil {
		return goBuild{}, err
	}
	b := goBuild{Env: map[string]string{}, Flags: map[string]string{}}
	for len(words) > 0 && assignment.MatchString(words[0]) {
		name, value, _ := strings.Cut(words[0], "=")
		b.Env[name] = value
		words = words[1:]
	}
	if len(words) < 2 || filepath.Base(words[0]) != "go" || words[1] != "build" {
		return goBuild{}, fmt.Errorf("not a go build command: %s", line)
	}
	words = words[2:]
	for len(words) > 0 && strings.HasPrefix(words[0], "-") {
		flag, value, hasValue := strings.Cut(strings.Replace(words[0], "--", "-", 1), "=")
		words = words[1:]
		if !hasValue && !boolFlags[flag] {
			if len(words) == 0 {
				return goBuild{}, fmt.Errorf("flag %s has no value: %s", flag, line)
			}
			value, words = words[0], words[1:]
		}
		if flag == "-o" {
			b.Output = value
			continue
		}
		b.Flags[flag] = value
	}
	b.Packages = words
	return b, nil
}

// shellWords splits a command line as sh would, for the quoting make prints
// (single and double quotes, backslash escapes); it does not expand anything.
func shellWords(line string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unclosed quote: %s", line)
			}
			word.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				word.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, fmt.Errorf("unclosed quote: %s", line)
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			inWord = true
		case strings.IndexByte("|&;<>()$`*?[#~", c) >= 0:
			return nil, fmt.Errorf("shell syntax %q is not a plain command: %s", c, line)
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}

// checkBuildCommands checks what `make -n <target>` printed: one Lambda
// build of one function package into output. It returns the package.
func checkBuildCommands(target string, lines []string, output string) (string, []string) {
	if len(lines) != 1 {
		return "", []string{fmt.Sprintf("make %s runs %d commands %q, want 1 go build", target, len(lines), lines)}
	}
	b, err := parseGoBuild(lines[0])
	if err != nil {
		return "", []string{fmt.Sprintf("make %s: %v", target, err)}
	}
	var problems []string
	if !maps.Equal(b.Env, lambdaBuild.Env) {
		problems = append(problems, fmt.Sprintf("make %s builds with environment %v, want %v", target, b.Env, lambdaBuild.Env))
	}
	if !maps.Equal(b.Flags, lambdaBuild.Flags) {
		problems = append(problems, fmt.Sprintf("make %s builds with flags %q, want %q", target, b.Flags, lambdaBuild.Flags))
	}
	if b.Output != output {
		problems = append(problems, fmt.Sprintf("make %s writes %q, want %q", target, b.Output, output))
	}
	if len(b.Packages) != 1 || !sourceDir.MatchString(b.Packages[0]) {
		problems = append(problems, fmt.Sprintf("make %s builds packages %q, want one of ./functions/<dir> or ./authorizer", target, b.Packages))
		return "", problems
	}
	return b.Packages[0], problems
}

// checkBuildMetadata checks that SAM builds fn through the Makefile from the
// repository root, and that the template's GoPackage note (when present)
// names the package the Makefile builds.
func checkBuildMetadata(fn resource, pkg string) []string {
	var problems []string
	if got, _ := plainScalar(at(fn.Node, "Metadata.BuildMethod")); got != "makefile" {
		problems = append(problems, fmt.Sprintf("%s: Metadata.BuildMethod is %q, want %q", fn.ID, got, "makefile"))
	}
	if got := render(fn.prop("CodeUri")); got != "." {
		problems = append(problems, fmt.Sprintf("%s: CodeUri is %q, want %q (the Makefile is at the root)", fn.ID, got, "."))
	}
	if note := at(fn.Node, "Metadata.GoPackage"); note != nil && pkg != "" {
		if got := render(note); got != pkg {
			problems = append(problems, fmt.Sprintf("%s: Metadata.GoPackage is %q, but make builds %q", fn.ID, got, pkg))
		}
	}
	return problems
}

// checkSourceDirs checks that each function's package is a main package on
// disk, and that no function directory is missing from the template.
// pkgs maps logical ids to packages ("./functions/whoami").
func checkSourceDirs(root string, pkgs map[string]string) []string {
	var problems []string
	built := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(pkgs)) {
		pkg := pkgs[id]
		built[pkg] = true
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, pkg, "main.go"), nil, parser.PackageClauseOnly)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", id, err))
			continue
		}
		if f.Name.Name != "main" {
			problems = append(problems, fmt.Sprintf("%s: %s/main.go is package %s, want main", id, pkg, f.Name.Name))
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "functions", "*"))
	dirs = append(dirs, filepath.Join(root, "authorizer"))
	for _, dir := range dirs {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			continue
		}
		rel, _ := filepath.Rel(root, dir)
		if pkg := "./" + filepath.ToSlash(rel); !built[pkg] {
			problems = append(problems, fmt.Sprintf("%s has no function in template.yaml (or no build-<LogicalId> target building it)", pkg))
		}
	}
	return problems
}
