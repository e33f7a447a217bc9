#!/usr/bin/env bash
# Validates the state machine definition(s) with asl-validator, after filling the
# DefinitionSubstitutions placeholders with well-formed example values (as CloudFormation
# would), so the ARN checks run on real-looking ARNs rather than on "${...}".
# Usage: scripts/stepfunctions-local/validate.sh [FILE.asl.json ...]   (default: statemachine/*.asl.json)
# Needs `npm ci` in this directory.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[[ -x $HERE/node_modules/.bin/asl-validator ]] ||
  { echo "validate: run 'npm ci' in $HERE first" >&2; exit 1; }

SUBSTITUTIONS=${SUBSTITUTIONS:-'{
  "PipelineStepsFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:dcs-access-pipeline-steps"
}'}

files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=("$ROOT"/statemachine/*.asl.json)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for f in "${files[@]}"; do
  out=$tmp/$(basename "$f")
  node "$HERE/substitute.mjs" "$f" "$SUBSTITUTIONS" >"$out"
  if "$HERE/node_modules/.bin/asl-validator" --json-path "$out" --silent; then
    echo "validate: ok $f"
  else
    "$HERE/node_modules/.bin/asl-validator" --json-path "$out" >&2 || true
    echo "validate: INVALID $f" >&2
    status=1
  fi
done
exit "$status"
