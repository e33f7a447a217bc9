package header_test

import (
	"testing"

	"github.com/dcs-access/dcs-access/internal/header"
)

func TestANameIsReadInAnySpelling(t *testing.T) {
	h := map[string]string{"user-AGENT": "curl/8.5.0", "If-None-Match": `"v1"`}
	for name, want := range map[string]string{"User-Agent": "curl/8.5.0", "user-agent": "curl/8.5.0", "if-none-match": `"v1"`, "Authorization": ""} {
		if got := header.Get(h, name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	if got := header.Get(nil, "User-Agent"); got != "" {
		t.Errorf("no headers: got %q", got)
	}
}
