#!/usr/bin/env bash
# Installs what is missing, builds Bartleby (release) and serves it at http://localhost:3000 on the
# embedded default: its own Postgres with pgvector under DATA_DIR (./data), local-disk storage.
# Settings come from the environment or a .env file (see .env.example). Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bartleby/target}
if [ -f .env ]; then set -a; . ./.env; set +a; fi
scripts/setup.sh
printf '\033[1m==> %s\033[0m\n' "Building Bartleby (release; the first build takes a while)"
scripts/build-site.sh release
# mimalloc gives freed memory back at once (the embedding model's 91 MB loading buffer: 220 → 127 MB
# once the model is read); without it, it keeps it for reuse
export MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY:-0}
exec "$CARGO_TARGET_DIR/release/bartleby" serve
