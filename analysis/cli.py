"""The ``textrl report`` sub-command (registered by ``agents/cli.py``)::

    textrl report RUN_DIR [RUN_DIR ...] --out DIR [--names base rlft ucb] [--no-plots] [--separate-settings]

Writes ``DIR/report.md``, ``DIR/summary.csv`` and PNG plots (see :mod:`analysis.report`).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run_report"]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``report`` parser to ``subparsers``; its ``func`` runs :func:`run_report`."""
    parser = subparsers.add_parser(
        "report",
        help="write report.md and plots comparing run folders",
        description="Markdown tables and PNG plots (regret, coverage, frequency bias, knowing-doing) "
        "for one or more run folders, side by side.",
    )
    parser.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="run folders (steps.parquet or steps.csv)"
    )
    parser.add_argument("--out", required=True, help="output folder for report.md and the plots")
    parser.add_argument("--names", nargs="+", default=None, help="labels of the runs (default: folder names)")
    parser.add_argument("--no-plots", action="store_true", help="tables only, no PNG plots")
    parser.add_argument(
        "--separate-settings",
        action="store_true",
        help="show runs of one environment made with different settings (run.json env_settings) as "
        "separate environments, labelled with the differing settings (default: refuse them)",
    )
    parser.set_defaults(func=run_report)
    return parser


def run_report(args: argparse.Namespace) -> int:
    """Build the report; a missing or malformed run folder prints one error line and returns 2."""
    from analysis.report import build_report

    try:
        path = build_report(
            args.run_dirs,
            args.out,
            names=args.names,
            plots_enabled=not args.no_plots,
            separate_settings=args.separate_settings,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"textrl report: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0
