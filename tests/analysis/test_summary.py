"""summarize_steps / format_summary on hand-built logs; CIs checked against scipy.stats.t."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from analysis.summary import SUMMARY_COLUMNS, TICTACTOE_COLUMNS, format_summary, summarize_steps


def test_summary_bandit_by_hand(frames):
    out = summarize_steps(frames.bandit())
    assert list(out.columns) == SUMMARY_COLUMNS
    row = out.iloc[0]
    # episode regrets 1.8 and 1.9; returns 1.8 and 1.6; final coverage 1 and 2/3; 1 invalid of 8
    assert row["episodes"] == 2
    assert row["cum_regret_mean"] == pytest.approx(1.85)
    low, high = stats.t.interval(0.95, df=1, loc=1.85, scale=stats.sem([1.8, 1.9]))
    assert (row["cum_regret_ci_low"], row["cum_regret_ci_high"]) == pytest.approx((low, high))
    assert row["coverage_last"] == pytest.approx(5 / 6)
    assert row["invalid_rate"] == pytest.approx(0.125)
    assert row["return_mean"] == pytest.approx(1.7)


def test_summary_many_episodes_ci_matches_scipy(frames):
    episodes = []
    regrets = [0.3, 1.2, 0.8, 2.0, 0.1]
    for i, r in enumerate(regrets):
        frame = frames.bandit(agent="b").iloc[:4].copy()
        frame["episode"] = i
        frame["regret"] = [r, 0.0, 0.0, 0.0]
        episodes.append(frame)
    out = summarize_steps(pd.concat(episodes)).iloc[0]
    low, high = stats.t.interval(0.95, df=4, loc=sum(regrets) / 5, scale=stats.sem(regrets))
    assert out["episodes"] == 5
    assert (out["cum_regret_ci_low"], out["cum_regret_ci_high"]) == pytest.approx((low, high))


def test_summary_several_agents_and_tictactoe(frames):
    steps = pd.concat([frames.bandit("a"), frames.bandit("z"), frames.tictactoe()], ignore_index=True)
    out = summarize_steps(steps)
    assert list(out.columns) == SUMMARY_COLUMNS + TICTACTOE_COLUMNS
    assert list(zip(out["agent"], out["env_id"], strict=True)) == [
        ("a", "TextBandit-v0"),
        ("m", "TextTicTacToe-v0"),
        ("z", "TextBandit-v0"),
    ]
    ttt = out.iloc[1]
    assert ttt["win_rate"] == pytest.approx(1 / 3) and ttt["illegal_move_rate"] == pytest.approx(1 / 6)
    # ttt regrets per game 1, 1, 0 -> mean 2/3; invalid 1 of 6 decisions
    assert ttt["cum_regret_mean"] == pytest.approx(2 / 3) and ttt["invalid_rate"] == pytest.approx(1 / 6)
    assert math.isnan(out.iloc[0]["win_rate"])


def test_single_episode_has_nan_interval(frames):
    out = summarize_steps(frames.bandit().iloc[:4]).iloc[0]
    assert out["cum_regret_mean"] == pytest.approx(1.8) and math.isnan(out["cum_regret_ci_low"])


def test_format_summary_text(frames):
    text = format_summary(summarize_steps(frames.bandit()))
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["agent", "env_id", "episodes", "cum_regret"]
    assert "1.850 [" in lines[2] and "0.125" in lines[2] and "TextBandit-v0" in lines[2]


def test_summary_error_paths(frames):
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        summarize_steps({"agent": []})
    with pytest.raises(ValueError, match="holds no decisions"):
        summarize_steps(frames.bandit().iloc[0:0])
    with pytest.raises(ValueError, match=r"missing columns \['regret'\]"):
        summarize_steps(frames.bandit().drop(columns=["regret"]))
    with pytest.raises(ValueError, match=r"missing columns \['illegal_move'\]"):
        summarize_steps(frames.tictactoe().drop(columns=["illegal_move"]))
    with pytest.raises(TypeError, match="expects the DataFrame from summarize_steps"):
        format_summary("table")
    with pytest.raises(ValueError, match="pass the output of summarize_steps"):
        format_summary(pd.DataFrame({"agent": ["a"]}))


def _episodes(agent, regrets):
    """A log with one 1-step episode per regret, episodes 0.. of seed 0 (same keys for any agent)."""
    rows = [
        {"agent": agent, "env_id": "TextBandit-v0", "seed": 0, "episode": i, "step": 0, "action_index": 0,
         "valid_action": True, "env_reward": 0.0, "regret": r, "n_actions": 2}
        for i, r in enumerate(regrets)
    ]
    return pd.DataFrame(rows)


def test_paired_difference_against_scipy():
    from analysis.summary import paired_difference

    before, after = [3.0, 5.0, 4.0, 9.0, 7.0], [2.5, 4.2, 3.4, 8.1, 6.3]
    diffs = [a - b for a, b in zip(after, before, strict=True)]  # -0.5 -0.8 -0.6 -0.9 -0.7
    mean, low, high, n = paired_difference(_episodes("rlft", after), _episodes("base", before))
    expected = stats.t.interval(0.95, df=4, loc=sum(diffs) / 5, scale=stats.sem(diffs))
    assert n == 5 and mean == pytest.approx(-0.7) and (low, high) == pytest.approx(expected)
    # the shared difficulty cancels: the runs' own intervals overlap, the paired one excludes 0
    own = [stats.t.interval(0.95, df=4, loc=sum(x) / 5, scale=stats.sem(x)) for x in (after, before)]
    assert own[0][1] > own[1][0] and high < 0.0
    # the order of the episodes in the logs does not matter
    shuffled = _episodes("rlft", after).iloc[::-1]
    assert paired_difference(shuffled, _episodes("base", before))[:3] == pytest.approx((mean, low, high))


def test_paired_difference_rejects_different_episodes():
    from analysis.summary import paired_difference

    with pytest.raises(ValueError, match="same episodes"):
        paired_difference(_episodes("a", [1.0, 2.0, 3.0]), _episodes("b", [1.0, 2.0]))
    two = pd.concat([_episodes("a", [1.0, 2.0]), _episodes("c", [1.0, 2.0])])
    with pytest.raises(ValueError, match="one agent on one env"):
        paired_difference(two, _episodes("b", [1.0, 2.0]))
    with pytest.raises(ValueError, match="per-episode statistic"):
        paired_difference(_episodes("a", [1.0, 2.0]), _episodes("b", [1.0, 2.0]), value="seed")
