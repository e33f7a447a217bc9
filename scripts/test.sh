#!/usr/bin/env bash
# The test suite proper; runs inside scripts/with-services.sh (private network,
# DynamoDB Local and moto up). Go modules were downloaded by scripts/deps.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOFLAGS=-mod=readonly GOPROXY=off

# -race: the tests start goroutines (concurrent claims, servers, stand-ins); a race fails them.
go test -race -count=1 ./...
# The verifier's fuzz target runs for a few seconds on every test run. Each
# budget is a count of inputs (about 5 s on 2 cores), not a duration: with
# go1.26 a duration can end in a spurious "context deadline exceeded" with no
# failing input (golang/go#75804, fixed in go1.27), and a count never does.
# FUZZTIME overrides all three (a duration such as 60s, or a count such as 1000000x).
go test -run='^$' -fuzz=FuzzVerify -fuzztime="${FUZZTIME:-40000x}" ./internal/apitoken
# So does the strict JSON walk, which reads every request body.
go test -run='^$' -fuzz=FuzzUnmarshal -fuzztime="${FUZZTIME:-40000x}" ./internal/strictjson
# And the DynamoDB codec against the SDK's own, both ways, on items the fuzzer makes.
go test -run='^$' -fuzz=FuzzCodecAgreesWithTheSDKs -fuzztime="${FUZZTIME:-8000x}" ./internal/ddb
