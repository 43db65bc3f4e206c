#!/usr/bin/env bash
# The house's arrows (README, "Architecture"): fails when a module names what it must not.
#
#   features    auth, documents, inventory, search, account, admin   (app/src/<feature>/)
#   shared      jobs, embedding, vectors, storage, platform, format, error, widgets, upload, ids
#   the shell   app/src/lib.rs (the router), app/src/pages.rs (dashboard), and the server crate:
#               they assemble features and may name any of them
#
# documents and inventory never name each other; search and account read both and nothing reads
# them (but the shell); a shared module names no feature.
set -uo pipefail
cd "$(dirname "$0")/.."

fail=0
# names <module> in Rust paths: crate::x, super::x from a sibling, or inside crate::{...}
pattern() { printf '(crate|app)::(\\{[^}]*)?\\b%s\\b' "$1"; }
check() { # description, pattern, paths...
  local what=$1 pat=$2; shift 2
  local hits
  hits=$(grep -rnE --include='*.rs' "$pat" "$@" 2>/dev/null | grep -vE '^[^:]+:[0-9]+:\s*//')
  if [ -n "$hits" ]; then
    echo "✗ $what:"; echo "$hits" | sed 's/^/    /'; fail=1
  else
    echo "✓ $what"
  fi
}

check "documents names no inventory" "$(pattern inventory)" app/src/documents
check "inventory names no documents" "$(pattern documents)" app/src/inventory
for f in auth documents inventory account; do
  check "$f names no search" "$(pattern search)" "app/src/$f"
done
for f in auth documents inventory search; do
  check "$f names no account" "$(pattern account)" "app/src/$f"
done
for f in auth documents inventory search account; do
  check "$f names no admin" "$(pattern admin)" "app/src/$f"
done
shared=(app/src/jobs.rs app/src/embedding.rs app/src/vectors.rs app/src/storage app/src/platform
        app/src/format.rs app/src/error.rs app/src/widgets.rs app/src/upload.rs app/src/ids.rs)
for f in auth documents inventory search account admin; do
  check "shared modules name no $f" "$(pattern "$f")" "${shared[@]}"
done
exit $fail
