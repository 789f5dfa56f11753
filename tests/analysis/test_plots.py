"""The report's figures: what is drawn, read back from the matplotlib figure before it is saved."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis import plots

pytest.importorskip("matplotlib")

NAN = math.nan


def shares(rows):
    """A frequency_bias_shares-like frame: (window, prompts, frequent, greedy, other, invalid)."""
    frame = pd.DataFrame(rows, columns=["window", "prompts", "frequent", "greedy", "other", "invalid"])
    return frame


@pytest.fixture
def figures(monkeypatch):
    """Capture each figure handed to ``_save`` (what the PNG shows)."""
    captured = []
    real = plots._save

    def keep(fig, path):
        captured.append(
            [
                {
                    "title": ax.get_title(),
                    "ylim": ax.get_ylim(),
                    "ticks": [t.get_text() for t in ax.get_xticklabels()],
                    "heights": [round(p.get_height(), 6) for p in ax.patches],
                    "texts": [t.get_text() for t in ax.texts],
                }
                for ax in fig.axes
            ]
        )
        return real(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    return captured


def test_frequency_bias_plot_has_no_empty_columns_and_a_100_percent_axis(tmp_path, figures):
    """Issue 15: windows without prompts were drawn as empty columns with stray run labels, y to 130."""
    base = shares([("0-10", 4, 0.5, 0.25, 0.25, 0.0), ("45-55", 0, NAN, NAN, NAN, NAN),
                   ("90-100", 2, 1.0, 0.0, 0.0, 0.0)])  # fmt: skip
    rlft = shares([("0-10", 4, 0.25, 0.25, 0.5, 0.0), ("45-55", 0, NAN, NAN, NAN, NAN),
                   ("90-100", 0, NAN, NAN, NAN, NAN)])  # fmt: skip
    path = plots.plot_frequency_bias({"base": base, "rlft": rlft}, tmp_path / "fb.png")
    assert path.stat().st_size > 1000
    (axes,) = figures
    assert [ax["title"] for ax in axes] == ["0-10 repetitions", "90-100 repetitions"]  # 45-55: no prompts
    assert [ax["ticks"] for ax in axes] == [["base", "rlft"], ["base"]]  # rlft has no 90-100 prompts
    assert all(ax["ylim"] == (0.0, 100.0) for ax in axes)
    assert all(ax["texts"] == [] for ax in axes)  # no labels floating above the bars
    # stacked per class (frequent, greedy, other, invalid), one bar per run: heights in %
    assert axes[0]["heights"] == [50.0, 25.0, 25.0, 25.0, 25.0, 50.0, 0.0, 0.0]
    assert axes[1]["heights"] == [100.0, 0.0, 0.0, 0.0]


def test_frequency_bias_plot_without_any_prompts_says_so(tmp_path, figures):
    plots.plot_frequency_bias({"base": shares([("0-10", 0, NAN, NAN, NAN, NAN)])}, tmp_path / "fb.png")
    assert figures[0][0]["texts"] == ["no probe prompts in any window"]


def test_knowing_doing_without_valid_answers_says_so(tmp_path, figures):
    """Issue 15: a grid of dashes when no answer named a valid action."""
    table = pd.DataFrame(
        [(r, a, NAN) for r in ("correct", "incorrect") for a in ("optimal", "greedy", "other")],
        columns=["rationale", "action", "percent"],
    )
    plots.plot_knowing_doing(table, tmp_path / "kd.png", title="Knowing-doing: base")
    ((ax,),) = figures
    assert ax["title"] == "Knowing-doing: base"
    assert ax["texts"] == ["no valid answers: every answer lacked a valid action"]
    table["percent"] = [60.0, 10.0, 5.0, 20.0, 5.0, 0.0]
    plots.plot_knowing_doing(table, tmp_path / "kd2.png", title="t")
    assert figures[1][0]["texts"] == ["60.0%", "10.0%", "5.0%", "20.0%", "5.0%", "0.0%"]
