#!/usr/bin/env bash
# Advisories: the legacy TLS/HTTP stack the aws-sdk crates pull in with default features carries
# open RustSec advisories (DESIGN.md §6), and serde_yml is unsound (RUSTSEC-2025-0068). This check
# fails if any of them is in Cargo.lock. When the RustSec database is reachable (github.com), it
# also runs cargo-deny against the whole advisory database.
set -euo pipefail
cd "$(dirname "$0")/.."

banned=(
  "hyper 0.14."    # legacy HTTP stack (RUSTSEC-2026-0258 and friends)
  "h2 0.3."
  "rustls 0.21."
  "rustls-webpki 0.101."
  "serde_yml "     # RUSTSEC-2025-0068
)
status=0
for entry in "${banned[@]}"; do
  name=${entry%% *}; version=${entry#* }
  if awk -v n="$name" -v v="$version" '
      $1=="name" && $3=="\""n"\"" {found=1; next}
      found && $1=="version" { if (index($3, "\""v)==1 || v=="") hit=1; found=0 }
      END {exit hit?0:1}' Cargo.lock; then
    echo "advisory: $name $version is in Cargo.lock" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "Cargo.lock: no crate with a known advisory from the banned list"

if timeout 10 curl -sfI https://github.com/rustsec/advisory-db >/dev/null 2>&1; then
  command -v cargo-deny >/dev/null 2>&1 || cargo install --locked --quiet cargo-deny
  cargo deny check advisories || status=1
else
  echo "the RustSec database (github.com) is unreachable from this machine: full cargo-deny scan not run" >&2
fi
exit $status
