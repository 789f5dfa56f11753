"""``textrl train``: RL fine-tuning from the command line.

Every :class:`~agents.rlft.config.RLFTConfig` field is an option, described by the help text
declared with the field and grouped as TRL groups its options. ``--kl_coef 0.1`` and ``--kl-coef
0.1`` both work, and so do TRL's names (``--output_dir``, ``--report_to``, ``--save_steps``,
``--eval_steps``, ``--num_ppo_epochs``, ``--beta``, ...). Values are parsed as YAML, so ``null``,
``true`` and ``[1, 2]`` work; a boolean option given without a value means true::

    textrl train --config configs/bandit_tiny.yaml --kl_coef 0.1
    textrl train --env TextBandit-v0 --output_dir runs/rlft --total_updates 50
    textrl train --config configs/bandit_tiny.yaml --resume          # continue an interrupted run
    textrl train --config configs/bandit_tiny.yaml --overwrite       # delete the run in out, start afresh
    accelerate launch --multi_gpu --num_processes 2 scripts/train_rlft.py --config configs/bandit_tiny.yaml

Options given on the command line override the YAML file, which overrides the defaults. A bad
option, config file, environment, model or output folder ends with one message and exit status 2,
before the output folder is touched. The run ends by printing its final evaluation's summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import typing
from pathlib import Path
from typing import Any

from agents.rlft.config import CHOICES, GROUPS, RLFTConfig, field_names, load_config
from agents.rlft.config_names import NOT_APPLICABLE, aliases_of

PROG_ERROR = "textrl train: error:"


def _metavar(name: str, annotation: typing.Any) -> str:
    if name in CHOICES:
        return "{" + ",".join(CHOICES[name]) + "}"
    text = str(annotation)
    for needle, metavar in (("dict", "MAPPING"), ("list", "LIST"), ("bool", "BOOL"), ("float", "FLOAT"),
                            ("int", "INT")):  # fmt: skip
        if needle in text:
            return metavar
    return "STR"


def _default_text(f: dataclasses.Field) -> str:
    value = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def add_arguments(parser: argparse.ArgumentParser, config_cls: type = RLFTConfig) -> argparse.ArgumentParser:
    """One option per field of ``config_cls`` (plus its TRL aliases), in the groups of :data:`GROUPS`.

    ``textrl sft`` passes ``agents.sft.SFTConfig``: its fields form one group, and the TRL options
    without a counterpart are not added (their messages are about ``textrl train``)."""
    parser.add_argument("--config", default=None, metavar="YAML", help="YAML file of config fields "
                        "(options given here override it)")
    types = typing.get_type_hints(config_cls)
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    groups = GROUPS if config_cls is RLFTConfig else {"options": list(fields)}
    for title, names in groups.items():
        group = parser.add_argument_group(title)
        for name in names:
            f = fields[name]
            extra = {"nargs": "?", "const": "true"} if types[name] is bool else {}
            aliases = aliases_of(name)
            help_text = f"{f.metadata.get('help', name.replace('_', ' '))} (default: {_default_text(f)})"
            if aliases:
                help_text += "; also " + ", ".join(f"--{a}" for a in aliases)
            common = {"dest": name, "default": argparse.SUPPRESS, **extra}
            group.add_argument(f"--{name}", metavar=_metavar(name, types[name]), help=help_text, **common)
            # dashed spellings and aliases work, listed in the line above rather than as extra lines
            hidden = [f"--{n}" for n in (name.replace("_", "-"), *aliases) if f"--{n}" != f"--{name}"]
            hidden += [f"--{a.replace('_', '-')}" for a in aliases if "_" in a]
            if hidden:
                group.add_argument(*hidden, help=argparse.SUPPRESS, **common)
    # TRL options textrl lacks: accepted here so the error can say why
    for name in NOT_APPLICABLE if config_cls is RLFTConfig else ():
        hidden_option = {"default": argparse.SUPPRESS, "help": argparse.SUPPRESS}
        parser.add_argument(f"--{name}", dest=f"trl:{name}", **hidden_option)
    return parser


def config_from_args(args: argparse.Namespace, config_cls: type = RLFTConfig) -> Any:
    """Build the config: the YAML file of ``--config`` plus every option given."""
    overrides = {name: getattr(args, name) for name in field_names(config_cls) if hasattr(args, name)}
    given = [name for name in NOT_APPLICABLE if hasattr(args, f"trl:{name}")]
    overrides.update({name: getattr(args, f"trl:{name}") for name in given})
    return load_config(getattr(args, "config", None), overrides, config_cls=config_cls)


def _is_main_process() -> bool:
    """Rank 0 of ``accelerate launch`` / ``torchrun`` (which set ``RANK``), or a plain process."""
    return os.environ.get("RANK", "0") == "0"


def _fail(error: BaseException, code: int, prog_error: str = PROG_ERROR) -> int:
    if _is_main_process():
        print(f"{prog_error} {error}", file=sys.stderr)
    return code


def final_summary(out: Path, config: RLFTConfig) -> str:
    """The summary table of the run's last evaluation (``eval/step_<total_updates>``), as text."""
    folder = Path(out) / "eval" / f"step_{config.total_updates:06d}"
    if not folder.is_dir():
        return "No final evaluation (eval_at_end is false): metrics.jsonl holds the training metrics."
    from agents.evaluation.io import load_steps
    from analysis.summary import format_summary, summarize_steps

    return (f"Final evaluation after {config.total_updates} updates (greedy decoding, seeds "
            f"{config.eval_seeds} x {config.eval_num_envs} environments; {folder}):\n"
            + format_summary(summarize_steps(load_steps(folder))))


def run_train(args: argparse.Namespace) -> int:
    """Run ``textrl train``; a setup error prints one line and returns 2 (nothing was written)."""
    try:
        config = config_from_args(args)
    except (ValueError, TypeError, FileNotFoundError) as error:  # the YAML file or an option
        return _fail(error, 2)
    from agents.rlft.trainer import NonFiniteLossError, SetupError, train

    try:
        out = train(config)
    except SetupError as error:  # raised by the checks that run before the output folder is touched
        return _fail(error, 2)
    except NonFiniteLossError as error:
        return _fail(error, 1)
    if _is_main_process():
        print(final_summary(out, config))
        print(f"RL fine-tuning finished: {out} (run.json, metrics.jsonl, eval/, checkpoints/, final_model/ "
              "with its README.md model card)")
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
