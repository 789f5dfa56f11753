"""The ``textrl`` command line: one entry point, one sub-command per job.

Sub-commands register themselves from their own modules (each exposes ``register(subparsers)``
that adds a parser whose ``func`` default runs the job), so this file stays a thin dispatcher::

    textrl evaluate --env TextBandit-v0 --agent ucb --num-envs 64 --seeds 0 1 2 --out runs/ucb
    textrl train --env TextBandit-v0 --out runs/rlft --total-updates 50
    textrl report runs/base runs/rlft runs/ucb --out runs/report
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module path -> provides register(subparsers); imported lazily so `textrl --help` stays fast
SUBCOMMAND_MODULES = (
    "agents.evaluation.cli",
    "agents.rlft.cli",
    "agents.sft.cli",
    "analysis.cli",
    "agents.demo",
    "agents.compare",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="textrl",
        description="Text decision-making environments, LLM agents, RL fine-tuning and analyses.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            # a sub-command whose module is absent is simply not offered; any other import error is a bug
            if error.name is not None and module_name.startswith(error.name):
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
