"""apply_mechanisms / training_settings: composition and every error path."""

from __future__ import annotations

import pytest

from agents.mechanisms import (
    EVALUATION_MECHANISMS,
    MECHANISM_NAMES,
    EpsilonGreedy,
    SelfConsistency,
    TryAll,
    apply_mechanisms,
    training_settings,
)


def test_seven_mechanisms_and_six_for_evaluation():
    assert len(MECHANISM_NAMES) == 7 and "exploration-bonus" not in EVALUATION_MECHANISMS
    assert len(EVALUATION_MECHANISMS) == 6


def test_wrappers_stack_first_listed_innermost_and_env_options_merge(kit):
    inner = kit.ByLabel()
    agent, env_kwargs = apply_mechanisms(
        inner,
        ["self-consistency", "context-summary", "try-all", "epsilon-greedy"],
        env_kwargs={"n_arms": 5},
        options={"self-consistency": {"k": 4}, "epsilon-greedy": {"epsilon": 0.2}},
        seed=7,
    )
    assert isinstance(agent, EpsilonGreedy) and agent.epsilon == 0.2
    assert isinstance(agent.inner, TryAll) and isinstance(agent.inner.inner, SelfConsistency)
    assert agent.inner.inner.k == 4 and agent.inner.inner.inner is inner
    assert env_kwargs == {"n_arms": 5, "context_summary": True}
    assert agent.name == "by-label+self-consistency+try-all+epsilon-greedy"


@pytest.mark.parametrize(
    ("names", "kwargs", "error", "match"),
    [
        (["nope"], {}, ValueError, "unknown mechanism 'nope'; allowed mechanisms: try-all"),
        (["exploration-bonus"], {}, ValueError, "RL fine-tuning mechanism"),
        (["try-all", "try-all"], {}, ValueError, "each mechanism may be applied once"),
        (["context-summary"], {"env_id": "TextTicTacToe-v0"}, ValueError, "is an option of TextBandit-v0"),
        (["try-all"], {"options": {"self-consistency": {"k": 2}}}, ValueError, "not applied"),
        (["context-summary"], {"options": {"context-summary": {"x": 1}}}, ValueError, "takes no options"),
        (["epsilon-greedy"], {"options": {"epsilon-greedy": {"eps": 0.1}}}, TypeError, "eps"),
    ],
)
def test_apply_mechanisms_errors(kit, names, kwargs, error, match):
    with pytest.raises(error, match=match):
        apply_mechanisms(kit.ByLabel(), names, **kwargs)


def test_training_settings():
    env_kwargs, fields = training_settings(["context-randomization", "exploration-bonus"])
    assert env_kwargs == {"randomize_labels": True} and fields == {"exploration_bonus": 1.0}
    with pytest.raises(ValueError, match="self-correction wraps the acting agent and is for evaluation only"):
        training_settings(["self-correction"])
