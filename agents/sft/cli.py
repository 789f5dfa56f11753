"""``textrl sft``: expert SFT from the command line.

Every :class:`~agents.sft.config.SFTConfig` field is an option, with ``textrl train``'s conventions
(``--learning_rate 1e-4`` or ``--learning-rate 1e-4``; values parsed as YAML; ``--config x.yaml``
then options override it)::

    textrl sft --env TextBandit-v0 --mode thought --out runs/sft-tc            # thought cloning of UCB
    textrl sft --env TextBandit-v0 --mode behaviour --out runs/sft-bc          # behaviour cloning
    textrl sft --env TextTicTacToe-v0 --mode thought --model path/or/hub-id --out runs/sft-ttt
    textrl sft --out runs/sft-tc --resume
    textrl train --model runs/sft-tc/final_model --out runs/sft-tc-rlft      # RL fine-tune it next
    accelerate launch --multi_gpu --num_processes 2 scripts/train_sft.py --mode behaviour --out runs/bc
"""

from __future__ import annotations

import argparse

from agents.rlft.cli import _fail, _is_main_process, add_arguments, config_from_args
from agents.sft.config import SFTConfig

PROG_ERROR = "textrl sft: error:"


def run_sft(args: argparse.Namespace) -> int:
    """Run ``textrl sft``; a setup error prints one line and returns 2 (nothing was written)."""
    try:
        config = config_from_args(args, SFTConfig)
    except (ValueError, TypeError, FileNotFoundError) as error:  # the YAML file or an option
        return _fail(error, 2, PROG_ERROR)
    from agents.rlft.run_folder import SetupError
    from agents.sft.trainer import train_sft

    try:
        out = train_sft(config)
    except SetupError as error:  # raised by the checks that run before the output folder is touched
        return _fail(error, 2, PROG_ERROR)
    if _is_main_process():
        print(f"expert SFT finished: {out} (run.json, metrics.jsonl, expert/, eval/, checkpoints/, "
              "final_model/)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``sft`` sub-command to the ``textrl`` parser."""
    parser = subparsers.add_parser(
        "sft",
        help="supervised fine-tuning on expert rollouts (behaviour or thought cloning)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, SFTConfig)
    parser.set_defaults(func=run_sft)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """A standalone parser (``scripts/train_sft.py``)."""
    parser = argparse.ArgumentParser(
        prog="train_sft", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser, SFTConfig)
    return parser
