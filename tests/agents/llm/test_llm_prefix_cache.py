"""Prefix caching across turns: cached generation equals uncached generation, token for token."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest
import torch

import textrl_envs  # noqa: F401  (registers the environments)
from agents.llm import LLMAgent, LLMPolicy
from agents.llm.prefix_cache import CachedPrompt, PrefixCache, common_prefix_length


def assert_same(cached, plain) -> None:
    """Same prompts and tokens; log-probs equal up to float summation order."""
    assert cached.prompt_ids == plain.prompt_ids
    assert cached.completion_ids == plain.completion_ids
    assert cached.texts == plain.texts and cached.finished == plain.finished
    for a, b in zip(cached.logprobs, plain.logprobs, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def rollout(policy, *, prefix_cache, num_envs=4, horizon=50, temperature=0.0, seed=None, new_tokens=3):
    """Play TextBandit-v0 with an LLMAgent; return the Generation of every turn."""
    agent = LLMAgent(
        policy, temperature=temperature, max_new_tokens=new_tokens, seed=seed, prefix_cache=prefix_cache
    )
    envs = [gym.make("TextBandit-v0", n_arms=3, horizon=horizon) for _ in range(num_envs)]
    obs, infos = (list(x) for x in zip(*(e.reset(seed=i) for i, e in enumerate(envs)), strict=True))
    agent.reset(infos)
    generations = []
    for _ in range(horizon):
        texts = agent.act(obs, infos, list(range(num_envs)))
        generations.append(agent.last_generation)
        steps = [e.step(t) for e, t in zip(envs, texts, strict=True)]
        obs, infos = [s[0] for s in steps], [s[4] for s in steps]
    return generations


@pytest.fixture
def policy(tiny_llama):
    return LLMPolicy.from_pretrained(tiny_llama, device="cpu", max_new_tokens=3, batch_size=3)


def test_common_prefix_length_against_simple_loop():
    cases = [([], [1]), ([1, 2, 3], [1, 2, 3]), ([1, 2, 3], [1, 2]), ([1, 5, 3], [1, 2, 3]), ([4], [5])]
    for a, b in cases:
        expected = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))  # noqa: B905
        assert common_prefix_length(a, b) == expected


def test_greedy_50_step_rollout_equals_uncached(policy, tiny_llama):
    # batch_size 3 with 4 envs: two batches per turn, rows with different cached and suffix lengths.
    # (Two new tokens: one decode step on top of the holed cache; longer decoding is tested below.)
    cached = rollout(policy, prefix_cache=True, new_tokens=2)
    plain_policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu", max_new_tokens=3, batch_size=4)
    plain = rollout(plain_policy, prefix_cache=False, new_tokens=2)
    for a, b in zip(cached, plain, strict=True):
        assert_same(a, b)
    assert len(plain_policy.prefix_cache) == 0 and plain_policy.prefix_cache.reused_tokens == 0
    # Turn 0 is all new keys; afterwards most of every prompt comes from the cache.
    total = sum(len(p) for g in cached for p in g.prompt_ids)
    cache = policy.prefix_cache
    assert cache.reused_tokens + cache.computed_tokens == total
    assert cache.reused_tokens > 0.8 * total


@pytest.mark.parametrize("which", ["gpt2", "chat"])
def test_other_architectures_and_chat_template(which, tiny_gpt2, tiny_chat):
    folder = {"gpt2": tiny_gpt2, "chat": tiny_chat}[which]
    policy = LLMPolicy.from_pretrained(folder, device="cpu", max_new_tokens=3, batch_size=2)
    cached = rollout(policy, prefix_cache=True, num_envs=3, horizon=4)
    plain = rollout(policy, prefix_cache=False, num_envs=3, horizon=4)
    for a, b in zip(cached, plain, strict=True):
        assert_same(a, b)
    assert policy.prefix_cache.reused_tokens > 0


def test_first_key_then_partly_shared_prompt(policy):
    head = "So far you have tried/seen:\nStep=0 Action=red Reward=0.3\nStep=1 Action="
    first, changed = head + "blue Reward=1.1\nNext?", head + "green Reward=0.2\nNext?"
    gen = policy.generate([first], cache_keys=["env"])
    assert_same(gen, policy.generate([first]))
    cache = policy.prefix_cache
    assert cache.reused_tokens == 0 and cache.computed_tokens == len(gen.prompt_ids[0])
    assert cache.get("env").ids == gen.prompt_ids[0]
    assert cache.get("env").layers[0][0].shape[1] == len(gen.prompt_ids[0])  # (heads, L, head_dim)
    # Only the part up to "Action=" is shared: that much is reused, the rest recomputed.
    shared = common_prefix_length(policy.encode_prompts([first])[0], policy.encode_prompts([changed])[0])
    assert 0 < shared < len(gen.prompt_ids[0])
    again = policy.generate([changed], cache_keys=["env"])
    assert_same(again, policy.generate([changed]))
    assert cache.reused_tokens == shared
    assert cache.get("env").ids == again.prompt_ids[0]


def test_mixed_cached_new_and_identical_rows_in_one_batch(policy):
    base = "You are a bandit algorithm. So far you have tried/seen:\nStep=0 Action=red Reward=0.3\n"
    policy.generate([base, base + "x"], cache_keys=["a", "same"])
    observations = [
        base + "Step=1 Action=blue Reward=-0.4\nWhat do you predict next?",  # cached prefix + long suffix
        "hi there",  # a key seen for the first time, short prompt
        base + "x",  # the identical prompt: everything but the last token comes from the cache
    ]
    cached = policy.generate(observations, cache_keys=["a", "new", "same"])
    plain = policy.generate(observations)
    assert_same(cached, plain)
    assert set(policy.prefix_cache.entries) == {"a", "new", "same"}


def test_seeded_sampling_equals_uncached(policy):
    cached = rollout(policy, prefix_cache=True, num_envs=3, horizon=8, temperature=1.0, seed=7)
    plain = rollout(policy, prefix_cache=False, num_envs=3, horizon=8, temperature=1.0, seed=7)
    for a, b in zip(cached, plain, strict=True):
        assert_same(a, b)


def test_reset_clears_only_the_agents_keys(policy):
    agent = LLMAgent(policy, max_new_tokens=2)
    other = LLMAgent(policy, max_new_tokens=2)
    agent.act(["a b c", "d e f"], [{}, {}], [0, 1])
    other.act(["a b c"], [{}], [0])
    assert len(policy.prefix_cache) == 3
    agent.reset([{}, {}])
    assert len(policy.prefix_cache) == 1 and not agent.cache_keys
    assert (other.cache_namespace, 0) in policy.prefix_cache
    off = LLMAgent(policy, max_new_tokens=2, prefix_cache=False)
    off.act(["a b c"], [{}], [5])
    assert len(policy.prefix_cache) == 1 and not off.cache_keys


def test_weight_change_clears_cache(policy):
    obs = ["Step=0 Action=red Reward=0.3\nWhat do you predict next?"]
    policy.generate(obs, cache_keys=[0])
    with torch.no_grad():
        next(policy.model.parameters()).mul_(1.5)  # an in-place update, like an optimizer step
    reused = policy.prefix_cache.reused_tokens
    assert_same(policy.generate(obs, cache_keys=[0]), policy.generate(obs))
    assert policy.prefix_cache.reused_tokens == reused  # stale KV was not used


def test_lru_bound():
    cache = PrefixCache(max_entries=2)
    entry = CachedPrompt([1, 2], [(torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))])
    assert entry.num_bytes == 2 * 8 * 4
    cache.put("a", entry)
    cache.put("b", entry)
    assert cache.get("a") is entry  # "a" is now the most recently used
    cache.put("c", entry)
    assert list(cache.entries) == ["a", "c"] and cache.num_bytes == 2 * entry.num_bytes
    cache.drop(["a", "unknown"])
    assert list(cache.entries) == ["c"]
    cache.clear()
    assert len(cache) == 0


def test_lru_bound_in_generate(tiny_llama):
    policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu", max_new_tokens=2, prefix_cache_size=2)
    policy.generate(["a", "b", "c"], cache_keys=[1, 2, 3])
    assert len(policy.prefix_cache) == 2


def test_bad_arguments(policy):
    with pytest.raises(ValueError, match="one key per observation"):
        policy.generate(["a", "b"], cache_keys=[0])
    with pytest.raises(ValueError, match="must be distinct"):
        policy.generate(["a", "b"], cache_keys=[0, 0])
    with pytest.raises(TypeError, match=r"cache_keys\[1\] must be hashable"):
        policy.generate(["a", "b"], cache_keys=[0, [1]])
    with pytest.raises(TypeError, match="cache_keys must be a list"):
        policy.generate(["a"], cache_keys="a")
    with pytest.raises(ValueError, match="max_entries must be an int >= 1"):
        PrefixCache(0)
    with pytest.raises(TypeError, match="prefix_cache must be True or False"):
        LLMAgent(policy, prefix_cache="yes")


def test_bench_episode_mode(tiny_llama, tmp_path, capsys, load_script):
    bench = load_script("bench_generation")
    argv = ["--episode", "--model", str(tiny_llama), "--num-envs", "2", "--horizon", "3", "--n-arms", "3"]
    results = bench.main([*argv, "--max-new-tokens", "2", "--out", str(tmp_path / "bench.json")])
    assert json.loads((tmp_path / "bench.json").read_text()) == results
    assert results["identical_answers"] and results["identical_turns"] == 3
    cached = results["cached"]
    assert cached["reused_tokens"] + cached["computed_tokens"] == results["prompt_tokens"]
    assert results["uncached"]["computed_tokens"] == results["prompt_tokens"]
    assert 0 < results["reused_fraction"] < 1
    assert results["speedup"] == pytest.approx(results["uncached"]["seconds"] / cached["seconds"])
    assert "speed-up (off / on)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.parse_args(["--episode", "--horizon", "0"])
    assert "--horizon must be >= 1" in capsys.readouterr().err
