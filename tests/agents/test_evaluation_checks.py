"""Fast versions of scripts/check_baselines.py (fewer episodes and games)."""

from __future__ import annotations

import pytest

from agents.evaluation.checks import bandit_regret_summary, tictactoe_record


def test_ucb_and_thompson_beat_random_and_random_matches_theory():
    summary = bandit_regret_summary(
        "TextBandit-v0", ["ucb", "thompson", "random"], num_envs=32, seeds=[0, 1], progress=False
    ).set_index("agent")
    for agent in ("ucb", "thompson"):
        assert summary.loc[agent, "cum_regret_ci_high"] < summary.loc["random", "cum_regret_ci_low"]
    # random: E[regret] = T (E[max of k U(0,1)] - 1/2) = 50 (10/11 - 1/2) = 20.45; per-episode sd ~5,
    # so the mean of 64 episodes has sd ~0.6; tolerance ~4 sd
    assert summary.loc["random", "cum_regret_mean"] == pytest.approx(50 * (10 / 11 - 0.5), abs=2.5)
    assert summary.loc["ucb", "coverage_last"] == 1.0  # UCB tries every arm


def test_linucb_beats_random_on_the_contextual_bandit():
    summary = bandit_regret_summary(
        "TextContextualBandit-v0", ["linucb", "random"], num_envs=16, seeds=[0], progress=False
    ).set_index("agent")
    assert summary.loc["linucb", "cum_regret_ci_high"] < summary.loc["random", "cum_regret_ci_low"]


def test_minimax_never_loses_and_random_never_beats_minimax():
    record = tictactoe_record("minimax", games=12, progress=False)
    assert record.opponent.tolist() == ["random", "mcts", "noisy-mcts", "minimax"]
    assert (record.games == 12).all() and (record.losses == 0).all() and (record.invalid == 0).all()
    assert record.set_index("opponent").loc["minimax", "draws"] == 12  # perfect play on both sides
    against = tictactoe_record("random", games=30, opponents=["minimax"], progress=False)
    assert against.wins.iloc[0] == 0 and against.games.iloc[0] == 30


def test_errors():
    with pytest.raises(ValueError, match="games must be >= 2"):
        tictactoe_record("minimax", games=1)
