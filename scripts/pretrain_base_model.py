"""Pretrain the embedded base model from scratch into a folder.

    python scripts/pretrain_base_model.py --size default --out runs/base-model --seed 0

Re-running with the same ``--out`` resumes from the checkpoint there (``--no-resume`` starts over).
Most users never call this: ``agents.base_model.ensure_base_model`` builds the model into the cache.
"""

from __future__ import annotations

import argparse
import sys

from agents.base_model import BASE_MODEL_SIZES, pretrain


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", choices=sorted(BASE_MODEL_SIZES))
    parser.add_argument("--out", required=True, help="output folder (save_pretrained files + checkpoint)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-resume", action="store_true", help="ignore a checkpoint in --out")
    parser.add_argument("--max-wall-s", type=float, default=None, help="wall-time budget (seconds)")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = pretrain(args.size, args.out, seed=args.seed, resume=not args.no_resume,
                   progress=not args.no_progress, max_wall_s=args.max_wall_s)
    print(f"base model saved to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
