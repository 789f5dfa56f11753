#!/usr/bin/env bash
# Run the test suite (and the linter) in the project's virtual environment, installing it first.
#
#   bash scripts/test.sh [PYTEST ARGS...]      e.g.  bash scripts/test.sh tests/textrl_envs -x
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# lora: the LoRA path of the trainer is tested too (peft is light: no new heavy dependencies)
bash scripts/install.sh dev,plots,lora
venv="${TEXTRL_VENV:-.venv}"

# Tests build their own tiny models in temporary folders; keep their model cache out of ~/.cache.
export TEXTRL_CACHE="${TEXTRL_TEST_CACHE:-$PWD/.cache/test-models}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1 TOKENIZERS_PARALLELISM=false

"$venv/bin/ruff" check textrl_envs agents analysis tests scripts
"$venv/bin/python" -m pytest "$@"
