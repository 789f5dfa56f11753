"""``textrl train``: RL fine-tuning from the command line.

Every :class:`~agents.rlft.config.RLFTConfig` field is an option (``--kl_coef 0.1`` or
``--kl-coef 0.1``; values are parsed as YAML, so ``null``, ``true`` and ``[1, 2]`` work; a boolean
option given without a value means true)::

    textrl train --config configs/bandit_tiny.yaml --kl_coef 0.1
    textrl train --env TextBandit-v0 --out runs/rlft --total-updates 50
    textrl train --config configs/bandit_tiny.yaml --resume
    accelerate launch --num_processes 2 --cpu scripts/train_rlft.py --config configs/bandit_tiny.yaml

Options given on the command line override the YAML file, which overrides the defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any

from agents.rlft.config import RLFTConfig, field_names, load_config


def _is_bool(name: str, config_cls: type = RLFTConfig) -> bool:
    return typing.get_type_hints(config_cls)[name] is bool


def add_arguments(parser: argparse.ArgumentParser, config_cls: type = RLFTConfig) -> argparse.ArgumentParser:
    """One option per field of ``config_cls`` (``textrl sft`` passes ``agents.sft.SFTConfig``)."""
    parser.add_argument("--config", default=None, help="YAML file of config fields (overridden by options)")
    parser.add_argument("--env", dest="env_id", default=argparse.SUPPRESS, help="alias of --env_id")
    doc = {f.name: f for f in dataclasses.fields(config_cls)}
    for name in field_names(config_cls):
        flags = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
        default = doc[name].default if doc[name].default is not dataclasses.MISSING else "(see docs)"
        extra = {"nargs": "?", "const": "true"} if _is_bool(name, config_cls) else {}
        parser.add_argument(
            *flags, dest=name, default=argparse.SUPPRESS, metavar="VALUE", help=f"default: {default}", **extra
        )
    return parser


def config_from_args(args: argparse.Namespace, config_cls: type = RLFTConfig) -> Any:
    """Build the config: the YAML file of ``--config`` plus every option given."""
    overrides = {name: getattr(args, name) for name in field_names(config_cls) if hasattr(args, name)}
    return load_config(getattr(args, "config", None), overrides, config_cls=config_cls)


def run_train(args: argparse.Namespace) -> int:
    from agents.rlft.trainer import train

    out = train(config_from_args(args))
    print(f"RL fine-tuning finished: {out} (metrics.jsonl, eval/, checkpoints/, final_model/)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``train`` sub-command to the ``textrl`` parser."""
    parser = subparsers.add_parser(
        "train",
        help="RL fine-tune the LLM agent on a textrl environment",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run_train)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """A standalone parser (``scripts/train_rlft.py``)."""
    parser = argparse.ArgumentParser(
        prog="train_rlft", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    return parser
