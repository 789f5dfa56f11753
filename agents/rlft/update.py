"""One policy update from a rollout: score, compute advantages, then clipped-objective epochs.

Reading order (CleanRL style), all in :func:`ppo_update`:

1. Pack every episode's turns (:mod:`agents.rlft.packing`; or one sequence per turn without packing).
2. Without gradients: log-probs of the generated tokens under the frozen reference model, and, when
   needed (several epochs or minibatches, GAE, or KL in the reward), under the rollout policy
   ("old" log-probs) with its values. With one epoch and one minibatch the old log-probs are the
   current ones detached (ratio 1 at the only step), which saves a forward pass; otherwise, in
   float32 at temperature 1 without a value head, the rollout's own log-probs are the old ones
   (the rollout computed them from the same weights), which saves it too.
3. Turn rewards = the trained-on reward (``reward_signal``: the env's, or minus the regret) +
   exploration bonus (- beta * sum of the turn's k1 KL when ``kl_in="reward"``); advantages by Monte
   Carlo returns with a per-step baseline or by GAE; each generated token gets its turn's advantage
   (per-turn credit).
4. For each epoch, shuffle episodes into minibatches; each minibatch accumulates gradients over
   micro-batches (``no_sync`` under DDP until the last), then clips and steps. The loss is a mean over
   the minibatch's generated tokens (prompt and padding tokens are never targets), plus the value
   loss averaged over turns.

A minibatch whose loss or gradient norm is not finite is skipped (no optimizer or scheduler step) and
counted; the trainer stops after ``max_nonfinite_updates`` skipped updates in a row.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from agents.rlft.advantages import gae, rewards_to_go, step_baseline_advantages, step_indices, whiten
from agents.rlft.config import RLFTConfig
from agents.rlft.losses import clipped_surrogate, kl_penalty, value_loss
from agents.rlft.packing import PackedBatch, PackedSequence, collate, pack_turns
from agents.rlft.rollout import Episode

Batch = PackedBatch | list[PackedSequence]
RefForward = Callable[[Batch], torch.Tensor]


@dataclass
class Prepared:
    """Episodes turned into packed sequences plus flat per-turn / per-token index ranges."""

    sequences: list[list[PackedSequence]]  # per episode
    turn_start: list[int]
    token_start: list[int]
    token_count: list[int]
    num_turns: int
    num_tokens: int


def prepare(episodes: Sequence[Episode], *, packing: str = "tree") -> Prepared:
    """Pack each episode (``packing="none"``: one sequence per turn, the naive layout)."""
    sequences, turn_start, token_start, token_count = [], [], [], []
    turns = tokens = 0
    for episode in episodes:
        seqs = pack_turns(
            episode.prompt_ids,
            episode.completion_ids,
            turns_per_sequence=1 if packing == "none" else None,
            turn_offset=turns,
        )
        count = sum(len(c) for c in episode.completion_ids)
        sequences.append(seqs)
        turn_start.append(turns)
        token_start.append(tokens)
        token_count.append(count)
        turns += len(episode)
        tokens += count
    return Prepared(sequences, turn_start, token_start, token_count, turns, tokens)


def rollout_logprobs(episodes: Sequence[Episode], num_tokens: int) -> torch.Tensor | None:
    """``(N,)`` the sampling policy's log-probs of every generated token, flat in training order, or
    ``None`` when some turn was recorded without them."""
    parts = [lp for e in episodes for lp in e.logprobs]
    if any(len(e.logprobs) != len(e) for e in episodes) or not parts:
        return None
    flat = torch.cat(parts).float()
    return flat if flat.numel() == num_tokens else None


def micro_batches(order: Sequence[int], size: int) -> list[list[int]]:
    return [list(order[i : i + size]) for i in range(0, len(order), size)]


def _token_index(prep: Prepared, episodes: Sequence[int]) -> torch.Tensor:
    return torch.cat(
        [torch.arange(prep.token_start[e], prep.token_start[e] + prep.token_count[e]) for e in episodes]
    )


def _collate(
    prep: Prepared, episodes: Sequence[int], pad_id: int, bool_mask: bool, device, packing: str
) -> Batch:
    sequences = [s for e in episodes for s in prep.sequences[e]]
    if packing == "tree":
        return sequences  # run trunk + branches per sequence (value_head.tree_forward)
    return collate(sequences, pad_id=pad_id, bool_mask=bool_mask).to(device)


def _value_turns(batch: Batch) -> torch.Tensor:
    if isinstance(batch, PackedBatch):
        return batch.value_turn.cpu()
    return torch.tensor([t for seq in batch for t in seq.turns], dtype=torch.long)


def compute_advantages(
    episodes: Sequence[Episode], rewards: torch.Tensor, values: torch.Tensor | None, config: RLFTConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-turn ``(advantages, returns)`` for the flat turn axis (see :mod:`agents.rlft.advantages`)."""
    dones = torch.tensor([t == len(e) - 1 for e in episodes for t in range(len(e))])
    mode = config.resolved_advantage
    if mode == "gae":
        if values is None:
            raise ValueError("advantage='gae' needs values from a value head")
        adv, returns = gae(rewards, values, dones, gamma=config.gamma, lam=config.gae_lambda)
    else:
        returns = rewards_to_go(rewards, dones, gamma=config.gamma)
        # group_size > 1: episodes that replayed one seed share a baseline (the same bandit's draws)
        groups = None
        if config.group_size > 1:
            groups = torch.tensor([e.seed for e in episodes for _ in range(len(e))])
        adv = step_baseline_advantages(returns, step_indices(dones), baseline=mode, groups=groups)
    if config.normalize_advantages:
        adv = whiten(adv, shift_mean=mode == "gae")
    return adv, returns


def ppo_update(
    model: torch.nn.Module,
    ref_forward: RefForward | None,
    episodes: Sequence[Episode],
    config: RLFTConfig,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    accelerator: Any,
    *,
    pad_id: int,
    generator: torch.Generator,
) -> dict[str, float]:
    """Update ``model`` (a possibly DDP-wrapped :class:`PolicyWithValue`) on ``episodes``.

    Args:
        ref_forward: batch -> reference log-probs of the generated tokens (None when ``kl_coef == 0``).
        pad_id: token id used for padding (any id works: padding is masked).
        generator: shuffles episodes into minibatches (seeded by the trainer for reproducibility).

    Returns:
        Metrics averaged over the update (see the trainer's docstring for the names), including
        ``train/skipped_steps``, the number of optimizer steps skipped for a non-finite loss.
    """
    device = accelerator.device
    prep = prepare(episodes, packing=config.packing)
    unwrapped = accelerator.unwrap_model(model)
    with_values = unwrapped.value_head is not None
    bool_mask = getattr(unwrapped.lm.config, "_attn_implementation", "sdpa") != "eager"
    n_episodes = len(episodes)
    mbs = config.micro_batch_episodes
    need_old = config.epochs > 1 or config.num_minibatches > 1 or with_values or config.kl_in == "reward"
    # The rollout's own log-probs are the old ones when they are exact: float32 (no autocast), T = 1,
    # and no value head whose values need the pass anyway (equal within 1e-4, tested on SmolLM2).
    rollout_logp = rollout_logprobs(episodes, prep.num_tokens)
    old_from_rollout = (
        need_old
        and rollout_logp is not None
        and not with_values
        and config.temperature == 1.0
        and getattr(accelerator, "mixed_precision", "no") == "no"
    )

    # ---- 2. scores without gradients
    ref_logp = torch.zeros(prep.num_tokens)  # (N,)
    old_logp = rollout_logp if old_from_rollout else torch.zeros(prep.num_tokens)  # (N,)
    old_values = torch.zeros(prep.num_turns)  # (T,)
    use_ref = ref_forward is not None and config.kl_coef > 0
    old_pass = need_old and not old_from_rollout
    if use_ref or old_pass:
        with torch.no_grad():
            for chunk in micro_batches(range(n_episodes), mbs):
                batch = _collate(prep, chunk, pad_id, bool_mask, device, config.packing)
                idx = _token_index(prep, chunk)
                if use_ref:
                    ref_logp[idx] = ref_forward(batch).float().cpu()
                if old_pass:
                    with accelerator.autocast():
                        logp, _, values = unwrapped(batch, need_entropy=False)
                    old_logp[idx] = logp.float().cpu()
                    if values is not None:
                        old_values[_value_turns(batch)] = values.float().cpu()

    # ---- 3. rewards and advantages
    rewards = torch.tensor(
        [r + b for e in episodes for r, b in zip(e.train_rewards, e.bonuses, strict=True)]
    )  # (T,)
    token_turn = torch.repeat_interleave(
        torch.arange(prep.num_turns), torch.tensor([len(c) for e in episodes for c in e.completion_ids])
    )  # (N,) turn of each generated token
    if config.kl_in == "reward" and use_ref:
        turn_kl = torch.zeros(prep.num_turns).index_add_(0, token_turn, old_logp - ref_logp)  # sum of k1
        rewards = rewards - config.kl_coef * turn_kl
    advantages, returns = compute_advantages(episodes, rewards, old_values if with_values else None, config)
    token_adv = advantages[token_turn]  # (N,) per-turn credit

    # ---- 4. epochs of minibatch updates
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}

    def add(name: str, total: float, count: float) -> None:
        sums[name] = sums.get(name, 0.0) + total
        counts[name] = counts.get(name, 0.0) + count

    skipped = steps = 0
    for _epoch in range(config.epochs):
        order = torch.randperm(n_episodes, generator=generator).tolist()
        for mb in [order[i :: config.num_minibatches] for i in range(config.num_minibatches)]:
            if not mb:
                continue
            mb_tokens = max(sum(prep.token_count[e] for e in mb), 1)
            mb_turns = max(sum(len(episodes[e]) for e in mb), 1)
            chunks = micro_batches(sorted(mb), mbs)
            loss_finite = True
            for k, chunk in enumerate(chunks):
                batch = _collate(prep, chunk, pad_id, bool_mask, device, config.packing)
                idx = _token_index(prep, chunk)
                sync = contextlib.nullcontext() if k == len(chunks) - 1 else accelerator.no_sync(model)
                with sync:
                    with accelerator.autocast():
                        logp, entropy, values = model(batch)
                    logp = logp.float()
                    old = old_logp[idx].to(device) if need_old else logp.detach()
                    pg, clipped, approx = clipped_surrogate(
                        logp, old, token_adv[idx].to(device), config.clip_eps
                    )
                    loss_tok = pg
                    if use_ref:
                        kl = kl_penalty(logp, ref_logp[idx].to(device), config.kl_estimator)
                        if config.kl_in == "loss":
                            loss_tok = pg + config.kl_coef * kl
                        add("objective/kl", float(kl.detach().sum()), len(idx))
                    loss = loss_tok.sum() / mb_tokens
                    if values is not None:
                        turns = _value_turns(batch)
                        vl, vclip = value_loss(
                            values.float(),
                            old_values[turns].to(device),
                            returns[turns].to(device),
                            config.value_clip,
                        )
                        loss = loss + config.value_coef * vl.sum() / mb_turns
                        add("loss/value_avg", float(vl.detach().sum()), len(turns))
                        add("val/clipfrac_avg", float(vclip.sum()), len(turns))
                    loss_finite = loss_finite and bool(torch.isfinite(loss.detach()))
                    accelerator.backward(loss)
                add("loss/policy_avg", float(pg.detach().sum()), len(idx))
                add("policy/clipfrac_avg", float(clipped.sum()), len(idx))
                add("policy/approxkl_avg", float(approx.sum()), len(idx))
                add("objective/entropy", float(entropy.sum()), len(idx))
            grad_norm = accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            bad = torch.tensor(0.0 if loss_finite and math.isfinite(float(grad_norm)) else 1.0, device=device)
            if float(accelerator.reduce(bad, reduction="sum")) > 0:
                skipped += 1  # every rank skips together: the flag is summed over processes
            else:
                optimizer.step()
                scheduler.step()
                steps += 1
                add("train/grad_norm", float(grad_norm), 1)
            optimizer.zero_grad(set_to_none=True)

    metrics = {name: sums[name] / max(counts[name], 1.0) for name in sums}
    metrics.setdefault("objective/kl", 0.0)
    metrics.update(
        {
            "train/skipped_steps": float(skipped),
            "train/optimizer_steps": float(steps),
            "train/turns": float(prep.num_turns),
            "train/tokens": float(prep.num_tokens),
            "train/advantage_std": float(advantages.std()) if advantages.numel() > 1 else 0.0,
            "train/lr": float(scheduler.get_last_lr()[0]),
            "train/sequence_tokens": float(sum(len(s) for seqs in prep.sequences for s in seqs)),
            "train/old_logprobs_from_rollout": float(old_from_rollout),
        }
    )
    if not with_values:
        metrics.setdefault("loss/value_avg", 0.0)
        metrics.setdefault("val/clipfrac_avg", 0.0)
    return metrics
