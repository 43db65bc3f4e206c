#!/usr/bin/env bash
# Regenerates the Diesel schema files with `diesel print-schema`, from freshly migrated databases:
# app/src/platform/schema.rs (metadata, diesel.toml) and app/src/platform/vector_schema.rs (vectors,
# diesel_vector.toml).
#   scripts/schema.sh           rewrite both files
#   scripts/schema.sh --check   fail if either differs from what the migrations produce (CI)
# Needs the diesel CLI (scripts/setup.sh --test) and a built server (scripts/build-site.sh).
set -euo pipefail
MODE=${1:-}
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/debug/bartleby"
export EMBEDDED_PG_DIR=${BARTLEBY_TEST_PG_DIR:-/tmp/bartleby-test-pg}
meta=$("$BIN" db create "bartleby_schema_test_$$")
vec=$("$BIN" db create "bartleby_schema_vec_test_$$")
# Copies of the configs without print_schema.file: given one, diesel (migration run and print-schema)
# would write the schema file itself.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
grep -v '^file *=' diesel.toml > "$tmp/meta.toml"
grep -v '^file *=' diesel_vector.toml > "$tmp/vector.toml"
# diesel's own runner: the schema can be regenerated before the app compiles against it
diesel migration run --database-url "$meta" --config-file "$tmp/meta.toml" --migration-dir migrations/meta >/dev/null
diesel migration run --database-url "$vec" --config-file "$tmp/vector.toml" --migration-dir migrations/vector >/dev/null
status=0
check() { # config-file database-url schema-file
  local cfg=$1 url=$2 file=$3
  out=$(mktemp)
  diesel print-schema --database-url "$url" --config-file "$cfg" > "$out"
  rustfmt --edition 2021 --config-path rustfmt.toml "$out"   # as `cargo fmt` leaves the committed file
  if [ "$MODE" = "--check" ]; then
    if ! diff -u "$file" "$out"; then
      echo "$file is out of date: run scripts/schema.sh and commit the result" >&2
      status=1
    else
      echo "$file matches the migrations"
    fi
  else
    cp "$out" "$file"
    echo "wrote $file"
  fi
  rm -f "$out"
}
check "$tmp/meta.toml" "$meta" app/src/platform/schema.rs
check "$tmp/vector.toml" "$vec" app/src/platform/vector_schema.rs
exit $status
