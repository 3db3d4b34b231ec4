#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (no browser download). Idempotent.
set -euo pipefail
# A CJK font so the screenshots show Chinese (the app itself serves no font files).
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then exit 0; fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
