package env_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/dcs-access/dcs-access/internal/env"
)

func TestMustNamesTheMissingVariable(t *testing.T) {
	t.Setenv("DCS_TEST_SET", " value ")
	t.Setenv("DCS_TEST_BLANK", "  ")
	if v, err := env.Must("DCS_TEST_SET"); err != nil || v != "value" {
		t.Fatalf("got %q, %v; want the trimmed value", v, err)
	}
	if _, err := env.Must("DCS_TEST_BLANK"); err == nil || !strings.Contains(err.Error(), "DCS_TEST_BLANK") {
		t.Fatalf("got %v, want an error naming DCS_TEST_BLANK", err)
	}
	if got := env.Or("DCS_TEST_BLANK", "default"); got != "default" {
		t.Fatalf("got %q, want the default for a blank variable", got)
	}
}

func TestListDropsBlanks(t *testing.T) {
	if got, want := env.List(" a, ,b ,"), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
