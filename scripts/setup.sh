#!/usr/bin/env bash
# Idempotent set-up: virtualenv, the package with its dependencies, and verified models.
# Usage: [EXTRAS=test,eval] scripts/setup.sh [MODEL ...]   (MODEL: qwen1.5b | qwen0.5b; network needed only the
# first time). EXTRAS names the optional dependency groups (test.sh: test,eval; run.sh: none).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# llama-cpp-python compiles llama.cpp on first install (minutes on 2 cores); pip caches the wheel.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}"
for model in "${@:-qwen1.5b}"; do
  .venv/bin/geohazard model install --model "$model"
done
