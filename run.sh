#!/usr/bin/env bash
# Install everything (first run) and start the web UI (http://127.0.0.1:7860) on the bundled corpus.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh "${GEOHAZARD_MODEL:-qwen1.5b}"
exec .venv/bin/geohazard serve "$@"
