"""Expert SFT: the same options as ``textrl sft`` (see ``agents/sft/cli.py``).

Works under ``accelerate launch`` unchanged::

    python scripts/train_sft.py --mode thought --out runs/sft-tc
    accelerate launch --multi_gpu --num_processes 2 scripts/train_sft.py --mode behaviour --out runs/sft-bc
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from agents.sft.cli import build_parser, run_sft  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    return run_sft(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
