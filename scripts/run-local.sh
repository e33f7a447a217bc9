#!/usr/bin/env bash
# `make run`: DynamoDB Local (data kept in .local/dynamodb), the Step Functions
# stand-in running statemachine/sandbox-refresh.asl.json, and the local API
# server on 127.0.0.1:3000 with the Salesforce and DCS simulators. Ctrl-C
# stops all three.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash scripts/deps.sh >/dev/null
DDB_DIR=${DYNAMODB_LOCAL_DIR:-$ROOT/.local/tools/dynamodb-local}
DDB_PORT=${DDB_LOCAL_PORT:-8765}
SFN_PORT=${SFN_LOCAL_PORT:-8083}
ADDR=${ADDR:-127.0.0.1:3000}
# Waits in the state machine run ten times faster than written, so a local
# refresh takes a minute, not an hour.
WAIT_SCALE=${WAIT_SCALE:-0.1}
mkdir -p .local/dynamodb .local/logs

for port in "$DDB_PORT" "$SFN_PORT" "${ADDR##*:}"; do
  if curl -s -o /dev/null "http://127.0.0.1:$port"; then
    echo "run: port $port is taken (set DDB_LOCAL_PORT, SFN_LOCAL_PORT or ADDR)" >&2
    exit 1
  fi
done

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null || true' EXIT INT TERM

# DynamoDB Local has no bind-address flag: it listens on every interface.
# -sharedDb keeps one database whatever region or credentials a client uses.
java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -jar "$DDB_DIR/DynamoDBLocal.jar" \
  -sharedDb -dbPath "$ROOT/.local/dynamodb" -port "$DDB_PORT" >.local/logs/dynamodb-local.log 2>&1 &
pids+=($!)

(cd scripts/stepfunctions-local && exec env PORT="$SFN_PORT" WAIT_SCALE="$WAIT_SCALE" \
  LAMBDA_ENDPOINT="http://$ADDR/local/lambda" STATUS_EVENTS_ENDPOINT="http://$ADDR/local/events" \
  DEFINITION_FILE="$ROOT/statemachine/sandbox-refresh.asl.json" STATE_MACHINE_NAME=sandbox-refresh \
  SUBSTITUTIONS='{"PipelineStepsFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:PipelineStepsFunction"}' \
  node server.mjs) >.local/logs/stepfunctions-local.log 2>&1 &
pids+=($!)

wait_for() { # NAME URL
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$2" && return 0
    sleep 0.2
  done
  echo "run: $1 did not start; see .local/logs/" >&2
  exit 1
}
wait_for "DynamoDB Local" "http://127.0.0.1:$DDB_PORT"
wait_for "the Step Functions stand-in" "http://127.0.0.1:$SFN_PORT"
ARN=$(sed -n 's/^state machine //p' .local/logs/stepfunctions-local.log | head -n1)
[[ -n $ARN ]] || { cat .local/logs/stepfunctions-local.log >&2; echo "run: the stand-in did not create the state machine" >&2; exit 1; }

go run ./cmd/local -addr "$ADDR" -dynamodb "http://127.0.0.1:$DDB_PORT" -data "$ROOT/.local" \
  -stepfunctions "http://127.0.0.1:$SFN_PORT" -state-machine-arn "$ARN"
