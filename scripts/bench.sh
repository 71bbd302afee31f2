#!/usr/bin/env bash
# The 1,000-account benchmark (benches/organization.rs; figures in docs/performance.md): plan
# against the read floor, plan at AWS's published rates through the proxy, a plan after one change,
# and apply creating 100 accounts with asynchronous creation. About 20 minutes, most of it waiting
# out CreateAccount's published rate (0.1 per second).
#   scripts/bench.sh                      release build
#   BENCH_PROFILE=dev scripts/bench.sh    reuse the debug build of the tests (most figures in docs/performance.md)
#   BENCH_CREATION_SECONDS=60 ...         how long the proxy keeps each new account IN_PROGRESS
#   BENCH_NEW_ACCOUNTS=0 ...              skip the account creations (a two-minute run)
#   BENCH_CASE=organization ...           only the organization without baselines (the above)
#   BENCH_CASE=landing-zone ...           only the landing-zone case: every account carrying the
#                                         baselines; first plan, apply, no-change plan (issue 13)
#   BENCH_ACCOUNTS_AT_ONCE=96 ...         the landing-zone case's AWS-rate plan with --accounts-at-once 96
#   BENCH_TOOL_WRAPPER='perf record -g --' ...  run each tool command through a profiler (figures are then the profiler's)
#   BENCH_ACCOUNTS=200 ...                the landing-zone case's size (default 1,000 accounts, the
#                                         management account included; 200 takes ~4 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-emulator.sh
exec cargo bench --profile "${BENCH_PROFILE:-bench}" --bench organization
