"""Metrics on hand-built step logs; every expected number is computed by hand in a comment."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import metrics
from analysis.stats import grouped_mean_ci, mean_ci, wilson_interval


def test_cumulative_regret_by_hand(frames):
    out = metrics.cumulative_regret(frames.bandit())
    # episode A regrets 0.7, 0.4, 0.7, 0.0 -> 0.7, 1.1, 1.8, 1.8; B 0.4, 0.4, 0.7, 0.4 -> 0.4, 0.8, 1.5, 1.9
    np.testing.assert_allclose(out["cum_regret"], [0.7, 1.1, 1.8, 1.8, 0.4, 0.8, 1.5, 1.9])


def test_regret_curve_mean_and_t_interval(frames):
    curve = metrics.regret_curve(frames.bandit())
    assert list(curve["step"]) == [0, 1, 2, 3]
    # step 3: samples 1.8 and 1.9 -> mean 1.85, sd 0.0707, sem 0.05, t_{1,0.975} = 12.706
    row = curve.iloc[3]
    assert row["mean"] == pytest.approx(1.85)
    assert row["ci_high"] - row["mean"] == pytest.approx(12.7062 * 0.05, rel=1e-4)
    assert row["n"] == 2
    # unit="seed": one episode per seed here, so the same numbers
    pd.testing.assert_frame_equal(metrics.regret_curve(frames.bandit(), unit="seed"), curve)


def test_regret_curve_seed_unit_averages_episodes_first(frames):
    frame = frames.bandit()
    frame.loc[frame["seed"] == 1, "seed"] = 0  # both episodes now seed 0 (episode ids must differ)
    frame.loc[4:, "episode"] = 1
    curve = metrics.regret_curve(frame, unit="seed")
    # one seed: mean of the two episodes' cum regret, no interval
    assert curve.iloc[3]["mean"] == pytest.approx(1.85)
    assert math.isnan(curve.iloc[3]["ci_low"]) and curve.iloc[3]["n"] == 1


def test_coverage_curve_by_hand(frames):
    curve = metrics.coverage_curve(frames.bandit())
    # A: 1/3, 2/3, 2/3, 1; B: 1/3, 1/3, 2/3, 2/3 -> means 1/3, 1/2, 2/3, 5/6
    np.testing.assert_allclose(curve["mean"], [1 / 3, 1 / 2, 2 / 3, 5 / 6])


def test_suffix_failure_by_hand(frames):
    out = metrics.suffix_failure_frequency(frames.bandit())
    # T=4, t0=2: A plays arm 2 at step 3 (no failure); B plays 0, 1 (failure) -> 1/2
    assert out["suffix_failure"].item() == pytest.approx(0.5)
    assert out["episodes"].item() == 2
    # from step 0 both episodes... A hits, B never plays arm 2 -> still 1/2; from step 3: same
    assert metrics.suffix_failure_frequency(frames.bandit(), start=0)["suffix_failure"].item() == 0.5
    low, high = wilson_interval(1, 2)
    assert out["ci_low"].item() == pytest.approx(low) and out["ci_high"].item() == pytest.approx(high)


@pytest.mark.parametrize("start, match", [(-1, "start must be >= 0"), (4, "empty suffix")])
def test_suffix_failure_bad_start(start, match, frames):
    with pytest.raises(ValueError, match=match):
        metrics.suffix_failure_frequency(frames.bandit(), start=start)


def test_min_frac_by_hand(frames):
    out = metrics.min_frac(frames.bandit())
    # A counts [2, 1, 1] -> 1/4; B counts [1, 3, 0] -> 0 -> mean 1/8, times k=3 -> 3/8
    assert out["min_frac"].item() == pytest.approx(0.125)
    assert out["min_frac_normalized"].item() == pytest.approx(0.375)


def test_greedy_flags_and_fraction_by_hand(frames):
    # A: step0 undefined; step1 arm 1 untried -> 0; step2 means {0: 1.0, 1: 0.0}, arm 0 -> 1;
    # step3 arm 2 untried -> 0  => 1/3
    flags = metrics.greedy_flags(np.array([0, 1, 0, 2]), np.array([1.0, 0.0, 0.5, 0.3]), 3)
    assert math.isnan(flags[0])
    np.testing.assert_array_equal(flags[1:], [0.0, 1.0, 0.0])
    # B: step1 arm 1 (only tried) -> 1; step2 arm 0 untried -> 0; step3 means {1: 0.3, 0: 0.9}, arm 1 -> 0
    out = metrics.greedy_fraction(frames.bandit())
    assert out["greedy_fraction"].item() == pytest.approx(1 / 3)


def test_greedy_flags_ties_count_as_greedy():
    # arms 0 and 1 both have mean 0.5 after two steps; picking either is greedy
    flags = metrics.greedy_flags(np.array([0, 1, 1, 0]), np.array([0.5, 0.5, 0.5, 0.5]), 3)
    np.testing.assert_array_equal(flags[1:], [0.0, 1.0, 1.0])


def test_pulls_per_arm_by_hand(frames):
    out = metrics.pulls_per_arm(frames.bandit())
    # arm 0: 2 + 1 = 3 pulls over 2 episodes; arm 1: 1 + 3 = 4; arm 2: 1 + 0 = 1 (8 pulls in all)
    np.testing.assert_allclose(out["pulls_mean"], [1.5, 2.0, 0.5])
    np.testing.assert_allclose(out["share"], [3 / 8, 4 / 8, 1 / 8])


def test_top_arm_share_by_hand(frames):
    # pulls pooled over both episodes: arm 0 -> 3, arm 1 -> 4, arm 2 -> 1 (8 in all)
    out = metrics.top_arm_share(frames.bandit()).iloc[0]
    assert (out["top_arm"], out["top_arm_share"]) == (1, pytest.approx(4 / 8))
    # one row per agent; a tie goes to the lower arm index
    tied = pd.concat([frames.bandit("x"), frames.bandit("y").assign(action_index=[0, 1, 2, 0, 1, 2, 0, 1])])
    out = metrics.top_arm_share(tied).set_index("agent")
    assert out.loc["y", "top_arm"] == 0 and out.loc["y", "top_arm_share"] == pytest.approx(3 / 8)
    assert out.loc["x", "top_arm"] == 1


def test_top_arm_share_separates_a_name_picker_from_a_reward_reader():
    # arm means drawn afresh per episode: a rule that always plays arm 2 puts every pull on one label,
    # a rule that plays each episode's best arm spreads them over the labels (about 1 / k each)
    rng = np.random.default_rng(0)
    k, horizon, episodes = 5, 10, 200
    rows = []
    for agent in ("by_name", "by_reward"):
        for episode in range(episodes):
            means = rng.random(k)
            arm = 2 if agent == "by_name" else int(np.argmax(means))
            for step in range(horizon):
                rows.append({"agent": agent, "env_id": "TextBandit-v0", "seed": 0, "episode": episode,
                             "step": step, "action_index": arm, "n_actions": k})
    out = metrics.top_arm_share(pd.DataFrame(rows)).set_index("agent")["top_arm_share"]
    assert out["by_name"] == 1.0
    # the top label of 200 uniform draws over 5: binomial sd ~0.028 around 0.2
    assert 0.2 <= out["by_reward"] < 0.32


def test_invalid_action_rate_by_hand(frames):
    out = metrics.invalid_action_rate(frames.bandit())
    assert out["invalid_rate"].item() == pytest.approx(1 / 8) and out["decisions"].item() == 8


def test_tictactoe_outcomes_by_hand(frames):
    out = metrics.tictactoe_outcomes(frames.tictactoe()).iloc[0]
    # games: win, loss, unfinished; 1 illegal move out of 6; returns 1, -1, 0
    assert out["games"] == 3
    assert out["win_rate"] == pytest.approx(1 / 3) and out["loss_rate"] == pytest.approx(1 / 3)
    assert out["draw_rate"] == 0.0 and out["unfinished_rate"] == pytest.approx(1 / 3)
    assert out["illegal_move_rate"] == pytest.approx(1 / 6)
    assert out["return_mean"] == pytest.approx(0.0)


def test_csv_spellings_are_accepted(tmp_path, frames):
    path = tmp_path / "steps.csv"
    frames.tictactoe().to_csv(path, index=False)
    reread = pd.read_csv(path)  # outcome "" becomes NaN, booleans may come back as bool or text
    reread["illegal_move"] = reread["illegal_move"].astype(str)
    out = metrics.tictactoe_outcomes(reread).iloc[0]
    assert out["win_rate"] == pytest.approx(1 / 3) and out["illegal_move_rate"] == pytest.approx(1 / 6)


def test_episode_stats_by_hand(frames):
    out = metrics.episode_stats(frames.bandit())
    np.testing.assert_allclose(out["cum_regret"], [1.8, 1.9])
    np.testing.assert_allclose(out["return"], [1.8, 1.6])
    np.testing.assert_allclose(out["coverage_last"], [1.0, 2 / 3])
    assert list(out["invalid_actions"]) == [1, 0]


def test_is_tictactoe():
    assert metrics.is_tictactoe("textrl_envs:TextTicTacToe-v0") and not metrics.is_tictactoe("TextBandit-v0")


@pytest.mark.parametrize(
    "func, column",
    [
        (metrics.regret_curve, "regret"),
        (metrics.coverage_curve, "action_index"),
        (metrics.min_frac, "n_actions"),
        (metrics.greedy_fraction, "env_reward"),
        (metrics.pulls_per_arm, "action_index"),
        (metrics.invalid_action_rate, "valid_action"),
        (metrics.suffix_failure_frequency, "optimal_action"),
        (metrics.cumulative_regret, "episode"),
        (metrics.tictactoe_outcomes, "outcome"),
        (metrics.episode_stats, "valid_action"),
    ],
)
def test_error_paths(func, column, frames):
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        func([1, 2])
    with pytest.raises(ValueError, match="step log holds no decisions"):
        func(frames.bandit().iloc[0:0])
    with pytest.raises(ValueError, match=rf"missing columns \['{column}'\]"):
        func(frames.tictactoe().drop(columns=[column]))


def test_bad_unit(frames):
    with pytest.raises(ValueError, match="unit must be one of"):
        metrics.regret_curve(frames.bandit(), unit="env")


def test_mean_ci_against_scipy():
    rng = np.random.default_rng(0)
    values = rng.normal(size=7)
    mean, low, high = mean_ci(values)
    ref_low, ref_high = stats.t.interval(0.95, df=6, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert (low, high) == pytest.approx((ref_low, ref_high))
    assert all(math.isnan(v) for v in mean_ci([]))
    assert mean_ci([2.0])[0] == 2.0 and math.isnan(mean_ci([2.0])[1])


def test_stats_error_paths():
    with pytest.raises(ValueError, match="confidence must be strictly between 0 and 1"):
        mean_ci([1.0, 2.0], confidence=1.5)
    with pytest.raises(ValueError, match="0 <= successes <= n"):
        wilson_interval(3, 2)
    with pytest.raises(ValueError, match="missing columns"):
        grouped_mean_ci(pd.DataFrame({"a": [1]}), ["a"], "b")
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_wilson_by_hand():
    # p = 1/2, n = 2, z = 1.95996: centre = (0.5 + z^2/4) / (1 + z^2/2) = 0.5,
    # half = z * sqrt(0.125 + z^2/16) / (1 + z^2/2)
    z = 1.959964
    half = z * math.sqrt(0.125 + z * z / 16) / (1 + z * z / 2)
    assert wilson_interval(1, 2) == pytest.approx((0.5 - half, 0.5 + half), rel=1e-5)
