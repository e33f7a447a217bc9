// Package templatecheck holds tests, and nothing else, that read template.yaml
// and check what cfn-lint cannot: that the root Makefile builds every function
// from its own package with the Lambda build flags; that each function's
// environment is exactly what its code reads; that each function's
// permissions, IAM and key policy alike, are an allowlist written in the
// tests, in every combination of the parameters that choose the signing
// keys; that the authorizer guards every route of the API and never caches
// a result; and that the token table is the one the DynamoDB store expects.
//
// Each check is a function from the parsed template to a list of problems,
// so the tests also run every check on mutated copies of the template to
// prove that it can fail.
package templatecheck
