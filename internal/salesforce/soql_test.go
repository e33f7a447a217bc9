package salesforce

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a plain value is only quoted", "dev", `'dev'`},
		{"a single quote is escaped", "o'brien", `'o\'brien'`},
		{"a backslash is escaped", `a\b`, `'a\\b'`},
		{"a trailing backslash cannot escape the closing quote", `x\`, `'x\\'`},
		{"an injection attempt stays one literal", `x' OR Name != '`, `'x\' OR Name != \''`},
		{"control characters are escaped", "a\nb\tc", `'a\nb\tc'`},
		{"a double quote is escaped", `say "hi"`, `'say \"hi\"'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quote(tt.in); got != tt.want {
				t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestInLists(t *testing.T) {
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("005%015d", i)
		}
		return out
	}
	long := make([]string, 150) // 80 characters each, some URL-encoded
	for i := range long {
		long[i] = fmt.Sprintf("%s%03d@acme.example", strings.Repeat("u", 64), i)
	}
	tests := []struct {
		name      string
		values    []string
		wantLists int
	}{
		{"no values make no list", nil, 0},
		{"200 ids make one list", ids(200), 1},
		{"450 ids make 3 lists", ids(450), 3},
		{"repeated values are asked for once", append(ids(200), ids(200)...), 1},
		{"long values are split by length", long, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lists := inLists(tt.values)
			if got := len(lists); got != tt.wantLists {
				t.Errorf("got %d lists, want %d", got, tt.wantLists)
			}
			for _, l := range lists {
				if n, size := strings.Count(l, ",")+1, len(url.QueryEscape(l)); n > maxInValues || size > maxInChars+6 {
					t.Errorf("list of %d values, %d encoded characters: want at most %d and %d", n, size, maxInValues, maxInChars)
				}
			}
		})
	}
}
