// Package jsforcetest keeps the Salesforce simulator honest: it drives sfsim
// with jsforce 3, a real Salesforce client that neither sfsim nor package
// salesforce was written with, making the calls that jsforce users and the
// Salesforce CLI make (JWT bearer sign-in for production and sandbox users,
// paged SOQL queries, the CLI's Tooling API refresh of SandboxInfo and its
// SandboxProcess queries, activation through RefreshAction, sObject
// Collections updates with per-record errors, freezing through UserLogin,
// and query errors). Each *.test.mjs file is a node:test suite; the Go test
// starts sfsim on a loopback port, seeds it, runs each suite with node and
// reports every check as its own Go subtest, so a simulator that rejects or
// misanswers what jsforce sends fails by name.
//
// The checks are written from what real Salesforce answers and real clients
// send (each names its source: Salesforce's documentation, jsforce's,
// sfdx-core's or plugin-org's code), not from what sfsim does: where the two
// differ the check fails, on purpose, until sfsim is fixed.
//
// jsforce is pinned to 3.10.16, the last 3.x release that runs on Node 20:
// 3.10.17 and later need Node 22 (undici 8). 3.10.16 to 3.10.18 differ only
// in their HTTP transport (node-fetch, then undici), not in the requests
// they send.
//
// Setup, once (make deps does it, through scripts/deps.sh):
//
//	(cd internal/salesforce/sfsim/jsforcetest && npm ci)
//
// Missing node or node_modules/jsforce, the test fails and says so; it never
// skips. It needs no network beyond loopback, so it runs inside make test's
// private network namespace.
package jsforcetest
