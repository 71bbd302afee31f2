#!/usr/bin/env bash
# Installs the pinned AWS emulator (moto in server mode) into ./.venv.
# Idempotent: when the pinned version is already installed it returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_SPEC="moto[server]==5.2.5"
MOTO_VERSION="5.2.5"
VENV=".venv"
PYTHON="${PYTHON:-python3}"

if [ -x "$VENV/bin/moto_server" ] && [ -f "$VENV/.moto-$MOTO_VERSION" ]; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$MOTO_SPEC"
touch "$VENV/.moto-$MOTO_VERSION"
echo "installed $MOTO_SPEC into $VENV" >&2
