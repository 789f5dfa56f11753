"""The CUDA paths: generation, re-scoring, an RL run, SFT steps and pretraining on a GPU.

Skipped without CUDA (the rest of the suite covers the same code on the CPU). On a GPU machine
``bash scripts/gpu_check.sh`` runs the whole suite with CUDA visible, these tests included.
``TEXTRL_TEST_DEVICE=cpu`` runs them on the CPU instead (to check the tests themselves).

What the GPU adds: bf16 weights and autocast (chosen automatically on CUDA), tensors that must all be
moved to the model's device (the prefix cache, packed batches, the reference model, the optimizer
state after a resume), and kernels whose summation order differs from the CPU's.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import gymnasium as gym
import pytest
import torch

import textrl_envs  # noqa: F401  (registers the environments)
from agents.llm import LLMPolicy
from agents.llm.tiny import make_tiny_model
from agents.rlft.packing import collate
from agents.rlft.rollout import collect_rollout
from agents.rlft.update import prepare
from agents.rlft.value_head import forward_any

DEVICE = os.environ.get("TEXTRL_TEST_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(
    DEVICE == "cuda" and not torch.cuda.is_available(), reason="needs CUDA (TEXTRL_TEST_DEVICE=cpu to force)"
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("cuda_tiny"), seed=0, hidden_size=32, num_layers=2)


@pytest.fixture(scope="module")
def tiny_chat(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("cuda_tiny_chat"), chat_template=True, seed=1)


def test_default_dtype_on_the_device_and_finite_bf16_generation(tiny):
    policy = LLMPolicy.from_pretrained(tiny, device=DEVICE, max_new_tokens=6)
    expected = torch.bfloat16 if DEVICE == "cuda" else torch.float32
    assert policy.model.dtype == expected
    assert next(policy.model.parameters()).device.type == DEVICE
    env = gym.make("TextBandit-v0", n_arms=3, horizon=4)
    obs, _ = env.reset(seed=0)
    generation = policy.generate([obs, obs], temperature=1.0, seed=0)
    assert len(generation.texts) == 2
    for logp in generation.logprobs:
        assert logp.numel() >= 1 and bool(torch.isfinite(logp).all()) and bool((logp <= 0).all())


@pytest.mark.parametrize("which", ["plain", "chat"])
def test_rollout_logprobs_equal_the_trainers_in_fp32(which, tiny, tiny_chat):
    """A sampled multi-turn rollout with the prefix cache, re-scored by the trainer's packed forward
    (tree and mask packing), within 1e-4: the cache's tensors and the packed batch both live on the
    device and TF32 or a different kernel would show here."""
    folder = tiny if which == "plain" else tiny_chat
    policy = LLMPolicy.from_pretrained(folder, device=DEVICE, dtype="float32", max_new_tokens=6)
    envs = [gym.make("TextBandit-v0", n_arms=3, horizon=4, cot=False) for _ in range(3)]
    episodes = collect_rollout(policy, envs, [[1], [2], [3]], sample_seed=0, temperature=1.0)
    assert policy.prefix_cache.reused_tokens > 0
    rollout_logp = torch.cat([lp.to("cpu") for e in episodes for lp in e.logprobs])
    for packing in ("tree", "mask"):
        sequences = [s for seqs in prepare(episodes, packing=packing).sequences for s in seqs]
        with torch.no_grad():
            if packing == "tree":
                logp, _, _ = forward_any(policy.model, sequences)
            else:
                logp, _, _ = forward_any(policy.model, collate(sequences, pad_id=policy.pad_id).to(DEVICE))
        diff = float((logp.to("cpu") - rollout_logp).abs().max())
        assert diff < 1e-4, f"{packing}: max |trainer - rollout| = {diff:.2e}"


def test_rl_run_on_the_device_in_mixed_precision_and_resume(tiny, tmp_path, interrupt):
    """`textrl train` picks the GPU and bf16 by itself; a resumed run restores the optimizer state onto
    the device and finishes; the final model loads on the CPU."""
    from agents.rlft.config import RLFTConfig
    from agents.rlft.trainer import train

    def config(out, **changes):
        fields = dict(
            model=str(tiny), out=str(out), env_kwargs={"n_arms": 3, "horizon": 3}, total_updates=3,
            num_envs=2, max_new_tokens=4, micro_batch_episodes=2, eval_at_end=True, eval_num_envs=2,
            progress=False, report_to="none", warmup_steps=1, learning_rate=1e-3, checkpoint_every=1,
            epochs=2,
        )
        fields.update(changes)
        return RLFTConfig(**fields)

    with pytest.raises(interrupt.Error):
        train(config(tmp_path / "run"), on_update=interrupt.at(2))
    out = train(config(tmp_path / "run", resume=True))
    lines = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    assert [m["update"] for m in lines] == [1, 2, 3]
    for m in lines:
        assert all(math.isfinite(v) for v in m.values() if isinstance(v, float)), m
    run = json.loads((Path(out) / "run.json").read_text())
    assert run["config"]["mixed_precision"] == "auto"
    reloaded = LLMPolicy.from_pretrained(Path(out) / "final_model", device="cpu")
    assert reloaded.model.dtype == torch.float32  # saved weights are the fp32 master copy


def test_sft_steps_on_the_device_lower_the_loss(tiny, tmp_path):
    from agents.sft.config import SFTConfig
    from agents.sft.trainer import train_sft

    cfg = SFTConfig(
        model=str(tiny), out=str(tmp_path / "sft"), env_kwargs={"n_arms": 3, "horizon": 3},
        mode="thought", data_num_envs=4, data_seeds=[100], batch_episodes=2, micro_batch_episodes=1,
        epochs=4, learning_rate=3e-3, warmup_steps=0, eval_at_end=False, progress=False, report_to="none",
        max_new_tokens=4,
    )
    out = train_sft(cfg)
    lines = (Path(out) / "metrics.jsonl").read_text().splitlines()
    losses = [json.loads(line)["loss/sft"] for line in lines]
    assert len(losses) == 8 and all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0]


def test_pretraining_on_the_device_in_batched_mode(tmp_path):
    """The GPU recipe's batched steps (every episode of a step in one padded forward, masks built on the
    device, data from worker processes): the loss falls and the model reloads."""
    from agents.base_model import BaseModelConfig, pretrain

    cfg = BaseModelConfig(
        name="cuda-test", vocab_size=400, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
        steps=12, tokens_per_step=1024, lr=5e-3, warmup_steps=2, checkpoint_every=6, tokenizer_docs=60,
        device=DEVICE, batch_episodes=True, data_workers=2,
    )
    out = pretrain(cfg, tmp_path / "base", seed=0, progress=False)
    info = json.loads((out / "pretrain_info.json").read_text())
    assert info["steps_done"] == 12 and info["device"] == DEVICE
    assert math.isfinite(info["final_loss"]) and info["final_loss"] < info["first_loss"]
    reloaded = LLMPolicy.from_pretrained(out, device="cpu")
    assert reloaded.model.config.hidden_size == 32
