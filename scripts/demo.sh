#!/usr/bin/env bash
# The main job: install, build (or reuse) the embedded base model, and run the study end to end.
#
#   bash scripts/demo.sh            # full study, about 15 minutes on 2 CPU cores
#   bash scripts/demo.sh --quick    # smoke version, about 2 minutes
#   bash scripts/demo.sh --model google/gemma-2-2b-it    # a real model (needs its weights)
#
# Writes runs/demo/report.md (or runs/demo-quick/ with --quick). Re-running reuses finished stages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh plots
venv="${TEXTRL_VENV:-.venv}"
export TOKENIZERS_PARALLELISM=false TRANSFORMERS_NO_ADVISORY_WARNINGS=1
exec "$venv/bin/textrl" demo "$@"
