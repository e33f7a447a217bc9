#!/usr/bin/env bash
# `make run`: DynamoDB Local (data kept in .local/dynamodb) and the local API
# server on 127.0.0.1:3000. Ctrl-C stops both.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash scripts/deps.sh >/dev/null
DDB_DIR=${DYNAMODB_LOCAL_DIR:-$ROOT/.local/tools/dynamodb-local}
DDB_PORT=${DDB_LOCAL_PORT:-8765}
ADDR=${ADDR:-127.0.0.1:3000}
mkdir -p .local/dynamodb .local/logs

if curl -s -o /dev/null "http://127.0.0.1:$DDB_PORT"; then
  echo "run: port $DDB_PORT is taken; set DDB_LOCAL_PORT to a free port" >&2
  exit 1
fi
# DynamoDB Local has no bind-address flag: it listens on every interface.
# -sharedDb keeps one database whatever region or credentials a client uses.
java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -jar "$DDB_DIR/DynamoDBLocal.jar" \
  -sharedDb -dbPath "$ROOT/.local/dynamodb" -port "$DDB_PORT" >.local/logs/dynamodb-local.log 2>&1 &
ddb_pid=$!
trap 'kill $ddb_pid 2>/dev/null; wait $ddb_pid 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$DDB_PORT" && break
  kill -0 $ddb_pid 2>/dev/null || { cat .local/logs/dynamodb-local.log >&2; echo "run: DynamoDB Local did not start" >&2; exit 1; }
  sleep 0.2
done

go run ./cmd/local -addr "$ADDR" -dynamodb "http://127.0.0.1:$DDB_PORT" -data "$ROOT/.local"
