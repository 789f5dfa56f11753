"""Pretrain an embedded base model from scratch into a folder (and, with --ship, into the package).

    python scripts/pretrain_base_model.py --size reader --out runs/reader --seed 0 --threads 2
    python scripts/pretrain_base_model.py --size reader --out runs/reader --until-step 600   # a snapshot
    python scripts/pretrain_base_model.py --size reader --out runs/reader --seed 0 --threads 2 --ship
    python scripts/pretrain_base_model.py --verify runs/base-model      # same bytes as the shipped model?
    python scripts/pretrain_base_model.py --size lookupreader --set lookup_share=0.5 --set later_lr=1e-3 \
        --out runs/lever                                                # a size with some fields changed

Re-running with the same ``--out`` resumes from the checkpoint there (``--no-resume`` starts over).
``--ship`` copies the finished folder to ``agents/base_model/weights/default/`` (``--ship-as``) with
a ``MANIFEST.json`` (sha256 of every file, this command, seed, config, data version, code commit,
versions, wall time): the shipped model is then ``ensure_base_model("default")``. The data of step
``s`` is a pure function of ``(seed, s)`` and training runs on one device with a fixed thread count,
so the same command on the same torch build reproduces the shipped bytes; ``--verify`` checks a
folder against the shipped manifest (the manifest's ``command`` and ``code`` say how to rebuild it).
Most users never call this: ``agents.base_model.ensure_base_model`` returns the shipped model and
builds the other sizes into the cache.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path

from agents.base_model import BASE_MODEL_SIZES, pretrain, resolve_config
from agents.base_model.config import BaseModelConfig
from agents.base_model.data import DATA_VERSION
from agents.base_model.shipped import (
    REPRODUCIBLE_FILES,
    SHIPPED_SIZES,
    WEIGHTS_ROOT,
    read_manifest,
    ship,
    verify_folder,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="reader", choices=sorted(BASE_MODEL_SIZES),
                        help="the recipe to train (the shipped default names its own in MANIFEST.json)")
    parser.add_argument("--out", help="output folder (save_pretrained files + checkpoint)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads (default: the size's num_threads); "
                             "part of what reproduces the bytes")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                        help="where to train (default: the size's device)")
    parser.add_argument("--batch-episodes", action=argparse.BooleanOptionalAction, default=None,
                        help="one padded forward per step (GPU) instead of one per episode (CPU); "
                             "default: the size's")
    parser.add_argument("--data-workers", type=int, default=None,
                        help="processes that make the data ahead (the weights do not depend on it); "
                             "default: the size's")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="change one BaseModelConfig field of the size (repeatable; VALUE is JSON, "
                             "e.g. --set lookup_share=0.5 --set later_lr=1e-3)")
    parser.add_argument("--no-resume", action="store_true", help="ignore a checkpoint in --out")
    parser.add_argument("--until-step", type=int, default=None,
                        help="save the run's model after this many steps of its schedule (an exact snapshot "
                             "of the full run; resumable and reproducible like it)")
    parser.add_argument("--max-wall-s", type=float, default=None, help="wall-time budget (seconds)")
    parser.add_argument("--ship", action="store_true",
                        help="copy the finished model into agents/base_model/weights/<ship-as> "
                             "with a manifest")
    parser.add_argument("--ship-as", default=SHIPPED_SIZES[0], choices=SHIPPED_SIZES,
                        help="the shipped name it replaces (default: %(default)s)")
    parser.add_argument("--verify", metavar="FOLDER", default=None,
                        help="check FOLDER's files against the shipped manifest of --ship-as, then exit")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def parse_sets(items: list[str]) -> dict[str, object]:
    """``["lookup_share=0.5", ...]`` -> ``{"lookup_share": 0.5}``: JSON values, fields checked by name.

    Raises:
        ValueError: an item without ``=``, a field ``BaseModelConfig`` lacks, or a field given twice.
    """
    fields = set(BaseModelConfig.__dataclass_fields__)
    changes: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes FIELD=VALUE, got {item!r}")
        if key not in fields:
            raise ValueError(f"--set {key}: BaseModelConfig has no such field; allowed: {sorted(fields)}")
        if key in changes:
            raise ValueError(f"--set {key} is given twice")
        try:
            changes[key] = json.loads(raw)
        except json.JSONDecodeError:
            changes[key] = raw  # a plain string, e.g. --set copy_documents=lookups
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        changes = parse_sets(args.set)
    except ValueError as error:
        parser.error(str(error))
    if args.verify:
        manifest = read_manifest(WEIGHTS_ROOT / args.ship_as)
        verify_folder(args.verify, manifest, REPRODUCIBLE_FILES)
        print(f"{args.verify}: {', '.join(REPRODUCIBLE_FILES)} match the shipped {args.ship_as!r} manifest")
        return 0
    if not args.out:
        print("error: --out is required (or --verify FOLDER)", file=sys.stderr)
        return 2
    try:
        config = resolve_config(args.size).replace(**changes)
    except (TypeError, ValueError) as error:
        parser.error(f"--set: {error}")
    overrides = {"num_threads": args.threads, "device": args.device, "batch_episodes": args.batch_episodes,
                 "data_workers": args.data_workers}
    config = config.replace(**{k: v for k, v in overrides.items() if v is not None})
    out = pretrain(config, args.out, seed=args.seed, resume=not args.no_resume,
                   progress=not args.no_progress, max_wall_s=args.max_wall_s, until_step=args.until_step)
    print(f"base model saved to {out}")
    if args.ship:
        import torch
        import transformers

        info = json.loads((Path(out) / "pretrain_info.json").read_text())
        if info.get("stopped_early"):
            print("error: the run stopped early (wall-time budget); not shipping it", file=sys.stderr)
            return 2
        command = ["python", "scripts/pretrain_base_model.py", "--size", args.size, "--out", "DIR",
                   "--seed", str(args.seed), "--threads", str(config.num_threads), "--device", config.device,
                   "--batch-episodes" if config.batch_episodes else "--no-batch-episodes"]
        for item in args.set:
            command += ["--set", item]
        if args.until_step is not None:
            command += ["--until-step", str(args.until_step)]
        record = {
            "command": shlex.join(command),
            "seed": args.seed,
            "config": config.to_dict(),
            "data_version": DATA_VERSION,
            "data_recipe": "agents/base_model/data.py and demonstrators.py (the mixture documented in "
                           "agents/base_model/__init__.py); the batch of step s is a function of (seed, s)",
            "code": _git_commit(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "machine": (f"{platform.machine()}, {config.num_threads} thread(s)" + (
                f", {torch.cuda.get_device_name()}" if info.get("device") == "cuda" else "")),
            "parameters": info["parameters"],
            "steps_done": info["steps_done"],
            "until_step": args.until_step,
            "final_loss": info["final_loss"],
            "wall_s": info["wall_s"],
        }
        dest = ship(out, args.ship_as, record)
        print(f"shipped to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
