#!/usr/bin/env bash
# The 1,000-account benchmark (benches/organization.rs; figures in docs/performance.md): plan
# against the read floor, plan at AWS's published rates through the proxy, a plan after one change,
# and apply creating 100 accounts with asynchronous creation. About 20 minutes, most of it waiting
# out CreateAccount's published rate (0.1 per second).
#   scripts/bench.sh                      release build
#   BENCH_PROFILE=dev scripts/bench.sh    reuse the debug build of the tests (most figures in docs/performance.md)
#   BENCH_CREATION_SECONDS=60 ...         how long the proxy keeps each new account IN_PROGRESS
#   BENCH_NEW_ACCOUNTS=0 ...              skip the account creations (a two-minute run)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-emulator.sh
exec cargo bench --profile "${BENCH_PROFILE:-bench}" --bench organization
