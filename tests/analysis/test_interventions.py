"""The interventions comparison table on a hand-built log, its Markdown, and its figures."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.interventions import comparison_table, format_comparison, plot_budget, plot_comparison


def _log(agent: str, episodes: list[tuple[list[float], list[int], list[bool]]]) -> pd.DataFrame:
    rows = []
    for e, (regrets, actions, valid) in enumerate(episodes):
        for t, (r, a, v) in enumerate(zip(regrets, actions, valid, strict=True)):
            rows.append(dict(agent=agent, env_id="TextBandit-v0", seed=0, episode=e, step=t, action_index=a,
                             valid_action=v, reward=0.0, env_reward=0.5, regret=r, optimal_action=0,
                             n_actions=3, terminated=t == len(regrets) - 1))  # fmt: skip
    return pd.DataFrame(rows)


A = _log("a", [([0.1, 0.2, 0.3], [0, 1, 1], [True, True, False]), ([0.0, 0.4, 0.6], [2, 2, 2], [True] * 3)])
B = _log("b", [([0.0, 0.0, 0.0], [0, 1, 2], [True] * 3)])


def test_comparison_table_by_hand():
    table = comparison_table({"try-all": A, "ucb": B})
    assert table["run"].tolist() == ["try-all", "ucb"]
    a = table.iloc[0]
    # episode regrets 0.6 and 1.0: mean 0.8, sd 0.2828, sem 0.2, t(1, 0.975) = 12.7062
    assert a["regret_mean"] == pytest.approx(0.8)
    assert a["regret_ci_high"] == pytest.approx(0.8 + 12.7062 * 0.2, rel=1e-4)
    # coverage: 2 of 3 arms, then 1 of 3 -> 0.5; one invalid answer of six
    assert a["coverage_mean"] == pytest.approx(0.5) and a["invalid_rate"] == pytest.approx(1 / 6)
    assert a["episodes"] == 2 and a["horizon"] == 3
    b = table.iloc[1]
    assert b["regret_mean"] == 0.0 and b["coverage_mean"] == 1.0 and pd.isna(b["regret_ci_low"])


def test_format_comparison():
    text = format_comparison(comparison_table({"try-all": A, "ucb": B}))
    lines = text.splitlines()
    assert lines[0] == "| run | regret at T=3 | coverage@3 | invalid | episodes |"
    assert lines[2].startswith("| try-all | 0.80 [-1.74, 3.34] | 50.0% [")
    assert lines[3] == "| ucb | 0.00 [-, -] | 100.0% [-, -] | 0.0% | 1 |"
    with pytest.raises(ValueError, match="missing columns"):
        format_comparison(pd.DataFrame({"run": ["x"]}))


def test_comparison_table_pairs_runs_with_the_baseline():
    half = A.assign(regret=A["regret"] / 2)  # A's two episodes, regrets 0.3 and 0.5 against A's 0.6 and 1.0
    table = comparison_table({"base": A, "sft": half, "ucb": B}, baseline="base")
    # differences -0.3 and -0.5: mean -0.4, sd 0.1414, sem 0.1, t(1, 0.975) = 12.7062
    sft = table.set_index("run").loc["sft"]
    assert sft["regret_vs_baseline"] == pytest.approx(-0.4)
    assert sft["regret_vs_baseline_ci_low"] == pytest.approx(-0.4 - 12.7062 * 0.1, rel=1e-4)
    assert sft["regret_vs_baseline_ci_high"] == pytest.approx(-0.4 + 12.7062 * 0.1, rel=1e-4)
    # the baseline itself, and a run on other episodes: no paired value
    assert table.set_index("run").loc[["base", "ucb"], "regret_vs_baseline"].isna().all()
    lines = format_comparison(table).splitlines()
    assert lines[0].endswith("| episodes | regret - baseline (paired) |")
    assert lines[3].endswith("| -0.40 [-1.67, +0.87] |") and lines[2].endswith("| - |")
    assert "paired" not in format_comparison(comparison_table({"base": A, "sft": half}))  # no baseline asked
    with pytest.raises(ValueError, match="baseline 'rlft' is not one of the runs"):
        comparison_table({"base": A}, baseline="rlft")


def test_comparison_table_errors():
    with pytest.raises(ValueError, match="at least one run"):
        comparison_table({})
    with pytest.raises(ValueError, match="missing columns"):
        comparison_table({"x": A.drop(columns=["regret"])})


def test_figures_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    table = comparison_table({"try-all": A, "self-consistency": A, "ucb": B, "random": A})
    assert plot_comparison(table, tmp_path / "c.png", title="t").stat().st_size > 1000
    budget = comparison_table({"G=16": A, "G=64": B}).assign(budget=[16, 64])
    refs = table[table["run"].isin(["ucb", "random"])]
    assert plot_budget(budget, tmp_path / "b.png", references=refs).stat().st_size > 1000
    with pytest.raises(ValueError, match="needs a 'budget' column"):
        plot_budget(table, tmp_path / "x.png")
