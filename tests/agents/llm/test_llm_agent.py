"""LLMAgent through the TextAgent protocol, on a real TextBandit-v0 environment."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import textrl_envs  # noqa: F401  (registers the environments)
from agents.llm import LLMAgent, LLMPolicy
from agents.protocol import Agent, TextAgent


def test_is_a_text_agent(tiny_llama):
    agent = LLMAgent.from_pretrained(tiny_llama, device="cpu", max_new_tokens=4)
    assert isinstance(agent, TextAgent) and isinstance(agent, Agent)
    assert agent.name == "llm" and agent.last_generation is None


def test_rollout_on_text_bandit(tiny_llama):
    agent = LLMAgent.from_pretrained(tiny_llama, device="cpu", max_new_tokens=6, name="tiny")
    envs = [gym.make("TextBandit-v0", n_arms=3, horizon=2) for _ in range(3)]
    obs, infos = zip(*(env.reset(seed=i) for i, env in enumerate(envs)), strict=True)
    agent.reset(list(infos))
    env_ids = [0, 2]  # a subset of slots, as in tic-tac-toe when a game has ended
    texts = agent.act([obs[i] for i in env_ids], [infos[i] for i in env_ids], env_ids)
    assert isinstance(texts, list) and len(texts) == 2 and all(isinstance(t, str) for t in texts)
    expected = agent.policy.generate([obs[i] for i in env_ids])
    assert texts == expected.texts == agent.last_generation.texts
    assert agent.last_generation.completion_ids == expected.completion_ids
    step_infos = []
    for i, text in zip(env_ids, texts, strict=True):
        _, reward, _, _, info = envs[i].step(text)
        assert np.isfinite(reward)
        step_infos.append(info)
    agent.observe(step_infos, env_ids)


def test_generation_settings_and_seeded_sampling(tiny_llama):
    policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu", max_new_tokens=20)
    obs = ["Step=0 Action=red Reward=0.3", "What do you predict next?"]
    a = LLMAgent(policy, temperature=1.0, max_new_tokens=5, seed=3)
    b = LLMAgent(policy, temperature=1.0, max_new_tokens=5, seed=3)
    first = a.act(obs, [{}, {}], [0, 1])
    assert first == b.act(obs, [{}, {}], [0, 1])
    assert all(len(ids) <= 5 for ids in a.last_generation.completion_ids)
    # A new seed is drawn per call, so the second step is not a copy of the first.
    second = a.act(obs, [{}, {}], [0, 1])
    assert second == b.act(obs, [{}, {}], [0, 1])
    assert second != first


def test_score_delegates_to_policy(tiny_llama):
    agent = LLMAgent.from_pretrained(tiny_llama, device="cpu")
    obs, cands = ["hi"], [["ACTION=red", "ACTION=blue"]]
    np.testing.assert_allclose(agent.score(obs, cands)[0], agent.policy.score(obs, cands)[0])


def test_bad_arguments(tiny_llama):
    policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu")
    with pytest.raises(TypeError, match="policy must be an LLMPolicy"):
        LLMAgent("model-name")
    with pytest.raises(ValueError, match="temperature must be a number >= 0"):
        LLMAgent(policy, temperature=-1.0)
    with pytest.raises(TypeError, match="seed must be an int or None"):
        LLMAgent(policy, seed=1.5)
    with pytest.raises(ValueError, match="one observation per active env id"):
        LLMAgent(policy).act(["a", "b"], [{}, {}], [0])
