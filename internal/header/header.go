// Package header reads HTTP headers as API Gateway passes them on to a
// Lambda function: a map keyed by each name as the client spelled it, the
// last value of each. It is a leaf package (the standard library only), so
// that the small functions (console, public keys) link nothing more for it.
package header

import "strings"

// Get is the value of header name in any spelling ("" when absent): header
// names are case-insensitive (RFC 9110, section 5.1).
func Get(headers map[string]string, name string) string {
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
