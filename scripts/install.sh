#!/usr/bin/env bash
# Install textrl into a virtual environment, safely and repeatably.
#
#   bash scripts/install.sh [EXTRAS]      # EXTRAS defaults to "plots"; tests use "dev,plots"
#
# - The virtual environment is $TEXTRL_VENV (default: .venv in the repository root); it is created
#   with $PYTHON (default: python3) when missing.
# - torch: on a machine without an NVIDIA GPU we install the CPU build, so a laptop or CI machine does
#   not download several GB of CUDA libraries: first a local CPU wheel if pip's find-links has one,
#   then PyTorch's CPU index. With a GPU (nvidia-smi works) the default PyPI build, which ships CUDA.
#   An already installed torch is kept (pyproject asks only for torch>=2.1).
# - Safe to run twice: a stamp file records what was installed; a second run with the same
#   pyproject.toml and extras does nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

extras="${1:-plots}"
venv="${TEXTRL_VENV:-.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "[install] creating virtual environment $venv"
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

stamp="$venv/.textrl-install-$(cat pyproject.toml <(echo "$extras") | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
    echo "[install] up to date ($venv, extras: $extras)"
    exit 0
fi

if ! "$venv/bin/python" -c "import torch" >/dev/null 2>&1; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        echo "[install] NVIDIA GPU found: installing the CUDA build of torch"
        "${pip[@]}" install "torch>=2.1"
    elif "${pip[@]}" install --no-index --no-deps "torch==2.13.0" >/dev/null 2>&1; then
        echo "[install] installed torch 2.13.0 (CPU build) from a local wheel"
    elif "${pip[@]}" install --timeout 30 --index-url https://download.pytorch.org/whl/cpu "torch>=2.1"; then
        echo "[install] installed the CPU build of torch from download.pytorch.org"
    else
        echo "[install] no CPU wheel reachable: installing torch from PyPI"
        "${pip[@]}" install "torch>=2.1"
    fi
fi

echo "[install] installing textrl[$extras] (editable)"
"${pip[@]}" install -q -e ".[$extras]"
rm -f "$venv"/.textrl-install-*
touch "$stamp"
echo "[install] done"
