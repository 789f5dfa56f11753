"""LinUCB's ridge regressions and scores against a direct numpy closed form."""

from __future__ import annotations

import numpy as np
import pytest

from agents.baselines import LinUCBAgent
from agents.baselines.contextual import linucb_scores
from textrl_envs.extraction import extract_action

NAMES = ["star_wars_(1977)", "fargo_(1996)", "contact_(1997)"]


def closed_form_scores(history, x, k, alpha, ridge):
    """score_a = theta_a . x + alpha sqrt(x^T A_a^-1 x), with A_a = ridge I + X_a^T X_a and
    theta_a = A_a^-1 X_a^T r_a, by explicit matrix inverses (not the agent's solves)."""
    scores = []
    for arm in range(k):
        X = np.array([c for a, c, _ in history if a == arm]).reshape(-1, len(x))  # (n_a, d)
        r = np.array([rew for a, _, rew in history if a == arm])  # (n_a,)
        A_inv = np.linalg.inv(ridge * np.eye(len(x)) + X.T @ X)
        theta = A_inv @ X.T @ r
        scores.append(theta @ x + alpha * np.sqrt(x @ A_inv @ x))
    return np.array(scores)


def test_linucb_scores_before_any_data():
    A = np.tile(np.eye(2), (3, 1, 1))
    estimates, bonuses = linucb_scores(A, np.zeros((3, 2)), np.array([3.0, 4.0]), 0.5)
    np.testing.assert_allclose(estimates, 0.0)
    np.testing.assert_allclose(bonuses, 0.5 * 5.0)  # alpha * |x|


@pytest.mark.parametrize("alpha,ridge", [(0.5, 1.0), (2.0, 0.3)])
def test_linucb_matches_closed_form_along_a_trajectory(alpha, ridge):
    rng = np.random.default_rng(0)
    d, k = 5, len(NAMES)
    true_theta = rng.normal(size=(k, d))
    contexts = rng.normal(size=(40, d))
    agent = LinUCBAgent(seed=0, alpha=alpha, ridge=ridge)
    agent.reset([{"action_names": NAMES, "context": contexts[0]}])
    history = []
    for x in contexts:
        text = agent.act(["o"], [{"action_names": NAMES, "context": x}], [0])[0]
        choice = extract_action(text, NAMES).index
        expected = closed_form_scores(history, x, k, alpha, ridge)
        assert expected[choice] >= expected.max() - 1e-9  # untouched arms tie; any of them is right
        for name, score in zip(NAMES, expected, strict=True):
            assert f"{name} " in text and f"= {score:.2f}" in text
        reward = float(true_theta[choice] @ x + rng.normal(scale=0.1))
        agent.observe([{"action_names": NAMES, "action_index": choice, "env_reward": reward}], [0])
        history.append((choice, x, reward))
    for arm in range(k):
        X = np.array([c for a, c, _ in history if a == arm]).reshape(-1, d)
        r = np.array([rew for a, _, rew in history if a == arm])
        np.testing.assert_allclose(agent.A[0][arm], ridge * np.eye(d) + X.T @ X)
        np.testing.assert_allclose(agent.b[0][arm], X.T @ r)


def test_linucb_learns_the_best_arm():
    rng = np.random.default_rng(1)
    d = 3
    theta = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # arm a likes dimension a
    agent = LinUCBAgent(seed=1, alpha=0.5)
    agent.reset([{"action_names": NAMES, "context": np.zeros(d)}])
    correct = 0
    for t in range(300):
        x = np.abs(rng.normal(size=d))
        choice = extract_action(
            agent.act(["o"], [{"action_names": NAMES, "context": x}], [0])[0], NAMES
        ).index
        correct += t >= 200 and choice == int(np.argmax(theta @ x))
        agent.observe([{"action_index": choice, "env_reward": float(theta[choice] @ x)}], [0])
    assert correct >= 90  # of the last 100 decisions


def test_errors():
    with pytest.raises(ValueError, match="ridge must be > 0"):
        LinUCBAgent(ridge=0.0)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        LinUCBAgent(alpha=-1)
    agent = LinUCBAgent(seed=0)
    with pytest.raises(KeyError, match=r"agent 'linucb' needs info\['context'\]"):
        agent.reset([{"action_names": NAMES}])
    agent.reset([{"action_names": NAMES, "context": np.zeros(5)}])
    with pytest.raises(ValueError, match=r"context has shape \(4,\), expected \(5,\)"):
        agent.act(["o"], [{"action_names": NAMES, "context": np.zeros(4)}], [0])
    with pytest.raises(RuntimeError, match="observe\\(\\) for slot 0 before act\\(\\)"):
        agent.observe([{"action_index": 0, "env_reward": 1.0}], [0])
