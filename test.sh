#!/usr/bin/env bash
# Install everything (first run), including both models (0.5B for most end-to-end tests, 1.5B for the
# decision-support ones), and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
EXTRAS=test,eval scripts/setup.sh qwen0.5b qwen1.5b
scripts/setup-browser.sh   # Debian's Chromium for the Playwright browser tests (never a downloaded browser)
exec .venv/bin/python -m pytest "$@"
