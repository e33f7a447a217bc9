#!/usr/bin/env bash
# Install (idempotently) the AWS Lambda Runtime Interface Emulator into .local/tools/bin,
# where internal/lambdatest looks for it. Run it before scripts/with-services.sh: it
# downloads from the Go module proxy, and nothing inside the test namespace can.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# A pseudo-version: the emulator publishes no tagged module releases. Bump deliberately.
RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
BIN_DIR=$ROOT/.local/tools/bin
RIE=$BIN_DIR/aws-lambda-rie

say() { printf 'install-rie: %s\n' "$*"; }
die() { printf 'install-rie: ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "go missing: install the Go toolchain named in go.mod"

# Installed and built from the pinned version? `go version -m` reads the module
# version stamped into the binary, so a stale or foreign binary is replaced.
if [[ -x $RIE ]] && go version -m "$RIE" 2>/dev/null | grep -qF "$RIE_MODULE"$'\t'"$RIE_VERSION"; then
  say "aws-lambda-rie ok ($RIE, $RIE_VERSION, already present)"
  exit 0
fi

mkdir -p "$BIN_DIR"
say "installing aws-lambda-rie $RIE_VERSION into $BIN_DIR"
# Run outside the repo, with the caller's GOFLAGS cleared, so nothing of this project's
# module settings plays a part. CGO off: a static binary, like the emulator AWS ships.
(cd / && GOBIN=$BIN_DIR CGO_ENABLED=0 GOFLAGS='' go install "$RIE_MODULE/cmd/aws-lambda-rie@$RIE_VERSION") \
  || die "go install $RIE_MODULE/cmd/aws-lambda-rie@$RIE_VERSION failed (Go module proxy reachable?)"
[[ -x $RIE ]] || die "go install succeeded but $RIE is missing"
say "aws-lambda-rie ok ($RIE, installed)"
