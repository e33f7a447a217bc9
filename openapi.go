// Package dcsaccess is the repository's root: it embeds openapi.yaml, the
// description of the API, so that what the console function and the local
// server serve at /openapi.yaml is the file the tests check.
package dcsaccess

import _ "embed"

// OpenAPI is openapi.yaml (OpenAPI 3.1).
//
//go:embed openapi.yaml
var OpenAPI []byte
