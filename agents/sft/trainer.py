"""Expert SFT: supervised fine-tuning of an LLM policy on its environment's expert: :func:`train_sft`.

The loop, top to bottom (SPEC "Expert data")::

    episodes = collect_expert_episodes(expert, data seeds)      # UCB / LinUCB / minimax, recorded
    encode_episodes(policy, episodes)                           # prompt ids + answer ids (+ EOS)
    for step in range(total_steps):                             # epochs x (episodes // batch_episodes)
        batch = this epoch's shuffled episodes[step]
        loss = -mean log pi(answer token | prompt, earlier answer tokens) over the batch's answer tokens
        clip, step; log; maybe evaluate greedily on held-out seeds; maybe checkpoint

Only answer tokens are targets: each episode's turns are packed as in RL fine-tuning
(:mod:`agents.rlft.packing`: the shared prompt prefix once, every turn's new prompt part and answer
as a branch), and the packed targets are the completion tokens alone. The rest is ``textrl train``'s
machinery, reused: accelerate (DDP under ``accelerate launch``, bf16 autocast on a GPU), the
optimizer and warm-up + cosine schedule (:mod:`agents.rlft.optim`), atomic checkpoints with RNG
states (:mod:`agents.rlft.checkpoint`), ``metrics.jsonl`` and greedy evaluations in the tidy format.

Output folder ``config.out``: ``config.yaml``; ``expert/`` (the expert's own step log on the data
seeds, the tidy format); ``sft.json`` (data sizes, the evaluation budget); ``metrics.jsonl`` (per
optimizer step: ``update`` = steps completed, ``loss/sft`` = mean negative log-likelihood per answer
token, ``train/*``, ``time/*``, ``eval/*`` on evaluation steps); ``eval/step_XXXXXX/``;
``checkpoints/step_XXXXXX/``; ``final_model/`` (``save_pretrained``: ``textrl train --model`` takes it).
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import set_seed
from torch.optim.lr_scheduler import LambdaLR
from tqdm.auto import tqdm

import textrl_envs  # noqa: F401  (registers the environments)
from agents.evaluation.io import write_json, write_run
from agents.llm.policy import LLMPolicy
from agents.rlft.final_model import save_final_model
from agents.rlft.optim import lr_factor, make_optimizer
from agents.rlft.packing import PackedBatch, PackedSequence, collate
from agents.rlft.prepare import load_policy_model, preflight
from agents.rlft.run_folder import (
    METRICS_FILE,
    clear_run_files,
    truncate_metrics,
    write_run_files,
)
from agents.rlft.step_end import StepEnd
from agents.rlft.trainer import _restore, build_accelerator, evaluate_policy
from agents.rlft.update import Prepared, micro_batches, prepare
from agents.rlft.value_head import PolicyWithValue
from agents.sft.config import SFTConfig
from agents.sft.data import ExpertEpisode, collect_expert_episodes, encode_episodes
from agents.sft.experts import make_expert

MAX_NONFINITE_STEPS = 3  # stop after this many optimizer steps in a row with a non-finite loss


def build_dataset(config: SFTConfig, policy: LLMPolicy) -> tuple[list[ExpertEpisode], Any]:
    """The expert's episodes on ``config.data_seeds``, encoded for ``policy``; and its step log."""
    expert = make_expert(
        config.env_id,
        mode=config.mode,
        expert=config.expert,
        rewards=config.rationale_rewards,
        seed=config.seed,
    )
    episodes, steps = collect_expert_episodes(
        config.env_id,
        expert,
        num_envs=config.data_num_envs,
        seeds=config.data_seeds,
        env_kwargs=config.env_kwargs,
    )
    encode_episodes(policy, episodes, answer_prefix=config.answer_prefix)
    return episodes, steps


def epoch_order(seed: int, epoch: int, n: int) -> list[int]:
    """The episodes' order in ``epoch``: a permutation that depends only on ``(seed, epoch)``."""
    return np.random.default_rng([seed, epoch, 7]).permutation(n).tolist()


def _batch(prep: Prepared, chunk: list[int], pad_id: int, bool_mask: bool, device, packing: str):
    sequences: list[PackedSequence] = [s for e in chunk for s in prep.sequences[e]]
    if packing == "tree":
        return sequences
    return collate(sequences, pad_id=pad_id, bool_mask=bool_mask).to(device)


def answer_nll(model: torch.nn.Module, batch: PackedBatch | list[PackedSequence]) -> torch.Tensor:
    """Summed negative log-likelihood of the batch's answer tokens (the packed targets)."""
    logp, _, _ = model(batch, need_entropy=False)
    return -logp.float().sum()


def sft_step(
    model: torch.nn.Module,
    prep: Prepared,
    mine: list[int],
    config: SFTConfig,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    accelerator: Any,
    *,
    pad_id: int,
) -> dict[str, float]:
    """One optimizer step on this process's episodes ``mine``; the loss is the mean over the answer
    tokens of the whole batch (all processes): each process scales its sum by ``world / tokens`` and
    DDP averages the gradients."""
    device, world = accelerator.device, accelerator.num_processes
    unwrapped = accelerator.unwrap_model(model)
    bool_mask = getattr(unwrapped.lm.config, "_attn_implementation", "sdpa") != "eager"
    local = torch.tensor([float(sum(prep.token_count[e] for e in mine)), 0.0], device=device)
    tokens = float(accelerator.reduce(local.clone(), reduction="sum")[0]) if world > 1 else float(local[0])
    scale = world / max(tokens, 1.0)
    nll_sum, finite = 0.0, True
    chunks = micro_batches(mine, config.micro_batch_episodes)
    for k, chunk in enumerate(chunks):
        batch = _batch(prep, chunk, pad_id, bool_mask, device, config.packing)
        sync = contextlib.nullcontext() if k == len(chunks) - 1 else accelerator.no_sync(model)
        with sync:
            with accelerator.autocast():
                nll = answer_nll(model, batch)
            loss = nll * scale
            finite = finite and bool(torch.isfinite(loss.detach()))
            accelerator.backward(loss)
        nll_sum += float(nll.detach())
    grad_norm = float(accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm))
    flags = torch.tensor([nll_sum, 0.0 if finite and math.isfinite(grad_norm) else 1.0], device=device)
    if world > 1:
        flags = accelerator.reduce(flags, reduction="sum")
    skipped = float(flags[1]) > 0  # every rank skips together
    if not skipped:
        optimizer.step()
        scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return {
        "loss/sft": float(flags[0]) / max(tokens, 1.0),
        "train/grad_norm": grad_norm,
        "train/lr": float(scheduler.get_last_lr()[0]),
        "train/tokens": tokens,
        "train/skipped_steps": float(skipped),
    }


def _plan(n_episodes: int, config: SFTConfig, world: int) -> tuple[int, int]:
    """(steps per epoch, total steps); an incomplete last batch of an epoch is dropped."""
    if config.batch_episodes < world:
        raise ValueError(
            f"batch_episodes ({config.batch_episodes}) must be >= the number of processes ({world})"
        )
    if n_episodes < config.batch_episodes:
        raise ValueError(
            f"the expert data has {n_episodes} episodes, fewer than batch_episodes "
            f"({config.batch_episodes}); raise data_num_envs or add data_seeds"
        )
    per_epoch = n_episodes // config.batch_episodes
    total = per_epoch * config.epochs
    return per_epoch, total if config.max_steps is None else min(total, config.max_steps)


def train_sft(config: SFTConfig, *, on_step: Callable[[int, dict[str, float]], None] | None = None) -> Path:
    """Run expert SFT as configured; return the output folder (see the module docstring).

    Args:
        config: the run's :class:`SFTConfig`.
        on_step: called as ``on_step(step, metrics)`` after each step is logged and checkpointed.

    Raises:
        SetupError: before anything is written, as in ``textrl train``: the output folder holds
            another run (or, with ``resume``, no checkpoint of this config), a tracker package is
            missing, the environment or the model cannot be made.
        ValueError: too few expert episodes for one batch, or a turn longer than the model's context.
        RuntimeError: several optimizer steps in a row had a non-finite loss.
    """
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    checks = preflight(config)  # read-only: trackers, output folder (run identity), environment
    model_path, lm, tokenizer = load_policy_model(config)
    accelerator = build_accelerator(config, checks.trackers)
    rank, world, is_main = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process

    def say(message: str) -> None:
        if is_main:
            print(f"[sft] {message}", file=sys.stderr, flush=True)

    set_seed(config.seed)
    policy = LLMPolicy(
        lm,
        tokenizer,
        use_chat_template=config.use_chat_template,
        temperature=0.0,
        batch_size=config.eval_num_envs,
    )
    episodes, expert_steps = build_dataset(config, policy)
    answer_tokens = [len(c) for e in episodes for c in e.completion_ids]
    policy.max_new_tokens = config.max_new_tokens or max(answer_tokens) + 8
    per_epoch, total = _plan(len(episodes), config, world)

    module = PolicyWithValue(lm, with_value_head=False)
    optimizer = make_optimizer(module, config)
    warmup, floor = min(config.warmup_steps, total), config.min_learning_rate / config.learning_rate
    scheduler = LambdaLR(optimizer, lambda step: lr_factor(step, warmup, total, floor))
    model, optimizer = accelerator.prepare(module, optimizer)
    unwrapped = accelerator.unwrap_model(model)
    unwrapped.eval()  # no dropout: the same function as at evaluation
    prep = prepare(episodes, packing=config.packing)

    start, nonfinite = 0, 0
    if config.resume:
        state = _restore(config, out, unwrapped, optimizer, scheduler, accelerator, say)
        start, nonfinite = int(state["update"]), int(state.get("nonfinite_in_a_row", 0))
    accelerator.wait_for_everyone()  # every process has checked the folder before the first write
    metrics_path = out / METRICS_FILE
    if is_main:  # the first write of the run
        if config.overwrite:
            clear_run_files(out)
        out.mkdir(parents=True, exist_ok=True)
        write_run_files(config, env_settings=checks.env_settings, model=model_path, command="textrl sft")
        write_run(expert_steps, out / "expert", meta={"command": "sft-expert", **config.to_dict()})
        write_json(out / "sft.json", {
            "mode": config.mode, "episodes": len(episodes), "turns": len(answer_tokens),
            "answer_tokens_mean": float(np.mean(answer_tokens)), "answer_tokens_max": int(max(answer_tokens)),
            "eval_max_new_tokens": policy.max_new_tokens,
        })  # fmt: skip
        if config.resume:
            truncate_metrics(metrics_path, start, warn=say)
            say(f"resuming {out} after step {start}")
    accelerator.wait_for_everyone()
    if checks.trackers:
        accelerator.init_trackers(
            "textrl-sft",
            config={k: v for k, v in config.to_dict().items() if isinstance(v, (int, float, str, bool))},
        )

    name = f"sft-{config.mode}"

    def run_eval(step: int) -> dict[str, float]:
        result: dict[str, float] = {}
        if is_main:
            with accelerator.autocast():
                result, _ = evaluate_policy(
                    policy, config, out / "eval" / f"step_{step:06d}", step, agent_name=name
                )
        accelerator.wait_for_everyone()
        return result

    start_metrics = run_eval(0) if config.eval_at_start and start == 0 else {}
    bar = tqdm(total=total, initial=start, desc=name, unit="step", disable=not (config.progress and is_main))
    step_end = StepEnd(
        out, accelerator, bar, unwrapped, optimizer, scheduler,
        checkpoint_every=config.checkpoint_every, config_hash=config.config_hash(),
        total=total, first_step=start, start_metrics=start_metrics, callback=on_step,
    )
    for step in range(start, total):
        t0 = time.perf_counter()
        epoch, index = divmod(step, per_epoch)
        first = index * config.batch_episodes
        batch = epoch_order(config.seed, epoch, len(episodes))[first : first + config.batch_episodes]
        record = sft_step(
            model,
            prep,
            batch[rank::world],
            config,
            optimizer,
            scheduler,
            accelerator,
            pad_id=int(tokenizer.pad_token_id),
        )
        nonfinite = nonfinite + 1 if record["train/skipped_steps"] else 0
        done = step + 1
        record.update({"train/epoch": float(epoch), "time/step_s": time.perf_counter() - t0})
        if (config.eval_every and done % config.eval_every == 0) or (config.eval_at_end and done == total):
            record.update(run_eval(done))
        record = step_end.log(done, record, {"loss": f"{record['loss/sft']:.3f}"})
        if nonfinite >= MAX_NONFINITE_STEPS:
            bar.close()
            raise RuntimeError(
                f"stopping: {nonfinite} SFT steps in a row had a non-finite loss (last: {done})"
            )
        step_end.checkpoint(done, record, nonfinite)
    bar.close()
    if is_main:
        save_final_model(unwrapped, tokenizer, out / "final_model")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return out
