#!/usr/bin/env bash
# `make run`: DynamoDB Local (data kept in .local/dynamodb), the Step Functions
# stand-in running statemachine/sandbox-refresh.asl.json, and the local API
# server on 127.0.0.1:3000 with the Salesforce and DCS simulators. Ctrl-C
# stops all three, and so does any of them stopping (it says which).
#
# Nothing here can be reached from outside the machine: the local server and
# the stand-in listen on 127.0.0.1 only, and DynamoDB Local, which has no
# bind-address flag and listens on every interface, runs in a private network
# namespace of its own, reached through a loopback-only port that
# cmd/netns-forward forwards into it. Web pages the developer visits are
# turned away too: the local server and the stand-in check Host, and
# netns-forward refuses requests with an Origin header or a foreign Host
# (internal/runlocaltest checks all this; see docs/security.md).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

die() { printf 'run: %s\n' "$*" >&2; exit 1; }
((BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1))) || die "needs bash 5.1 or later (wait -n -p)"

bash scripts/deps.sh >/dev/null
DDB_DIR=${DYNAMODB_LOCAL_DIR:-$ROOT/.local/tools/dynamodb-local}
DDB_PORT=${DDB_LOCAL_PORT:-8765}
SFN_PORT=${SFN_LOCAL_PORT:-8083}
ADDR=${ADDR:-127.0.0.1:3000}
# DATA_DIR holds the table, the local keys, the logs and the built commands
# (tests point it elsewhere).
DATA_DIR=${DATA_DIR:-$ROOT/.local}
# Waits in the state machine run ten times faster than written, so a local
# refresh takes a minute, not an hour.
WAIT_SCALE=${WAIT_SCALE:-0.1}
LOGS=$DATA_DIR/logs
BIN=$DATA_DIR/bin
mkdir -p "$DATA_DIR/dynamodb" "$LOGS" "$BIN"

for port in "$DDB_PORT" "$SFN_PORT" "${ADDR##*:}"; do
  if curl -s -o /dev/null "http://127.0.0.1:$port"; then
    die "port $port is taken (set DDB_LOCAL_PORT, SFN_LOCAL_PORT or ADDR)"
  fi
done

# Built, not `go run`: a signal then reaches the program itself.
go build -o "$BIN/netns-forward" ./cmd/netns-forward
go build -o "$BIN/dcs-local" ./cmd/local

declare -A name=() log=() # by pid
stop_all() {
  local pid _
  [[ ${#name[@]} -gt 0 ]] || return 0
  kill -TERM "${!name[@]}" 2>/dev/null || true
  for _ in $(seq 50); do # DynamoDB Local's JVM takes a moment
    for pid in "${!name[@]}"; do kill -0 "$pid" 2>/dev/null || unset "name[$pid]"; done
    [[ ${#name[@]} -gt 0 ]] || return 0
    sleep 0.1
  done
  kill -KILL "${!name[@]}" 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -sharedDb keeps one database whatever region or credentials a client uses.
"$BIN/netns-forward" -listen "127.0.0.1:$DDB_PORT" -- \
  java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -jar "$DDB_DIR/DynamoDBLocal.jar" \
  -sharedDb -dbPath "$DATA_DIR/dynamodb" -port "$DDB_PORT" >"$LOGS/dynamodb-local.log" 2>&1 &
name[$!]="DynamoDB Local" log[$!]=$LOGS/dynamodb-local.log
ddb=$!

(cd scripts/stepfunctions-local && exec env PORT="$SFN_PORT" WAIT_SCALE="$WAIT_SCALE" \
  LAMBDA_ENDPOINT="http://$ADDR/local/lambda" STATUS_EVENTS_ENDPOINT="http://$ADDR/local/events" \
  DEFINITION_FILE="$ROOT/statemachine/sandbox-refresh.asl.json" STATE_MACHINE_NAME=sandbox-refresh \
  SUBSTITUTIONS='{"PipelineStepsFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:PipelineStepsFunction"}' \
  node server.mjs) >"$LOGS/stepfunctions-local.log" 2>&1 &
name[$!]="the Step Functions stand-in" log[$!]=$LOGS/stepfunctions-local.log
sfn=$!

wait_for() { # PID URL: any answer but netns-forward's 502 (nothing listening inside yet)
  local code
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$2" || true)
    [[ $code != 000 && $code != 502 ]] && return 0
    kill -0 "$1" 2>/dev/null || { cat "${log[$1]}" >&2; die "${name[$1]} exited during startup; its log is ${log[$1]}"; }
    sleep 0.2
  done
  die "${name[$1]} did not start; see ${log[$1]}"
}
wait_for "$ddb" "http://127.0.0.1:$DDB_PORT"
wait_for "$sfn" "http://127.0.0.1:$SFN_PORT"
ARN=$(sed -n 's/^state machine //p' "$LOGS/stepfunctions-local.log" | head -n1)
[[ -n $ARN ]] || { cat "$LOGS/stepfunctions-local.log" >&2; die "the stand-in did not create the state machine"; }

"$BIN/dcs-local" -addr "$ADDR" -dynamodb "http://127.0.0.1:$DDB_PORT" -data "$DATA_DIR" \
  -stepfunctions "http://127.0.0.1:$SFN_PORT" -state-machine-arn "$ARN" &
name[$!]="the local server" log[$!]="the output above"

# Whichever stops first stops make run: without DynamoDB Local, say, the API
# would answer every request 503 until someone noticed.
set +e
wait -n -p ended "${!name[@]}"
status=$?
set -e
printf '\nrun: %s stopped (exit status %d); see %s. Stopping make run: start it again with make run.\n' \
  "${name[$ended]}" "$status" "${log[$ended]}" >&2
exit 1
