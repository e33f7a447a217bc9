// Package runlocaltest holds tests, and nothing else, of `make run`
// (scripts/run-local.sh) as a whole: that no service it starts can be
// reached from outside the machine, probed from a second network namespace
// joined by a veth pair, while the API still answers on 127.0.0.1; and that
// it says so and stops when DynamoDB Local dies.
//
// The tests create network namespaces and interfaces, so they refuse to run
// anywhere but in the private namespace of scripts/with-services.sh (which
// `make test` uses), as root there (real root, or root of the user
// namespace that with-services.sh makes for other users).
package runlocaltest
