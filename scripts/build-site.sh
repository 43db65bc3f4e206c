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

# BUILD_TIMINGS=1: cargo's report of where the time went (target/cargo-timings/)
TIMINGS=${BUILD_TIMINGS:+--timings}
cargo build --package=frontend --lib --target=wasm32-unknown-unknown --profile=$WPROF $TIMINGS
cargo build --package=server --bin=bartleby --profile=$SPROF $TIMINGS

rm -rf "$SITE.new" && mkdir -p "$SITE.new/pkg" && cp -r public/. "$SITE.new/"
BUNDLE="$SITE.new/pkg/bundle"
wasm-bindgen --target=web --out-name=$NAME --out-dir="$BUNDLE" --no-typescript \
  "$TARGET/wasm32-unknown-unknown/$WDIR/frontend.wasm"
if [ "$MODE" = release ]; then
  # npm binaryen 132 only: Debian's binaryen 108 produces a bundle that fails to hydrate
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$BUNDLE/${NAME}_bg.wasm" -o "$BUNDLE/${NAME}_bg.wasm"
fi
cp style/main.css "$BUNDLE/$NAME.css"
# The bundle lives in a directory named by its content (pkg/<hash>/), which the server reads from
# pkg/current: pages name it, so a browser never pairs a new page with an old cached bundle, and
# the files can be cached for a year. The two bundles before it stay for pages still open.
HASH=$(cd "$BUNDLE" && find . -type f | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
mv "$BUNDLE" "$SITE.new/pkg/$HASH"
if [ "$MODE" = release ]; then
  # served precompressed (gzip and brotli, both at their best: done once here, not per request)
  files=("$SITE.new/pkg/$HASH/${NAME}_bg.wasm" "$SITE.new/pkg/$HASH/$NAME.js" "$SITE.new/pkg/$HASH/$NAME.css")
  gzip -9 -k "${files[@]}"
  node -e '
    const z = require("zlib"), fs = require("fs");
    for (const f of process.argv.slice(1)) {
      const data = fs.readFileSync(f);
      fs.writeFileSync(f + ".br", z.brotliCompressSync(data, { params: {
        [z.constants.BROTLI_PARAM_QUALITY]: 11, [z.constants.BROTLI_PARAM_SIZE_HINT]: data.length } }));
    }' "${files[@]}"
fi
if [ -d "$SITE/pkg" ]; then
  for old in $(ls -dt "$SITE"/pkg/*/ 2>/dev/null | head -3); do
    h=$(basename "$old")
    if [ "$h" != "$HASH" ] && [ ! -e "$SITE.new/pkg/$h" ]; then cp -rp "$old" "$SITE.new/pkg/$h"; fi
  done
fi
# keep at most the new bundle and two before it
ls -dt "$SITE.new"/pkg/*/ | tail -n +4 | xargs -r rm -rf
echo "$HASH" > "$SITE.new/pkg/current"
rm -rf "$SITE" && mv "$SITE.new" "$SITE"
echo "built $MODE: $TARGET/$SDIR/bartleby and $SITE/pkg/$HASH ($(du -h "$SITE/pkg/$HASH/${NAME}_bg.wasm" | cut -f1) wasm)"
