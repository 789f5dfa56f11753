"""Analyses of how text agents decide: metrics on the tidy step log, probes, reports.

- :mod:`analysis.metrics`: regret curves, action coverage, suffix failures, MinFrac, greedy fraction,
  pulls per arm, tic-tac-toe outcomes, invalid-action rate (pure functions on the step log).
- :mod:`analysis.summary`: :func:`summarize_steps` / :func:`format_summary`, the summary table.
- :mod:`analysis.probes`: frequency-bias and knowing-doing probes that query an agent.
- :mod:`analysis.report`: ``textrl report`` (Markdown tables and PNG plots for several runs).
"""

from __future__ import annotations

from typing import Any

__all__ = ["format_summary", "summarize_steps"]


def __getattr__(name: str) -> Any:
    """``analysis.summarize_steps`` / ``format_summary``, imported on first use: importing the
    package (as ``textrl --help`` does for ``analysis.cli``) must not pull in pandas and scipy."""
    if name in __all__:
        from analysis import summary

        return getattr(summary, name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
