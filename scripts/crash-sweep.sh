#!/usr/bin/env bash
# The full crash sweep (tests/faults.rs): SIGKILL `apply` of the whole landing zone right after its
# k-th write reached the emulator (its answer never arrives), for k = 1, 1+STEP, 1+2*STEP, ... over
# every write of the apply (about 250: OUs, accounts, policies, attachments, every baseline), then
# force-unlock, apply again, and check the state is exactly the spec's with nothing duplicated or
# orphaned. STEP=8 (the default) is 32 points; STEP=1 is every write. CI runs 8 chosen points.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-emulator.sh
LANDING_ZONE_CRASH_POINTS="every:${STEP:-8}" \
  cargo test --test faults applies_killed_in_the_organization_phase_converge_without_duplicates -- --nocapture
