// Package env reads a function's configuration from its environment at cold
// start, failing loudly when the template did not set what the code needs.
package env

import (
	"fmt"
	"os"
	"strings"
)

// Must returns the value of name, or an error naming it when unset.
func Must(name string) (string, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return "", fmt.Errorf("environment variable %s must be set", name)
	}
	return v, nil
}

// Or returns the value of name, or def when unset.
func Or(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// List splits a comma-separated value, dropping blanks.
func List(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
