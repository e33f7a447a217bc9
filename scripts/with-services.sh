#!/usr/bin/env bash
# Usage: scripts/with-services.sh CMD [ARGS...]
# Runs CMD with DynamoDB Local and moto_server, all inside private network and PID
# namespaces: nothing can leave the machine (DynamoDB Local binds every interface and has
# no host flag), and every process started here dies with it.
# Needs scripts/deps.sh to have run (jar in place, Go modules downloaded).
set -euo pipefail
# One brace block: bash parses it whole before running, so editing this file while a
# (minute-long) run is in progress cannot make the running copy execute a shifted text.
{

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SELF")/.." && pwd)
export PATH="$ROOT/.local/venv/bin:$PATH" # moto, when scripts/deps.sh installed it there
MARKER=DCS_ACCESS_IN_NETNS

die() { printf 'with-services: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $# -gt 0 ]] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

# --- 1. re-exec inside fresh namespaces --------------------------------------
if [[ ${!MARKER:-} != 1 ]]; then
  command -v unshare >/dev/null || die "unshare missing (util-linux); run scripts/deps.sh"
  # -n: private network (only a down lo). -p -f: private PID namespace, our re-exec is
  # PID 1, so when it exits the kernel kills whatever is left (services, test binaries).
  # --kill-child: if unshare itself is killed, so is PID 1, and with it everything.
  # --mount-proc: a /proc for the new PID namespace, else ps/pgrep inside fail ("lookup self").
  # Root uses plain -n: real root keeps its own uid on files (no user-ns mapping). Others
  # add -r (user namespace mapped to root), which keeps HOME/GOCACHE/GOMODCACHE the same
  # paths and writable, since the caller owns them. Probe, as containers differ in what they allow.
  base=(-n -p -f --kill-child)
  ns=()
  for cand in "--mount-proc" "-r --mount-proc" "" "-r"; do
    [[ $EUID -ne 0 && $cand != -r* ]] && continue
    read -ra extra <<<"$cand"
    if unshare "${base[@]}" "${extra[@]}" true 2>/dev/null; then
      ns=("${base[@]}" "${extra[@]}")
      break
    fi
  done
  [[ ${#ns[@]} -gt 0 ]] || die "unshare cannot create network+PID namespaces here (try: unshare -rn -pf true)"
  export "$MARKER=1"
  exec unshare "${ns[@]}" -- bash "$SELF" "$@"
fi

# The marker alone is not trusted: refuse to run if any interface besides lo is visible.
ifaces=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -vx lo || true)
[[ -z $ifaces ]] || die "$MARKER is set but not in a private network namespace (interfaces: $ifaces)"
ip link set lo up || die "cannot bring lo up in the network namespace"

# --- 2. start the services ---------------------------------------------------
DDB_DIR=${DYNAMODB_LOCAL_DIR:-$ROOT/.local/tools/dynamodb-local}
DDB_PORT=${DDB_LOCAL_PORT:-8000}   # fixed ports are safe: the namespace is ours alone
MOTO_PORT=${MOTO_SERVER_PORT:-5000}
[[ $DDB_PORT != "$MOTO_PORT" ]] || die "DDB_LOCAL_PORT and MOTO_SERVER_PORT must differ (both $DDB_PORT)"
LOG_DIR=$ROOT/.local/logs
mkdir -p "$LOG_DIR"
ddb_log=$LOG_DIR/dynamodb-local.log
moto_log=$LOG_DIR/moto.log

[[ -f $DDB_DIR/DynamoDBLocal.jar ]] || die "no $DDB_DIR/DynamoDBLocal.jar; run scripts/deps.sh"
command -v java >/dev/null || die "java missing; run scripts/deps.sh"
command -v moto_server >/dev/null || die "moto_server missing; run scripts/deps.sh"
command -v curl >/dev/null || die "curl missing; run scripts/deps.sh"

pids=()
# shellcheck disable=SC2317 # only called from the EXIT trap
stop_services() {
  local pid alive _
  [[ ${#pids[@]} -gt 0 ]] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  # JVM shutdown takes a moment; give both up to 5 s before SIGKILL.
  for _ in $(seq 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive -eq 1 ]] || break
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}
trap stop_services EXIT
# As PID 1 of the namespace, bash gets INT/TERM only if it handles them; exit runs the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

# cd: DynamoDB Local resolves its manifest Class-Path relative to the jar, but keep any stray
# files it might write out of the repo root. -inMemory: nothing persists between runs.
(cd "$DDB_DIR" && exec java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" \
  -jar "$DDB_DIR/DynamoDBLocal.jar" -inMemory -port "$DDB_PORT") >"$ddb_log" 2>&1 &
pids+=("$!")
ddb_pid=$!
# scripts/moto_server.py is moto_server with KMS MessageType=DIGEST honoured.
python3 "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT" >"$moto_log" 2>&1 &
pids+=("$!")
moto_pid=$!

# wait_ready NAME PID URL LOG: any HTTP answer counts (DynamoDB Local answers GET / with 400).
wait_ready() {
  local name=$1 pid=$2 url=$3 log=$4 _
  for _ in $(seq 300); do
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      printf 'with-services: ERROR: %s exited during startup; log %s:\n' "$name" "$log" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  printf 'with-services: ERROR: %s not answering at %s after 30 s; log %s:\n' "$name" "$url" "$log" >&2
  cat "$log" >&2
  exit 1
}
wait_ready dynamodb-local "$ddb_pid" "http://127.0.0.1:$DDB_PORT/" "$ddb_log"
wait_ready moto_server "$moto_pid" "http://127.0.0.1:$MOTO_PORT/moto-api/" "$moto_log"
# Both must still be up: one dying after its port answered would otherwise surface as odd test errors.
kill -0 "$ddb_pid" 2>/dev/null || { cat "$ddb_log" >&2; die "dynamodb-local exited after startup"; }
kill -0 "$moto_pid" 2>/dev/null || { cat "$moto_log" >&2; die "moto_server exited after startup"; }

# --- 3. run CMD ----------------------------------------------------------------
export DYNAMODB_ENDPOINT=http://127.0.0.1:$DDB_PORT
export MOTO_ENDPOINT=http://127.0.0.1:$MOTO_PORT
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 # SDKs read the first, the CLI the second
export AWS_EC2_METADATA_DISABLED=true
# A profile or session token from the caller's shell would mix with the fake keys above.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
# No network in here: make Go fail fast on a missing module instead of timing out.
export GOPROXY=off

set +e
"$@"
status=$?
set -e
exit "$status"
}
