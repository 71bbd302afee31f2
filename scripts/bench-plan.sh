#!/usr/bin/env bash
# Benchmark: plan on a 1,000-account organization (60 OUs, 40 SCPs) seeded into moto. Reports wall
# time, peak memory (VmHWM via /usr/bin/time) and Organizations calls per operation against the read
# floor of AWS-FACTS.md; then the same after one changed policy and one moved account.
# Usage: scripts/bench-plan.sh   (figures go to stdout; docs/performance.md records them)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-emulator.sh
if [ -z "${LANDING_ZONE_BIN:-}" ]; then
  cargo build --quiet --release --bin landing-zone
  BIN=$PWD/target/release/landing-zone
else
  BIN=$(realpath "$LANDING_ZONE_BIN")
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/moto_server -H 127.0.0.1 -p "$PORT" >/tmp/bench-moto.log 2>&1 &
MOTO=$!
WORK=$(mktemp -d)
trap 'kill $MOTO 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
echo "seeding 1,000 accounts / 60 OUs / 40 SCPs ..."
start=$(date +%s.%N)
SHAPE=$(.venv/bin/python scripts/bench_seed.py "$AWS_ENDPOINT_URL")
echo "seeded in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s: $SHAPE"
(cd "$WORK" && "$BIN" import --out . >/dev/null)

measure() {
  local label=$1
  (cd "$WORK" && LANDING_ZONE_CALL_STATS=1 /usr/bin/time -v "$BIN" plan --detailed-exitcode >"$WORK/out.txt" 2>"$WORK/err.txt") || true
  python3 - "$label" "$SHAPE" "$WORK/err.txt" "$WORK/out.txt" <<'PY'
import json, re, sys
label, shape, err, out = sys.argv[1], json.loads(sys.argv[2]), open(sys.argv[3]).read(), open(sys.argv[4]).read()
stats = json.loads(re.search(r"call-stats (\{.*\})", err).group(1))
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", err).group(1)
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
total = sum(stats.values())
summary = re.search(r"Plan: .*", out)
print(f"\n== {label}")
print(f"wall {wall}, peak RSS {rss/1024:.1f} MiB, {total} calls (read floor {shape['read_floor']}, {100*(total-shape['read_floor'])/shape['read_floor']:+.1f}%)")
print("  " + (summary.group(0) if summary else out.strip().splitlines()[-1]))
for op, n in sorted(stats.items(), key=lambda kv: -kv[1]):
    print(f"  {op:40} {n}")
PY
}
measure "plan, no changes"
# One changed policy and one moved account.
python3 - "$WORK/landing-zone.yaml" "$WORK/policies/guardrail-00.json" <<'PY'
import sys, re
spec, policy = sys.argv[1], sys.argv[2]
text = open(policy).read().replace('"service0:*"', '"service0:Delete*"')
open(policy, "w").write(text)
spec_text = open(spec).read()
spec_text = re.sub(r"(acct-0001:\n(?:    .*\n)*?    unit: )\S+", r"\1Root", spec_text, count=1)
open(spec, "w").write(spec_text)
PY
measure "plan, one changed policy and one moved account"
