#!/usr/bin/env bash
# The whole test suite: installs the pinned emulator, then runs every test (unit, property,
# bad-input corpus, emulator integration).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-emulator.sh
cargo test --all-targets "$@"
