"""Bandit baselines against hand computations on hand-made infos (no environment needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.baselines import EpsilonGreedyAgent, GreedyAgent, RandomAgent, ThompsonAgent, UCBAgent
from agents.baselines.bandit import (
    beta_posterior,
    detect_distribution,
    empirical_means,
    gaussian_posterior,
    ucb_scores,
)
from textrl_envs.extraction import extract_action

NAMES = ["red", "green", "blue"]


def info(counts, sums, names=NAMES):
    return {"action_names": list(names), "counts": np.asarray(counts), "sums": np.asarray(sums, dtype=float)}


def ready(agent, *infos):
    """The agent after ``reset`` on the given infos (one slot per info)."""
    agent.reset(list(infos))
    return agent


def chosen(text, names=NAMES):
    index = extract_action(text, names).index
    assert index is not None, text
    return index


def test_empirical_means_untried_is_zero():
    np.testing.assert_allclose(empirical_means([4, 0, 2], [2.16, 0.0, -1.0]), [0.54, 0.0, -0.5])


def test_ucb_scores_by_hand():
    counts, sums = [4, 1, 9], [2.16, -0.5, 8.1]
    # paper: mean + sqrt(1/n) -> 0.54 + 0.5, -0.5 + 1, 0.9 + 1/3
    np.testing.assert_allclose(ucb_scores(counts, sums, form="paper"), [1.04, 0.5, 0.9 + 1 / 3])
    # BanditBench: mean + sqrt(0.5 ln(14) / n), ln 14 = 2.6390573
    expected = [
        0.54 + math.sqrt(0.5 * 2.6390573296 / 4),
        -0.5 + math.sqrt(0.5 * 2.6390573296),
        0.9 + math.sqrt(0.5 * 2.6390573296 / 9),
    ]
    np.testing.assert_allclose(ucb_scores(counts, sums), expected)
    np.testing.assert_allclose(expected, [1.114354, 0.648708, 1.282902], atol=1e-6)
    assert ucb_scores([0, 2], [0.0, 1.0])[0] == np.inf


def test_ucb_agent_tries_every_arm_in_order_then_argmax():
    agent = UCBAgent(seed=0, form="paper")
    agent.reset([info([0, 0, 0], [0, 0, 0])])
    text = agent.act(["obs"], [info([1, 0, 0], [0.3, 0, 0])], [0])[0]
    assert text == "Action green has not been tried yet, let's explore it.\nACTION=green"
    text = agent.act(["obs"], [info([4, 1, 9], [2.16, -0.5, 8.1])], [0])[0]
    assert "Count for action red = 4, Mean = 2.16 / 4 = 0.54, UCB = 0.54 + sqrt(1 / 4) = 1.04" in text
    assert chosen(text) == 2  # 1.23 > 1.04 > 0.5
    # the two forms disagree on counts (20, 200), means (0.8, 1.0), t = 220:
    # paper: 0.8 + sqrt(1/20) = 1.024 < 1.0 + sqrt(1/200) = 1.071 -> green
    # BanditBench: 0.8 + sqrt(0.5 ln 220 / 20) = 1.172 > 1.0 + sqrt(0.5 ln 220 / 200) = 1.116 -> red
    two = ["red", "green"]
    case = info([20, 200], [16.0, 200.0], names=two)
    assert chosen(ready(UCBAgent(0, form="paper"), case).act(["o"], [case], [0])[0], two) == 1
    text = ready(UCBAgent(0), case).act(["o"], [case], [0])[0]
    assert chosen(text, two) == 0
    assert "UCB = 0.80 + sqrt(0.5 * ln(220) / 20) = 1.17" in text


def test_ucb_agent_keeps_own_tally_without_counts_in_info():
    agent = UCBAgent(seed=0, form="paper", rationale=False)
    start = {"action_names": NAMES}
    agent.reset([start])
    rewards = {0: 0.9, 1: 0.1, 2: 0.5}
    for expected in (0, 1, 2):  # try-all in index order
        text = agent.act(["o"], [start], [0])[0]
        assert text == f"ACTION={NAMES[expected]}"
        agent.observe(
            [{"action_names": NAMES, "action_index": expected, "env_reward": rewards[expected]}], [0]
        )
    # all counts 1: UCB = mean + 1, red (0.9) wins
    assert agent.act(["o"], [start], [0])[0] == "ACTION=red"


def test_greedy_agent_best_mean_after_try_all():
    agent = GreedyAgent(seed=0)
    agent.reset([info([0, 0, 0], [0, 0, 0])])
    assert chosen(agent.act(["o"], [info([1, 1, 0], [1, 0, 0])], [0])[0]) == 2
    text = agent.act(["o"], [info([5, 1, 2], [1.0, 0.9, 0.6])], [0])[0]
    assert chosen(text) == 1 and "green = 0.90" in text


def test_epsilon_greedy_rate_of_exploration():
    agent = EpsilonGreedyAgent(seed=1, epsilon=0.5, rationale=False)
    agent.reset([info([0, 0, 0], [0, 0, 0])])
    state = info([3, 3, 3], [0.0, 3.0, 0.0])  # green is greedy
    picks = np.array([chosen(agent.act(["o"], [state], [0])[0]) for _ in range(4000)])
    # P(green) = 0.5 + 0.5 / 3; sd of the share = sqrt(p (1 - p) / 4000) = 0.0075, tolerance 5 sd
    assert abs((picks == 1).mean() - (0.5 + 0.5 / 3)) < 0.04
    assert abs((picks == 0).mean() - 0.5 / 3) < 0.035
    zero = EpsilonGreedyAgent(seed=1, epsilon=0.0)
    zero.reset([state])
    assert all(chosen(zero.act(["o"], [state], [0])[0]) == 1 for _ in range(50))


def test_gaussian_posterior_by_hand():
    mean, std = gaussian_posterior([0, 10], [0.0, 7.0], prior_mean=0.5, prior_std=1.0, noise_std=1.0)
    np.testing.assert_allclose(mean, [0.5, 7.5 / 11])
    np.testing.assert_allclose(std, [1.0, 1 / math.sqrt(11)])


def test_thompson_gaussian_draws_follow_posterior():
    agent = ThompsonAgent(seed=3, distribution="gaussian")
    state = info([0, 10, 40], [0.0, 7.0, 4.0])
    agent.reset([state])
    draws = np.array([agent.sample_means("o", state, 0) for _ in range(20000)])  # (20000, 3)
    precision = np.array([1.0, 11.0, 41.0])
    expected_mean = np.array([0.5, 7.5 / 11, 4.5 / 41])
    expected_std = 1 / np.sqrt(precision)
    # sample mean within 5 standard errors; sample std within 3% (its relative sd is ~0.5%)
    assert np.all(np.abs(draws.mean(0) - expected_mean) < 5 * expected_std / math.sqrt(20000))
    np.testing.assert_allclose(draws.std(0), expected_std, rtol=0.03)


def test_thompson_beta_draws_follow_posterior_and_auto_detects_bernoulli():
    a, b = beta_posterior([10, 4], [7.0, 0.0])
    np.testing.assert_allclose(a, [8, 1]) and np.testing.assert_allclose(b, [4, 5])
    agent = ThompsonAgent(seed=4)  # distribution="auto"
    state = info([10, 4], [7.0, 0.0], names=["red", "green"])
    agent.reset([state])
    observation = "Each button is associated with a Bernoulli distribution with a fixed but unknown mean"
    draws = np.array([agent.sample_means(observation, state, 0) for _ in range(20000)])
    # Beta(8, 4): mean 2/3, sd sqrt(32 / (144 * 13)); Beta(1, 5): mean 1/6, sd sqrt(5 / (36 * 7))
    np.testing.assert_allclose(draws.mean(0), [2 / 3, 1 / 6], atol=0.006)
    np.testing.assert_allclose(draws.std(0), [math.sqrt(32 / 1872), math.sqrt(5 / 252)], rtol=0.03)
    assert draws.min() >= 0.0 and draws.max() <= 1.0
    # P(green beats red) is small: the agent mostly answers red
    picks = [chosen(agent.act([observation], [state], [0])[0], ["red", "green"]) for _ in range(500)]
    assert np.mean(picks) < 0.1


def test_detect_distribution():
    assert detect_distribution("a Bernoulli distribution", {}) == "beta"
    assert detect_distribution("a Gaussian distribution", {}) == "gaussian"
    assert detect_distribution("no hint", {}) == "gaussian"
    assert detect_distribution("Gaussian", {"distribution": "bernoulli"}) == "beta"


def test_random_agent_uniform_over_arms_and_legal_moves():
    agent = RandomAgent(seed=5)
    state = {"action_names": NAMES}
    agent.reset([state])
    picks = np.array([chosen(agent.act(["o"], [state], [0])[0]) for _ in range(3000)])
    # each share 1/3 with sd 0.0086; tolerance 5 sd
    np.testing.assert_allclose(np.bincount(picks, minlength=3) / 3000, [1 / 3] * 3, atol=0.043)
    board_info = {"action_names": [str(i) for i in range(9)], "legal_actions": [2, 7]}
    texts = agent.act(["o"] * 200, [board_info] * 200, [0] * 200)
    assert {t for t in texts} == {"ACTION=2", "ACTION=7"}


def test_same_seed_same_answers_and_slots_differ():
    states = [info([0, 0, 0], [0, 0, 0]) for _ in range(4)]

    def run(seed):
        agent = ThompsonAgent(seed=seed, distribution="gaussian")
        agent.reset(states)
        return [agent.act(["o"] * 4, states, [0, 1, 2, 3]) for _ in range(5)]

    assert run(7) == run(7)
    assert run(7) != run(8)
    first = run(7)
    assert len({tuple(step[slot] for step in first) for slot in range(4)}) > 1  # slots not in lockstep


def test_errors():
    with pytest.raises(ValueError, match="form must be one of"):
        UCBAgent(form="lol")
    with pytest.raises(ValueError, match="form must be one of"):
        ucb_scores([1], [1.0], form="lol")
    with pytest.raises(ValueError, match="alpha must be > 0"):
        UCBAgent(alpha=0)
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
        EpsilonGreedyAgent(epsilon=1.5)
    with pytest.raises(ValueError, match="distribution must be one of"):
        ThompsonAgent(distribution="poisson")
    with pytest.raises(ValueError, match="noise_std must be > 0"):
        ThompsonAgent(noise_std=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        RandomAgent(seed=-1)
    with pytest.raises(TypeError, match="seed must be an int or None"):
        RandomAgent(seed="0")
    with pytest.raises(ValueError, match=r"needs rewards in \[0, 1\]"):
        beta_posterior([2], [3.5])
    agent = UCBAgent(seed=0)
    with pytest.raises(RuntimeError, match="call agent.reset"):
        agent.act(["o"], [{"action_names": NAMES}], [0])
    agent.reset([{"action_names": NAMES}])
    with pytest.raises(ValueError, match="one observation and one info per env id"):
        agent.act(["o", "o"], [{"action_names": NAMES}], [0])
    with pytest.raises(KeyError, match=r"needs info\['action_index'\]"):
        agent.observe([{"action_names": NAMES}], [0])
    random_agent = RandomAgent(0)
    random_agent.reset([{"action_names": NAMES}])
    with pytest.raises(KeyError, match=r"needs info\['action_names'\]"):
        random_agent.act(["o"], [{}], [0])
    with pytest.raises(ValueError, match=r"legal_actions'\] is empty"):
        random_agent.act(["o"], [{"action_names": NAMES, "legal_actions": []}], [0])
