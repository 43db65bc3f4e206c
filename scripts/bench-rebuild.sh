#!/usr/bin/env bash
# How long a developer waits between a one-line change in `app` and a page to look at: changes one
# visible string on the dashboard (app/src/pages.rs), times `scripts/build-site.sh debug` (the
# WASM bundle and the server, both of which compile `app`), then puts the line back and builds
# again (untimed). Prints each cargo build's share. `--timings` also writes cargo's HTML report
# of where the time went (target/cargo-timings/).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/bartleby/target}
file=app/src/pages.rs
line='"This is your desk. Your things and papers will gather here."'
grep -q "$line" "$file" || { echo "the line to change is no longer in $file: update this script" >&2; exit 1; }
[ "${1:-}" = --timings ] && export BUILD_TIMINGS=1
echo "warming the build…" >&2
scripts/build-site.sh debug >/dev/null 2>&1
backup=$(mktemp)
cp "$file" "$backup"
trap 'cp "$backup" "$file"; rm -f "$backup"; echo "rebuilding with the line put back…" >&2; scripts/build-site.sh debug >/dev/null 2>&1' EXIT
sed -i "s|$line|\"This is your desk, where your things and papers gather.\"|" "$file"
log=$(mktemp)
start=$(date +%s.%N)
scripts/build-site.sh debug 2>&1 | tee "$log" >/dev/null
end=$(date +%s.%N)
wasm=$(grep -m1 -o 'Finished .* in [0-9.]*s' "$log" | grep -o '[0-9.]*s$')
server=$(grep -o 'Finished .* in [0-9.]*s' "$log" | sed -n 2p | grep -o '[0-9.]*s$')
printf 'warm rebuild after a one-line change in app: %.1f s (the WASM bundle %s, the server %s, the rest wasm-bindgen and copying)\n' \
  "$(awk "BEGIN { print $end - $start }")" "$wasm" "$server"
rm -f "$log"
