#!/usr/bin/env bash
# The Mermaid drawing of a Markdown plan, as reviewers see it: the plan of a spec with hostile OU
# and account names (tests/browser/hostile-names.yaml), made against a local emulator, drawn by
# mermaid 11 from npm in headless Chromium (tests/browser/mermaid-labels.mjs): every name must show
# as written, and no element or handler may be injected.
#
# Installs what it needs itself: Chromium (apt-get, when /usr/bin/chromium is missing), mermaid 11
# and playwright-core (npm, into target/mermaid-check, once), the emulator (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET/debug/landing-zone"
MODULES="$TARGET/mermaid-check"

if [ ! -x /usr/bin/chromium ]; then
  # A fresh machine's package lists may be empty or old.
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -d "$MODULES/node_modules/mermaid" ] || [ ! -d "$MODULES/node_modules/playwright-core" ]; then
  mkdir -p "$MODULES"
  npm install --prefix "$MODULES" --no-audit --no-fund --silent mermaid@11 playwright-core >/dev/null
fi
scripts/install-emulator.sh >/dev/null
# The binary the test build makes (`cargo test --all-targets` builds it; so does scripts/test.sh).
[ -x "$BIN" ] || cargo test --all-targets --no-run --quiet

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/moto_server -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO_PID=$!
WORK=$(mktemp -d)
trap 'kill $MOTO_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done

AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_PROFILE= LANDING_ZONE_RATE_LIMIT=off \
  "$BIN" -f tests/browser/hostile-names.yaml plan --format markdown >"$WORK/plan.md"
MERMAID_DIR="$MODULES" node tests/browser/mermaid-labels.mjs "$WORK/plan.md" tests/browser/hostile-names.json
