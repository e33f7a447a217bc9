// Package browsertest drives the console in a real headless Chromium
// (Debian's chromium, through npm playwright-core) against the local stack
// started in process: DynamoDB Local, the Step Functions stand-in with the
// real state machine, the Salesforce and DCS simulators, and the local
// server with the console mounted at "/".
//
// Run it inside scripts/with-services.sh (make test does): the stack and the
// browser stay on loopback in a private network namespace. Setup, once:
//
//	apt-get install -y chromium
//	(cd internal/console/browsertest && npm ci)
//
// Missing either, the test fails and says so; it never skips. npm ci also
// installs axe-core, which checks every main state of the console for
// accessibility violations.
package browsertest
