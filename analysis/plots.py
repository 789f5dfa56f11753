"""PNG plots for the report: regret and coverage curves, frequency-bias shares, knowing-doing heat map.

Needs matplotlib (the ``plots`` extra: ``pip install 'textrl[plots]'``); it is imported lazily with
the non-interactive Agg backend, so importing this module never fails. :func:`plots_available`
says whether plotting will work. Every figure is saved atomically (temp file, then ``os.replace``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.evaluation.io import atomic_write

__all__ = ["INSTALL_HINT", "plots_available", "plot_curves", "plot_frequency_bias", "plot_knowing_doing"]

INSTALL_HINT = "install the plots extra: pip install 'textrl[plots]' (or pip install matplotlib)"


def _pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend; ImportError with the install hint when missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(f"plotting needs matplotlib: {INSTALL_HINT}") from error
    return plt


def plots_available() -> bool:
    """True when matplotlib can be imported."""
    try:
        _pyplot()
    except ImportError:
        return False
    return True


def _save(fig: Any, path: Path) -> Path:
    try:
        # format given explicitly: the temporary file's suffix is not .png
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
    finally:
        fig.clf()
        import matplotlib.pyplot as plt

        plt.close(fig)


def plot_curves(curves: Mapping[str, pd.DataFrame], path: Path, *, title: str, ylabel: str) -> Path:
    """One line per label (``step`` vs ``mean``) with its ``ci_low``..``ci_high`` band shaded.

    ``curves`` maps a legend label to a frame from :func:`analysis.metrics.regret_curve` or
    :func:`analysis.metrics.coverage_curve` (one agent and env).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, curve in curves.items():
        x = curve["step"].to_numpy() + 1  # decisions taken, 1-based
        ax.plot(x, curve["mean"].to_numpy(), label=label)
        low, high = curve["ci_low"].to_numpy(dtype=float), curve["ci_high"].to_numpy(dtype=float)
        if np.isfinite(low).any():
            ax.fill_between(x, low, high, alpha=0.2)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_frequency_bias(shares: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Stacked bars of frequent / greedy / other / invalid shares: one panel per repetition window,
    one bar per run that has prompts in that window (windows without any prompts are left out, so no
    empty column is drawn). The y axis is the share of choices, 0-100 %.

    ``shares`` maps a run label to :func:`analysis.probes.frequency_bias_shares` output.
    """
    plt = _pyplot()
    classes = [("frequent", "tab:red"), ("greedy", "tab:blue"), ("other", "tab:gray"), ("invalid", "black")]
    panels: dict[str, list[tuple[str, pd.Series]]] = {}
    for label, frame in shares.items():
        for _, row in frame.iterrows():
            if row["prompts"] > 0 and any(pd.notna(row[c]) for c, _ in classes):
                panels.setdefault(str(row["window"]), []).append((label, row))
    if not panels:
        return _message_figure(plt, path, "Frequency bias", "no probe prompts in any window")
    n_runs = max(len(bars) for bars in panels.values())
    fig, axes = plt.subplots(1, len(panels), figsize=(1.2 + 1.1 * n_runs * len(panels), 4.0), sharey=True,
                             squeeze=False)
    for ax, (window, bars) in zip(axes[0], panels.items(), strict=True):
        x = np.arange(len(bars))
        bottom = np.zeros(len(bars))
        for cls, colour in classes:
            values = np.array([100 * float(row[cls]) if pd.notna(row[cls]) else 0.0 for _, row in bars])
            ax.bar(x, values, 0.7, bottom=bottom, color=colour, label=cls)
            bottom += values
        ax.set_xticks(x, [label for label, _ in bars], rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{window} repetitions", fontsize=9)
        ax.set_ylim(0, 100)
    axes[0][0].set_ylabel("% of choices")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=8, loc="upper center", ncol=4, bbox_to_anchor=(0.5, 1.08))
    fig.suptitle("Frequency bias: class of the chosen action", y=1.14)
    return _save(fig, path)


def _message_figure(plt: Any, path: Path, title: str, message: str) -> Path:
    """A small figure that says ``message`` instead of an empty chart."""
    fig, ax = plt.subplots(figsize=(5.0, 2.0))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11)
    ax.set_title(title)
    return _save(fig, path)


def plot_knowing_doing(table: pd.DataFrame, path: Path, *, title: str) -> Path:
    """Heat map of the 2 x 3 knowing-doing table (``percent`` from :func:`knowing_doing_table`).

    When no answer named a valid action (every cell NaN) the figure says "no valid answers" instead
    of a grid of dashes.
    """
    plt = _pyplot()
    matrix = table.pivot(index="rationale", columns="action", values="percent")
    matrix = matrix.reindex(index=["correct", "incorrect"], columns=["optimal", "greedy", "other"])
    if matrix.isna().all().all():
        return _message_figure(plt, path, title, "no valid answers: every answer lacked a valid action")
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    image = ax.imshow(matrix.to_numpy(dtype=float), cmap="viridis", vmin=0, vmax=100)
    for i in range(2):
        for j in range(3):
            value = matrix.iloc[i, j]
            text = "-" if pd.isna(value) else f"{value:.1f}%"
            ax.text(j, i, text, ha="center", va="center", color="white" if (value or 0) < 60 else "black")
    ax.set_xticks(range(3), ["optimal", "greedy", "other"])
    ax.set_yticks(range(2), ["correct", "incorrect"])
    ax.set_xlabel("action")
    ax.set_ylabel("rationale")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="% of actions")
    return _save(fig, path)
