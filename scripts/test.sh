#!/usr/bin/env bash
# The whole test suite: unit tests, integration tests against a real (embedded) Postgres, and
# browser end-to-end tests in Chromium. Installs what is missing first.
#   scripts/test.sh
# Build artefacts go to $CARGO_TARGET_DIR (default ~/.cache/bartleby/target), shared between clones.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bartleby/target}
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# the test cluster lives under /tmp: when run as root, its unprivileged database user must reach it
export BARTLEBY_TEST_PG_DIR=${BARTLEBY_TEST_PG_DIR:-/tmp/bartleby-test-pg-$(id -u)}
# the test cluster holds small databases: Postgres's own default cache, not a quarter of the memory
export EMBEDDED_PG_SHARED_BUFFERS_MB=${EMBEDDED_PG_SHARED_BUFFERS_MB:-128}
LOGS=$(mktemp -d)
BARTLEBY_TEST_TMP=
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

scripts/setup.sh --test

say "Building the server and the WASM bundle"
scripts/build-site.sh debug
cargo build -p doubles   # bartleby-doubles: the hosted services' stand-ins
BIN="$CARGO_TARGET_DIR/debug/bartleby"

SERVER_PID=
DOUBLE_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -n "$DOUBLE_PID" ] && kill "$DOUBLE_PID" 2>/dev/null && wait "$DOUBLE_PID" 2>/dev/null || true
  [ -n "$BARTLEBY_TEST_TMP" ] && rm -rf "$BARTLEBY_TEST_TMP"
  for dir in "$BARTLEBY_TEST_PG_DIR" "$BARTLEBY_TEST_PG_DIR-restart" "$BARTLEBY_TEST_PG_DIR-supervised" "$BARTLEBY_TEST_PG_DIR-adopt"; do
    EMBEDDED_PG_DIR=$dir "$BIN" db stop >/dev/null 2>&1 || true
    rm -rf "$dir"
  done
}
trap cleanup EXIT
cleanup   # a cluster left over from an interrupted run
# the integration tests' files (data directories, the S3 server's objects): one directory per run
export BARTLEBY_TEST_TMP
BARTLEBY_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bartleby-tests.XXXXXX")

status=0
say "Unit tests (app)"
cargo test -p app --features ssr 2>&1 | tee "$LOGS/app.log" || status=1
say "Unit and integration tests (server, stand-ins, bench; against Postgres $BARTLEBY_TEST_PG_DIR)"
cargo test -p server -p doubles -p bench 2>&1 | tee "$LOGS/server.log" || status=1

say "Browser tests (Chromium)"
export EMBEDDED_PG_DIR=$BARTLEBY_TEST_PG_DIR
db_url=$("$BIN" db create "bartleby_e2e_test_$$" 2>/dev/null)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
DATABASE_URL="$db_url" DATA_DIR="$(mktemp -d "$BARTLEBY_TEST_TMP/e2e.XXXXXX")" PORT=$port RUST_LOG=warn "$BIN" serve >"$LOGS/e2e-server.log" 2>&1 &
SERVER_PID=$!
(cd end2end && BASE_URL="http://127.0.0.1:$port" npx playwright test 2>&1) | tee "$LOGS/e2e.log" || status=1
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=

say "Browser tests with STORAGE_BACKEND=vercel (against the local Vercel Blob stand-in)"
dport=$(free_port)
"$CARGO_TARGET_DIR/debug/bartleby-doubles" vercel-blob "$dport" >"$LOGS/double.log" 2>&1 &
DOUBLE_PID=$!
db_url=$("$BIN" db create "bartleby_e2e_vercel_test_$$" 2>/dev/null)
port=$(free_port)
STORAGE_BACKEND=vercel VERCEL_BLOB_API_URL="http://127.0.0.1:$dport/api/blob" \
  BLOB_READ_WRITE_TOKEN=vercel_blob_rw_localdouble_notasecret \
  DATABASE_URL="$db_url" DATA_DIR="$(mktemp -d "$BARTLEBY_TEST_TMP/e2e.XXXXXX")" PORT=$port RUST_LOG=warn "$BIN" serve >>"$LOGS/e2e-server.log" 2>&1 &
SERVER_PID=$!
(cd end2end && BASE_URL="http://127.0.0.1:$port" npx playwright test -g "photo" 2>&1) | tee "$LOGS/e2e-vercel.log" || status=1
kill "$SERVER_PID" "$DOUBLE_PID" 2>/dev/null; wait "$SERVER_PID" "$DOUBLE_PID" 2>/dev/null || true; SERVER_PID=; DOUBLE_PID=

if grep -qE "panicked| ERROR " "$LOGS/e2e-server.log"; then
  echo "the server logged errors during the browser tests:"; cat "$LOGS/e2e-server.log"; status=1
fi

# one closing line for the whole suite
passed=0; failed=0
for f in "$LOGS/app.log" "$LOGS/server.log"; do
  while read -r p fl; do passed=$((passed + p)); failed=$((failed + fl)); done < <(
    sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$f")
done
for f in "$LOGS/e2e.log" "$LOGS/e2e-vercel.log"; do
  e2e_passed=$(sed -n 's/^ *\([0-9]*\) passed.*/\1/p' "$f" | tail -1)
  e2e_failed=$(sed -n 's/^ *\([0-9]*\) failed.*/\1/p' "$f" | tail -1)
  passed=$((passed + ${e2e_passed:-0})); failed=$((failed + ${e2e_failed:-0}))
  [ -z "$e2e_passed" ] && [ -z "$e2e_failed" ] && { echo "browser tests did not run ($f)"; status=1; }
done
[ "$status" != 0 ] && [ "$failed" = 0 ] && failed=1
rm -rf "$LOGS"
echo
echo "$passed passed, $failed failed"
exit $status
