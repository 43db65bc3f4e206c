#!/usr/bin/env bash
# Prints the foundation's figures: WASM bundle size, time from start to the first page served (first
# run with a new data directory, and a normal restart), server memory at idle, and page latency.
#   scripts/bench-startup.sh        (builds the release binary first if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bartleby/target}
BIN="$CARGO_TARGET_DIR/release/bartleby"
PKG=target/site/pkg/$(cat target/site/pkg/current 2>/dev/null)
[ -x "$BIN" ] && [ -f "$PKG/bartleby_bg.wasm.br" ] || { scripts/build-site.sh release >/dev/null; PKG=target/site/pkg/$(cat target/site/pkg/current); }
PORT=${BENCH_PORT:-3999}
DATA=$(mktemp -d /tmp/bartleby-bench-XXXXXX); chmod 755 "$DATA"
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; sleep 1; rm -rf "$DATA"' EXIT
now_ms() { date +%s%3N; }

start_and_time() {
  local t0; t0=$(now_ms)
  # as scripts/start.sh runs it
  MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY:-0} DATA_DIR=$DATA PORT=$PORT RUST_LOG=warn "$BIN" serve >>"$DATA/server.log" 2>&1 &
  PID=$!
  until curl -s -o /dev/null -f "http://127.0.0.1:$PORT/login"; do sleep 0.01; done
  ELAPSED=$(( $(now_ms) - t0 ))
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

for f in bartleby_bg.wasm bartleby.js bartleby.css; do
  printf '%-44s %s\n' "$f (release, as served)" \
    "$(stat -c %s "$PKG/$f") bytes raw, $(stat -c %s "$PKG/$f.gz") gzip, $(stat -c %s "$PKG/$f.br") brotli"
done
start_and_time; stop
printf '%-44s %s ms\n' "start → first page, new DATA_DIR (initdb)" "$ELAPSED"
start_and_time
printf '%-44s %s ms\n' "start → first page, existing data" "$ELAPSED"
sleep 3
printf '%-44s %s\n' "server RSS at idle" "$(awk '/VmRSS/ {print $2" kB"}' /proc/$PID/status)"
pg_total=0
for p in $(pgrep -f "$DATA/postgres/data" || true); do
  pg_total=$((pg_total + $(awk '/VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || echo 0)))
done
printf '%-44s %s\n' "embedded Postgres RSS at idle (postmaster)" "$pg_total kB"
times=$(for _ in $(seq 200); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT/login"; done | sort -n)
p50=$(sed -n '100p' <<<"$times"); p95=$(sed -n '190p' <<<"$times")
printf '%-44s p50 %.1f ms, p95 %.1f ms\n' "GET /login (SSR), 200 sequential requests" "$(echo "$p50*1000" | bc -l)" "$(echo "$p95*1000" | bc -l)"
printf '%-44s %s\n' "model loaded at idle (/api/health)" \
  "$(curl -s "http://127.0.0.1:$PORT/api/health" | grep -o '"model_loaded":[a-z]*' | cut -d: -f2)"
# one search reads the model: the server's size with it
JAR=$DATA/cookies
curl -s -o /dev/null -c "$JAR" -b "$JAR" -X POST "http://127.0.0.1:$PORT/api/auth/sign_up" \
  --data-urlencode "email=bench@example.com" --data-urlencode "display_name=Bench" --data-urlencode "password=correct horse battery"
curl -s -o /dev/null -c "$JAR" -b "$JAR" -X POST "http://127.0.0.1:$PORT/api/search" \
  -d "query[q]=how+to+care+for+a+barometer&query[doc_type]=&query[from]=&query[to]=&query[page]=1"
sleep 2
printf '%-44s %s (model_loaded: %s)\n' "server RSS 2 s after one search" "$(awk '/VmRSS/ {print $2" kB"}' /proc/$PID/status)" \
  "$(curl -s "http://127.0.0.1:$PORT/api/health" | grep -o '"model_loaded":[a-z]*' | cut -d: -f2)"
stop
# how soon pages can be used on a mid-range phone (4x slower CPU, Fast 3G), first visit and cached
start_and_time
(cd end2end && node bench/interactive.mjs "http://127.0.0.1:$PORT")
stop
