"""The agent registry: names, options, errors, and the lazily wired ``llm`` entry."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from agents.registry import AGENT_NAMES, make_agent
from textrl_envs.extraction import extract_action

BANDIT_INFO = {"action_names": ["red", "green"], "counts": np.array([1, 1]), "sums": np.array([0.2, 0.9])}
CONTEXT_INFO = {"action_names": ["a_(1990)", "b_(1991)"], "context": np.array([0.1, -0.2])}
BOARD_INFO = {
    "action_names": [str(i) for i in range(9)],
    "board": np.array([1, 1, 0, 2, 2, 0, 0, 0, 0]),
    "legal_actions": [2, 5, 6, 7, 8],
}
INFO_FOR = {"linucb": CONTEXT_INFO, "minimax": BOARD_INFO, "mcts": BOARD_INFO}


def test_names_are_the_contract():
    assert AGENT_NAMES == (
        "random",
        "greedy",
        "epsilon-greedy",
        "ucb",
        "ucb-paper",
        "thompson",
        "linucb",
        "minimax",
        "mcts",
        "llm",
    )


@pytest.mark.parametrize("name", [n for n in AGENT_NAMES if n != "llm"])
def test_every_scripted_agent_builds_and_answers_a_valid_action(name):
    agent = make_agent(name, seed=0)
    assert agent.name == name
    info = INFO_FOR.get(name, BANDIT_INFO)
    agent.reset([info])
    text = agent.act(["observation"], [info], [0])[0]
    index = extract_action(text, info["action_names"]).index
    assert index is not None
    assert index in info.get("legal_actions", range(len(info["action_names"])))


def test_options_reach_the_agent():
    assert make_agent("ucb", alpha=2.0).alpha == 2.0
    assert make_agent("ucb-paper").form == "paper"
    assert make_agent("epsilon-greedy", epsilon=0.3).epsilon == 0.3
    assert make_agent("thompson", distribution="beta").distribution == "beta"
    assert make_agent("mcts", simulations=10).simulations == 10
    assert make_agent("random", seed=3).seed == 3


def test_errors():
    with pytest.raises(
        ValueError, match="unknown agent 'ucb2'; allowed agents: random, greedy, epsilon-greedy"
    ):
        make_agent("ucb2")
    with pytest.raises(
        TypeError, match="agent 'ucb' does not accept epsilon; accepted keywords: form, alpha"
    ):
        make_agent("ucb", epsilon=0.1)
    with pytest.raises(TypeError, match="agent 'ucb-paper' does not accept form"):
        make_agent("ucb-paper", form="banditbench")
    with pytest.raises(TypeError, match=r"agent 'random' does not accept x; accepted keywords: \(none\)"):
        make_agent("random", x=1)
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
        make_agent("epsilon-greedy", epsilon=-0.1)


class _FakePolicy:
    def __init__(self, path, kwargs):
        self.path, self.kwargs = path, kwargs

    @classmethod
    def from_pretrained(cls, name_or_path, **kwargs):
        return cls(name_or_path, kwargs)


class _FakeAgent:
    name = "x"

    def __init__(self, policy, seed=None):
        self.policy, self.seed = policy, seed


def _install_fake_llm(monkeypatch, tmp_path):
    llm = types.ModuleType("agents.llm")
    llm.LLMPolicy, llm.LLMAgent = _FakePolicy, _FakeAgent
    base = types.ModuleType("agents.base_model")
    base.ensure_base_model = lambda size="default": tmp_path / f"base-{size}"
    monkeypatch.setitem(sys.modules, "agents.llm", llm)
    monkeypatch.setitem(sys.modules, "agents.base_model", base)


def test_llm_entry_wires_model_and_generation_options(monkeypatch, tmp_path):
    _install_fake_llm(monkeypatch, tmp_path)
    agent = make_agent("llm", seed=5, model="some/model", max_new_tokens=128, temperature=0.0)
    assert agent.name == "llm" and agent.seed == 5
    assert agent.policy.path == "some/model"
    assert agent.policy.kwargs == {"max_new_tokens": 128, "temperature": 0.0}
    default = make_agent("llm")
    assert default.policy.path == str(tmp_path / "base-default")  # the embedded base model
    assert make_agent("llm", base_model_size="quick").policy.path == str(tmp_path / "base-quick")


def test_llm_entry_without_the_llm_part_says_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "agents.llm", types.ModuleType("agents.llm"))  # no LLMAgent in it
    with pytest.raises(ImportError, match="agent 'llm' needs agents.llm"):
        make_agent("llm", model="x")


def test_llm_agent_runs_through_the_harness_with_a_tiny_model(tmp_path):
    pytest.importorskip("torch")
    from agents.evaluation import evaluate
    from agents.llm.tiny import make_tiny_model

    folder = make_tiny_model(tmp_path / "tiny")
    agent = make_agent("llm", seed=0, model=str(folder), max_new_tokens=6)
    assert agent.name == "llm"
    steps = evaluate(
        "TextBandit-v0", agent, num_envs=2, seeds=[0], env_kwargs={"n_arms": 3, "horizon": 2}, progress=False
    )
    assert len(steps) == 4 and set(steps.agent) == {"llm"}
    # an untrained model's gibberish names no arm: the env plays a random one and adds the -5 penalty
    invalid = steps[~steps.valid_action]
    assert (invalid.reward == invalid.env_reward - 5.0).all()
