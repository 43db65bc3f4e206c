#!/usr/bin/env bash
# Builds the server binary and the hydration bundle (WASM + JS + CSS) into target/site.
#   scripts/build-site.sh [debug|release]
# The same two cargo builds cargo-leptos would run, plus wasm-bindgen (and wasm-opt for release),
# without cargo-leptos itself (a 21-minute install this project does not need).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
MODE=${1:-debug}
NAME=bartleby
SITE=${LEPTOS_SITE_ROOT:-target/site}
TARGET=${CARGO_TARGET_DIR:-target}
if [ "$MODE" = release ]; then WPROF=wasm-release; WDIR=wasm-release; SPROF=release; SDIR=release
else WPROF=dev; WDIR=debug; SPROF=dev; SDIR=debug; fi

cargo build --package=frontend --lib --target=wasm32-unknown-unknown --profile=$WPROF
cargo build --package=server --bin=bartleby --profile=$SPROF

rm -rf "$SITE.new" && mkdir -p "$SITE.new/pkg" && cp -r public/. "$SITE.new/"
wasm-bindgen --target=web --out-name=$NAME --out-dir="$SITE.new/pkg" --no-typescript \
  "$TARGET/wasm32-unknown-unknown/$WDIR/frontend.wasm"
if [ "$MODE" = release ]; then
  # npm binaryen 132 only: Debian's binaryen 108 produces a bundle that fails to hydrate
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$SITE.new/pkg/${NAME}_bg.wasm" -o "$SITE.new/pkg/${NAME}_bg.wasm"
  gzip -9 -k "$SITE.new/pkg/${NAME}_bg.wasm" "$SITE.new/pkg/$NAME.js"   # served precompressed
fi
cp style/main.css "$SITE.new/pkg/$NAME.css"
rm -rf "$SITE" && mv "$SITE.new" "$SITE"
echo "built $MODE: $TARGET/$SDIR/bartleby and $SITE/pkg ($(du -h "$SITE/pkg/${NAME}_bg.wasm" | cut -f1) wasm)"
