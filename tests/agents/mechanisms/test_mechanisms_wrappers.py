"""Try-all, epsilon-greedy and context randomisation on scripted agents with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from agents.evaluation import evaluate
from agents.mechanisms import EpsilonGreedy, TryAll, apply_mechanisms
from agents.registry import make_agent
from analysis.summary import summarize_steps

BANDIT = {"n_arms": 10, "horizon": 15}


@pytest.mark.parametrize("randomize", [False, True])
def test_try_all_pulls_every_arm_once_in_the_first_k_steps(kit, randomize):
    inner = kit.ByLabel("red")
    agent, env_kwargs = apply_mechanisms(
        inner, ["try-all"] + (["context-randomization"] if randomize else []), env_kwargs=BANDIT
    )
    steps = evaluate("TextBandit-v0", agent, num_envs=3, seeds=[0, 1], env_kwargs=env_kwargs, progress=False)
    for _, episode in steps.groupby(["seed", "episode"]):
        first = episode[episode["step"] < 10]
        assert sorted(first["action_index"]) == list(range(10))  # every true arm exactly once
        assert first["action_text"].str.contains("has not been tried yet, let's explore it.").all()
    # the inner agent answered only from step 10 on, and only for the slots it was asked about
    assert len(inner.calls) == 2 * 5 and all(ids == [0, 1, 2] for ids in inner.calls)
    later = steps[steps["step"] >= 10]
    assert later["action_text"].str.startswith("I like red").all()
    if not randomize:
        assert (later["action_index"] == 0).all()  # "red" is arm 0 when labels are fixed


def test_try_all_on_the_contextual_bandit_counts_from_its_own_tally(kit):
    agent = TryAll(kit.ByLabel("x"))
    steps = evaluate(
        "TextContextualBandit-v0",
        agent,
        num_envs=2,
        seeds=[0],
        env_kwargs={"n_arms": 5, "horizon": 7, "n_users": 20},
        progress=False,
    )
    for _, episode in steps.groupby("episode"):
        assert sorted(episode["action_index"].iloc[:5]) == list(range(5))


def test_try_all_refuses_tic_tac_toe(kit):
    with pytest.raises(ValueError, match="try-all is a bandit mechanism"):
        evaluate("TextTicTacToe-v0", TryAll(kit.ByLabel("4")), num_envs=1, seeds=[0], progress=False)


def test_epsilon_greedy_random_share_is_binomial_around_epsilon(kit):
    agent = EpsilonGreedy(kit.ByLabel("red"), epsilon=0.1, seed=3)
    steps = evaluate(
        "TextBandit-v0",
        agent,
        num_envs=64,
        seeds=[0, 1],
        env_kwargs={"n_arms": 10, "horizon": 50},
        progress=False,
    )
    n = len(steps)  # 6400 decisions
    random_rows = steps["action_text"].str.startswith("Exploring a random action")
    assert agent.decisions == n and agent.explored == int(random_rows.sum())
    # Binomial(6400, 0.1): sd of the share 0.00375; 5 sd is never exceeded by a correct sampler (p ~ 6e-7)
    assert abs(agent.explored / n - 0.1) < 5 * np.sqrt(0.1 * 0.9 / n)
    assert (steps.loc[~random_rows, "action_index"] == 0).all()  # the rest is the inner agent's
    explored_arms = np.bincount(steps.loc[random_rows, "action_index"], minlength=10)
    assert stats.chisquare(explored_arms).pvalue > 1e-4  # uniform over the arms


def test_epsilon_greedy_is_seeded_and_plays_legal_moves(kit):
    def run(seed):
        agent = EpsilonGreedy(make_agent("minimax", seed=0), epsilon=0.5, seed=seed)
        return evaluate("TextTicTacToe-v0", agent, num_envs=8, seeds=[0], progress=False)

    a, b = run(1), run(1)
    assert a["action_text"].tolist() == b["action_text"].tolist()
    assert not a["illegal_move"].any() and a["valid_action"].all()
    assert a["action_text"].str.startswith("Exploring").any()


@pytest.mark.parametrize(("epsilon", "match"), [(1.5, "epsilon must be a number in"), ("0.1", "epsilon")])
def test_epsilon_greedy_rejects_bad_epsilon(kit, epsilon, match):
    with pytest.raises(ValueError, match=match):
        EpsilonGreedy(kit.ByLabel(), epsilon=epsilon)


def test_randomisation_keeps_regret_and_coverage_of_the_true_arms(kit):
    """A policy that answers one label plays a random true arm each step once labels move; the log
    still counts regret and coverage by the arm played (checked against the env's arm means)."""
    agent, env_kwargs = apply_mechanisms(kit.ByLabel("red"), ["context-randomization"], env_kwargs=BANDIT)
    assert env_kwargs == {**BANDIT, "randomize_labels": True}
    steps = evaluate("TextBandit-v0", agent, num_envs=4, seeds=[0, 2], env_kwargs=env_kwargs, progress=False)
    assert steps["valid_action"].all()
    coverages = []
    for (seed, episode), rows in steps.groupby(["seed", "episode"]):
        means = kit.arm_means(seed, episode, **BANDIT)
        expected = means.max() - means[rows["action_index"].to_numpy()]
        np.testing.assert_allclose(rows["regret"].to_numpy(), expected)
        coverages.append(rows["action_index"].nunique() / 10)
    summary = summarize_steps(steps).iloc[0]
    assert summary["coverage_last"] == pytest.approx(np.mean(coverages))
    assert summary["coverage_last"] > 0.3  # "red" named a different arm across steps (fixed: 0.1)
