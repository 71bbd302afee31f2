#!/usr/bin/env bash
# The main job: validate -> plan -> apply -> plan again on the example spec, against a local AWS
# emulator (moto) this script starts on a loopback port and stops when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
SPEC="${1:-landing-zone.yaml}"

scripts/install-emulator.sh
cargo build --quiet --bin landing-zone
BIN="${CARGO_TARGET_DIR:-target}/debug/landing-zone"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv/bin/moto_server -H 127.0.0.1 -p "$PORT" >/tmp/landing-zone-moto.log 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE
# moto never throttles: without this the client would wait out AWS's published rates (CreateAccount
# 0.1 per second), about a minute for the example's accounts.
export LANDING_ZONE_RATE_LIMIT=off

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
step "landing-zone validate -f $SPEC"
$BIN validate -f "$SPEC"
step "landing-zone plan -f $SPEC"
$BIN plan -f "$SPEC"
step "landing-zone apply -f $SPEC --auto-approve"
$BIN apply -f "$SPEC" --auto-approve
step "landing-zone plan -f $SPEC --detailed-exitcode   (must show no changes)"
$BIN plan -f "$SPEC" --detailed-exitcode
echo
echo "converged: the second plan has no changes"
