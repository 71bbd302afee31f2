#!/usr/bin/env bash
# The full crash sweep: SIGKILL `apply` after 1..N completed actions (every 5th point by default),
# re-run, and check convergence with no duplicate (tests/crash.rs). CI runs a subset of 8 points.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-emulator.sh
points=$(seq -s, 1 "${STEP:-5}" "${LAST:-170}")
LANDING_ZONE_CRASH_POINTS="$points" cargo test --test crash -- --nocapture
