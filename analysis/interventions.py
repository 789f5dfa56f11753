"""The interventions comparison: one row per method with regret and coverage at T, and its figures.

The paper compares its remedies for greediness side by side (exploration mechanisms, expert SFT, RL
fine-tuning, more thinking tokens) as regret and coverage at the horizon, each with a 95% interval,
against UCB and random. :func:`comparison_table` computes that table from the runs' tidy step logs
(pure: frames in, frame out), :func:`format_comparison` prints it as Markdown, and
:func:`plot_comparison` / :func:`plot_budget` draw the comparison figure and the thinking-budget curve.

Intervals: Student-t over episodes (each episode one sample), as in :func:`analysis.summary.summarize_steps`.
``coverage`` is ``C_T``, the share of arms played at least once by the episode's last step. With a
``baseline`` run, each run's regret is also compared with the baseline's episode by episode
(:func:`analysis.summary.paired_difference`): every method of a comparison plays the same seeded
episodes, so this paired interval resolves changes that the two runs' own intervals cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.metrics import episode_stats, validate_steps
from analysis.plots import _pyplot, _save
from analysis.stats import mean_ci
from analysis.summary import paired_difference, same_episodes
from analysis.tables import format_cell, to_markdown

__all__ = [
    "COMPARISON_COLUMNS", "PAIRED_COLUMNS", "comparison_table", "format_comparison", "plot_budget",
    "plot_comparison",
]

COMPARISON_COLUMNS = [
    "run", "episodes", "horizon", "regret_mean", "regret_ci_low", "regret_ci_high", "coverage_mean",
    "coverage_ci_low", "coverage_ci_high", "invalid_rate",
]  # fmt: skip
#: Added by ``comparison_table(..., baseline=...)``: run - baseline regret, paired by episode.
PAIRED_COLUMNS = ["regret_vs_baseline", "regret_vs_baseline_ci_low", "regret_vs_baseline_ci_high"]


def comparison_table(
    runs: Mapping[str, pd.DataFrame], *, confidence: float = 0.95, baseline: str | None = None
) -> pd.DataFrame:
    """One row per run (in the mapping's order): regret and coverage at T with intervals.

    Args:
        runs: run label -> its tidy step log (one agent on one bandit environment).
        confidence: interval level.
        baseline: a label of ``runs`` (e.g. ``"base"``): adds :data:`PAIRED_COLUMNS`, each run's
            cumulative regret minus the baseline's on the same episodes, mean and interval; NaN for the
            baseline itself and for a run played on other episodes.

    Returns:
        Columns :data:`COMPARISON_COLUMNS` (and :data:`PAIRED_COLUMNS` with a ``baseline``):
        ``horizon`` is the longest episode, ``invalid_rate`` the share of answers without a valid
        action.

    Raises:
        ValueError: no runs, a log that is empty or lacks the step-log columns, or a ``baseline``
            that is not one of the runs.
    """
    if not runs:
        raise ValueError("comparison_table needs at least one run")
    if baseline is not None and baseline not in runs:
        raise ValueError(f"baseline {baseline!r} is not one of the runs {list(runs)}")
    rows = []
    for label, steps in runs.items():
        validate_steps(steps, ["regret", "env_reward", "action_index", "n_actions", "valid_action"])
        per_episode = episode_stats(steps)
        regret = mean_ci(per_episode["cum_regret"], confidence)
        coverage = mean_ci(per_episode["coverage_last"], confidence)
        invalid = float(per_episode["invalid_actions"].sum() / per_episode["length"].sum())
        rows.append((label, len(per_episode), int(per_episode["length"].max()), *regret, *coverage, invalid))
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    if baseline is not None:
        reference = runs[baseline]
        paired = [
            paired_difference(steps, reference, "cum_regret", confidence)[:3]
            if label != baseline and same_episodes(steps, reference) else (np.nan,) * 3
            for label, steps in runs.items()
        ]
        table[PAIRED_COLUMNS] = pd.DataFrame(paired, columns=PAIRED_COLUMNS)
    return table


def format_comparison(table: pd.DataFrame, decimals: int = 2) -> str:
    """Markdown: ``run | regret at T [95% CI] | coverage@T [95% CI] | invalid | episodes``, and
    ``regret - baseline (paired)`` where the table has :data:`PAIRED_COLUMNS` (``-`` for the
    baseline and unpaired runs)."""
    missing = [c for c in COMPARISON_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"format_comparison: missing columns {missing}; pass comparison_table's output")

    def interval(mean: float, low: float, high: float, scale: float = 1.0, unit: str = "") -> str:
        cells = [format_cell(v * scale, decimals if not unit else 1) for v in (mean, low, high)]
        return f"{cells[0]}{unit} [{cells[1]}, {cells[2]}]"

    horizon = int(table["horizon"].max())
    shown = pd.DataFrame(
        {
            "run": table["run"],
            f"regret at T={horizon}": [
                interval(*r) for r in table[["regret_mean", "regret_ci_low", "regret_ci_high"]].to_numpy()
            ],
            f"coverage@{horizon}": [
                interval(*r, scale=100.0, unit="%")
                for r in table[["coverage_mean", "coverage_ci_low", "coverage_ci_high"]].to_numpy()
            ],
            "invalid": [f"{100 * v:.1f}%" for v in table["invalid_rate"]],
            "episodes": table["episodes"].astype(np.int64),
        }
    )
    if set(PAIRED_COLUMNS) <= set(table.columns):
        shown["regret - baseline (paired)"] = [
            "-" if pd.isna(m) else f"{m:+.{decimals}f} [{lo:+.{decimals}f}, {hi:+.{decimals}f}]"
            for m, lo, hi in table[PAIRED_COLUMNS].to_numpy()
        ]
    return to_markdown(shown, decimals)


_REFERENCE_STYLES = {"ucb": ("tab:green", "--"), "random": ("tab:red", ":")}  # (colour, line style)


def _bars(ax, table: pd.DataFrame, prefix: str, scale: float, references: Sequence[str], xlabel: str) -> None:
    methods = table[~table["run"].isin(references)].reset_index(drop=True)
    y = np.arange(len(methods))[::-1]
    mean = methods[f"{prefix}_mean"].to_numpy(dtype=float) * scale
    low = methods[f"{prefix}_ci_low"].to_numpy(dtype=float) * scale
    high = methods[f"{prefix}_ci_high"].to_numpy(dtype=float) * scale
    err = np.nan_to_num(np.vstack([mean - low, high - mean]), nan=0.0)
    ax.barh(y, mean, xerr=err, color="tab:blue", alpha=0.8, capsize=3)
    ax.set_yticks(y, methods["run"].tolist())
    for ref in references:
        row = table[table["run"] == ref]
        if not row.empty:
            colour, style = _REFERENCE_STYLES.get(ref, ("black", "-."))
            ax.axvline(float(row[f"{prefix}_mean"].iloc[0]) * scale, color=colour, linestyle=style, label=ref)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)


def plot_comparison(
    table: pd.DataFrame, path: Path, *, references: Sequence[str] = ("ucb", "random"), title: str = ""
) -> Path:
    """Two panels, cumulative regret and coverage at T, one bar (95% CI) per method; the reference
    runs (UCB, random) drawn as vertical lines: the paper's comparison figure."""
    plt = _pyplot()
    n = int((~table["run"].isin(references)).sum())
    fig, (ax_r, ax_c) = plt.subplots(1, 2, figsize=(10, 0.9 + 0.38 * max(n, 3)), sharey=True)
    horizon = int(table["horizon"].max())
    _bars(ax_r, table, "regret", 1.0, references, f"cumulative regret at T={horizon} (lower is better)")
    _bars(ax_c, table, "coverage", 100.0, references, f"coverage@{horizon} (%)")
    ax_c.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_budget(
    table: pd.DataFrame, path: Path, *, references: pd.DataFrame | None = None, title: str = ""
) -> Path:
    """Regret and coverage at T against the generation budget G (``table`` has a ``budget`` column
    beside :data:`COMPARISON_COLUMNS`); optional reference runs as horizontal lines."""
    if "budget" not in table.columns:
        raise ValueError("plot_budget needs a 'budget' column (the generation budget G of each row)")
    plt = _pyplot()
    table = table.sort_values("budget")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, prefix, scale, label in ((axes[0], "regret", 1.0, "cumulative regret at T"),
                                     (axes[1], "coverage", 100.0, "coverage@T (%)")):  # fmt: skip
        x = table["budget"].to_numpy(dtype=float)
        mean = table[f"{prefix}_mean"].to_numpy(dtype=float) * scale
        err = np.nan_to_num(
            np.vstack([mean - table[f"{prefix}_ci_low"] * scale, table[f"{prefix}_ci_high"] * scale - mean]),
            nan=0.0,
        )
        ax.errorbar(x, mean, yerr=err, marker="o", capsize=3, label="LLM")
        for _, ref in references.iterrows() if references is not None else []:
            colour, style = _REFERENCE_STYLES.get(str(ref["run"]), ("black", "-."))
            value = float(ref[f"{prefix}_mean"]) * scale
            ax.axhline(value, color=colour, linestyle=style, label=str(ref["run"]))
        ax.set_xscale("log", base=2)
        ax.set_xticks(x, [str(int(v)) for v in x])
        ax.set_xlabel("generation budget G (tokens)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)
