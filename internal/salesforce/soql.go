package salesforce

import (
	"net/url"
	"slices"
	"strings"
)

// IN lists are split so that no query's URL grows past what Salesforce
// accepts (16,384 bytes): at most 200 values and 8000 URL-encoded
// characters per list.
const (
	maxInValues = 200
	maxInChars  = 8000
)

var soqlEscaper = strings.NewReplacer(
	`\`, `\\`,
	`'`, `\'`,
	`"`, `\"`,
	"\n", `\n`,
	"\r", `\r`,
	"\t", `\t`,
	"\b", `\b`,
	"\f", `\f`,
)

// quote returns s as a SOQL string literal, escaped so no value can end the
// literal early and change the query.
func quote(s string) string {
	return "'" + soqlEscaper.Replace(s) + "'"
}

// inLists returns the distinct values as SOQL IN lists, e.g. ('a','b'),
// split to keep each query small.
func inLists(values []string) []string {
	seen := make(map[string]bool, len(values))
	var lists []string
	var cur []string
	size := 0
	flush := func() {
		if len(cur) > 0 {
			lists = append(lists, "("+strings.Join(cur, ",")+")")
			cur, size = nil, 0
		}
	}
	for _, v := range values {
		if seen[v] {
			continue
		}
		seen[v] = true
		q := quote(v)
		n := len(url.QueryEscape(q + ","))
		if len(cur) == maxInValues || (len(cur) > 0 && size+n > maxInChars) {
			flush()
		}
		cur = append(cur, q)
		size += n
	}
	flush()
	return slices.Clip(lists)
}
