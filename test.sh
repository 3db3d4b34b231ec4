#!/usr/bin/env bash
# Install everything (first run), including the small test model, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh qwen0.5b
exec .venv/bin/python -m pytest "$@"
