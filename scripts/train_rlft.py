"""RL fine-tune the LLM agent: the same options as ``textrl train`` (see ``agents/rlft/cli.py``).

Works under ``accelerate launch`` unchanged::

    python scripts/train_rlft.py --config configs/bandit_tiny.yaml --kl_coef 0.1
    # two CPU processes (gloo); accelerate's --cpu flag would start only one
    accelerate launch --multi_gpu --num_processes 2 scripts/train_rlft.py --config configs/bandit_tiny.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from agents.rlft.cli import build_parser, run_train  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    return run_train(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
