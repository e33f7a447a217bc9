package templatecheck

import (
	"go/token"
	"maps"
	"slices"
	"strings"
	"testing"
)

// appSource is a package app like internal/app, written for the reader's
// tests so they do not change when the real wiring does.
const appSource = `package app

import "example.com/m/internal/env"

const tableVar = "TABLE_NAME"

var region = env.Or("REGION", "eu-west-1")

func Start(handler any, err error) {}

func store() error {
	_, err := env.Must(tableVar)
	return err
}

func Create() error {
	if err := store(); err != nil {
		return err
	}
	_, err := env.Must("ISSUER")
	return err
}

func List() error { return store() }

func Delete() error { return List() }

func Authorizer() error {
	if err := store(); err != nil {
		return err
	}
	for _, name := range []string{"AUDIENCE", "JWKS"} {
		if _, err := env.Must(name); err != nil {
			return err
		}
	}
	_ = env.Or("CLAIM", "email")
	return nil
}

func Unused() { _, _ = env.Must("NEVER_CALLED") }
`

// mainSource is a functions/<name>/main.go that calls app.<call>.
func mainSource(call string) string {
	return `package main

import "example.com/m/internal/app"

func main() { app.Start(nil, ` + call + `) }
`
}

func TestEnvReaderFollowsTheWiring(t *testing.T) {
	for _, tc := range []struct {
		name           string
		main, app      string
		required, opts []string
	}{
		{
			name: "a constructor's literal and constant names are read, and package variables always are",
			main: mainSource("app.Create()"), app: appSource,
			required: []string{"ISSUER", "TABLE_NAME"}, opts: []string{"REGION"},
		},
		{
			name: "a constructor that calls another reads what that one reads",
			main: mainSource("app.Delete()"), app: appSource,
			required: []string{"TABLE_NAME"}, opts: []string{"REGION"},
		},
		{
			name: "a range over a []string literal is read name by name, and env.Or is optional",
			main: mainSource("app.Authorizer()"), app: appSource,
			required: []string{"AUDIENCE", "JWKS", "TABLE_NAME"}, opts: []string{"CLAIM", "REGION"},
		},
		{
			name: "a main that only starts a handler reads only the package variables",
			main: mainSource("nil"), app: appSource,
			opts: []string{"REGION"},
		},
		{
			name:     "what app.Start reads, every function that starts through it reads",
			main:     mainSource("app.List()"),
			app:      strings.Replace(appSource, "func Start(handler any, err error) {}", "func Start(handler any, err error) { _ = env.Or(\"ORIGIN\", \"\") }", 1),
			required: []string{"TABLE_NAME"}, opts: []string{"ORIGIN", "REGION"},
		},
		{
			name: "a main that does not import app reads nothing of it",
			main: "package main\n\nfunc main() {}\n", app: appSource,
		},
		{
			name: "a main that reads the environment itself is read too",
			main: "package main\n\nimport \"os\"\n\nfunc main() { _ = os.Getenv(\"DEBUG\") }\n", app: appSource,
			opts: []string{"DEBUG"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reads, err := readSources(t, tc.main, tc.app)
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
			app := "package app\n\nimport (\n\t\"os\"\n\n\t\"example.com/m/internal/env\"\n)\n\nvar _ = os.Args\n\nfunc Wire() {\n\t" + tc.body + "\n}\n"
			_, err := readSources(t, mainSource("app.Wire()"), app)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func readSources(t *testing.T, mainSrc, appSrc string) (envReads, error) {
	t.Helper()
	fset := token.NewFileSet()
	main, err := parsePackage(fset, map[string]string{"main.go": mainSrc})
	if err != nil {
		t.Fatal(err)
	}
	app, err := parsePackage(fset, map[string]string{"app.go": appSrc})
	if err != nil {
		t.Fatal(err)
	}
	return codeEnvReads("example.com/m", main, app)
}
