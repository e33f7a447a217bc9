package templatecheck

import (
	"go/token"
	"maps"
	"slices"
	"strings"
	"testing"
)

// The reader's tests read a small module written for them, so they do not
// change when the real wiring does: an adapter package (store) whose
// constructors read their own variables, as internal/dynamo's FromEnv does,
// and a package (wiring) whose functions call them.

const storeSource = `package store

import (
	"example.com/m/internal/awsconfig"
	"example.com/m/internal/env"
)

const tableVar = "TABLE_NAME"

var region = env.Or("REGION", "eu-west-1")

type Store struct{}

func FromEnv() (*Store, error) {
	_ = awsconfig.Load()
	_, err := env.Must(tableVar)
	return &Store{}, err
}

func Unused() { _, _ = env.Must("NEVER_CALLED") }
`

const wiringSource = `package wiring

import (
	"example.com/m/internal/env"
	"example.com/m/internal/store"
)

func Create() error {
	if _, err := store.FromEnv(); err != nil {
		return err
	}
	_, err := env.Must("ISSUER")
	return err
}

func List() error { _, err := store.FromEnv(); return err }

func Delete() error { return List() }

func Authorizer() error {
	for _, name := range []string{"AUDIENCE", "JWKS"} {
		if _, err := env.Must(name); err != nil {
			return err
		}
	}
	_ = env.Or("CLAIM", "email")
	_, err := store.FromEnv()
	return err
}
`

// awsconfigSource stands for Lambda's own variables, which are not counted.
const awsconfigSource = `package awsconfig

import "os"

func Load() string { return os.Getenv("AWS_REGION") }
`

// mainSource is a functions/<name>/main.go that calls wiring.<call>.
func mainSource(call string) string {
	return `package main

import "example.com/m/internal/wiring"

func main() { _ = ` + call + ` }
`
}

// testModule is the module's packages by import path, with main's source.
func testModule(main string) map[string]map[string]string {
	return map[string]map[string]string{
		"example.com/m/functions/fn":          {"main.go": main},
		"example.com/m/internal/store":        {"store.go": storeSource},
		"example.com/m/internal/wiring":       {"wiring.go": wiringSource},
		"example.com/m/internal/awsconfig":    {"awsconfig.go": awsconfigSource},
		"example.com/m/internal/unlinked":     {"unlinked.go": "package unlinked\n\nimport \"os\"\n\nvar debug = os.Getenv(\"DEBUG\")\n"},
		"example.com/m/internal/otheradapter": {"other.go": "package otheradapter\n\nimport \"example.com/m/internal/env\"\n\ntype Client struct{}\n\nfunc (Client) Connect() string { return env.Or(\"URL\", \"\") }\n"},
	}
}

// linkedByMain is what the main packages of these tests link.
var linkedByMain = []string{"example.com/m/internal/store", "example.com/m/internal/wiring", "example.com/m/internal/awsconfig", "example.com/m/internal/env"}

func TestEnvReaderFollowsTheWiring(t *testing.T) {
	for _, tc := range []struct {
		name           string
		main           string
		linked         []string
		required, opts []string
	}{
		{
			name: "a constructor's literal and constant names are read, and package variables always are",
			main: mainSource("wiring.Create()"), linked: linkedByMain,
			required: []string{"ISSUER", "TABLE_NAME"}, opts: []string{"REGION"},
		},
		{
			name: "a function that calls another reads what that one reads, across packages",
			main: mainSource("wiring.Delete()"), linked: linkedByMain,
			required: []string{"TABLE_NAME"}, opts: []string{"REGION"},
		},
		{
			name: "a range over a []string literal is read name by name, and env.Or is optional",
			main: mainSource("wiring.Authorizer()"), linked: linkedByMain,
			required: []string{"AUDIENCE", "JWKS", "TABLE_NAME"}, opts: []string{"CLAIM", "REGION"},
		},
		{
			name: "a function value is followed like a call",
			main: mainSource("wiring.List"), linked: linkedByMain,
			required: []string{"TABLE_NAME"}, opts: []string{"REGION"},
		},
		{
			name: "a main that calls nothing reads only the package variables of what it links",
			main: mainSource("0"), linked: linkedByMain,
			opts: []string{"REGION"},
		},
		{
			name: "a package that is not linked reads nothing",
			main: "package main\n\nfunc main() {}\n",
		},
		{
			name: "the package variables of every linked package are read, called or not",
			main: "package main\n\nfunc main() {}\n", linked: []string{"example.com/m/internal/unlinked"},
			opts: []string{"DEBUG"},
		},
		{
			name: "a main that reads the environment itself is read too",
			main: "package main\n\nimport \"os\"\n\nfunc main() { _ = os.Getenv(\"DEBUG\") }\n",
			opts: []string{"DEBUG"},
		},
		{
			name: "Lambda's own variables (internal/awsconfig) are not counted",
			main: "package main\n\nimport \"example.com/m/internal/awsconfig\"\n\nfunc main() { _ = awsconfig.Load() }\n", linked: []string{"example.com/m/internal/awsconfig"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reads, _, err := readSources(t, tc.main, tc.linked)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(maps.Keys(reads.Required)); !slices.Equal(got, tc.required) {
				t.Errorf("required: got %v, want %v", got, tc.required)
			}
			if got := slices.Sorted(maps.Keys(reads.Optional)); !slices.Equal(got, tc.opts) {
				t.Errorf("optional: got %v, want %v", got, tc.opts)
			}
		})
	}
}

func TestEnvReaderRefusesWhatItCannotName(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"a name computed at run time is an error", `n := "A" + "B"; _, _ = env.Must(n)`, "cannot tell which environment variable"},
		{"a range over a slice variable is an error", `names := []string{"A"}; for _, n := range names { _, _ = env.Must(n) }`, "cannot tell which environment variable"},
		{"an env function the reader does not know is an error", `_ = env.Int("A", 1)`, "env.Int is not understood"},
		{"os.Environ is an error", `_ = os.Environ()`, "os.Environ reads variables"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			main := "package main\n\nimport (\n\t\"os\"\n\n\t\"example.com/m/internal/env\"\n)\n\nvar _ = os.Args\n\nfunc main() {\n\t" + tc.body + "\n}\n"
			_, _, err := readSources(t, main, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("a dot import of an adapter is an error", func(t *testing.T) {
		_, _, err := readSources(t, "package main\n\nimport . \"example.com/m/internal/store\"\n\nfunc main() { _, _ = FromEnv() }\n", linkedByMain)
		if err == nil || !strings.Contains(err.Error(), "a dot import of example.com/m/internal/store") {
			t.Errorf("got error %v, want a dot import refused", err)
		}
	})
}

func TestEveryEnvReadIsReached(t *testing.T) {
	l := &loader{fset: token.NewFileSet(), module: "example.com/m", sources: testModule(mainSource("wiring.List()"))}
	main, err := l.load("example.com/m/functions/fn")
	if err != nil {
		t.Fatal(err)
	}
	_, reached, err := codeEnvReads(l, main, linkedByMain)
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []*goPackage
	for _, path := range []string{"example.com/m/internal/store", "example.com/m/internal/wiring", "example.com/m/internal/otheradapter", "example.com/m/functions/fn"} {
		p, err := l.load(path)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	problems := checkEnvReadsReached("example.com/m", pkgs, reached)
	for _, tc := range []struct{ name, want string }{
		{"a read no function reaches is reported", `store.go:20:24: env.Must is reached from no function`},
		{"reads of functions this main does not call are reported too", `wiring.go:12:12: env.Must is reached from no function`},
		{"a read in a method is reported: the check cannot follow it there", "other.go:7:41: env.Or in method Connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !hasProblem(problems, tc.want) {
				t.Errorf("got problems %q, want one containing %q", problems, tc.want)
			}
		})
	}
	t.Run("the reads the main reaches are not reported", func(t *testing.T) {
		for _, p := range problems {
			if strings.Contains(p, "store.go:16:") || strings.Contains(p, "store.go:10:") {
				t.Errorf("got problem %q, for a read the main reaches", p)
			}
		}
	})
}

func readSources(t *testing.T, main string, linked []string) (envReads, map[token.Position]bool, error) {
	t.Helper()
	l := &loader{fset: token.NewFileSet(), module: "example.com/m", sources: testModule(main)}
	p, err := l.load("example.com/m/functions/fn")
	if err != nil {
		t.Fatal(err)
	}
	return codeEnvReads(l, p, linked)
}
