"""Advantages and returns: one GAE function, and baselines for Monte Carlo returns.

All functions work on a *flat* time axis: the turns of all episodes of a rollout laid end to end,
episode after episode, with ``dones[i] = True`` on the last turn of each episode. Rollouts only hold
complete episodes (bandits end after ``horizon`` turns, tic-tac-toe at win/draw/loss), so nothing is
bootstrapped past an episode end.

- :func:`gae` computes generalised advantage estimation (Schulman et al. 2016). Monte Carlo
  rewards-to-go are the same function with ``lam = 1`` and zero values (as Stable-Baselines3 notes):
  ``returns = sum_k gamma^k r_{t+k}`` up to the episode end.
- :func:`step_baseline_advantages` turns Monte Carlo returns into advantages by comparing each turn
  with the turns taken at the same step index in the other episodes of the rollout (bandit
  episodes have a fixed length, so step ``t`` of every episode faces the same number of remaining
  pulls): ``"mc"`` subtracts the mean at that step, ``"loo"`` the mean of the *other* episodes
  (leave-one-out, unbiased), ``"grpo"`` subtracts the mean and divides by the standard deviation
  (group-relative, as in GRPO, with the group = the rollout's episodes at that step). With
  ``groups`` (one id per turn, e.g. the episode's environment seed when several episodes replay the
  same seed), the baseline is taken within each group at each step: episodes that faced the same
  arm means are compared with each other only, which removes the variance of the draw of the means.
"""

from __future__ import annotations

import torch

BASELINES = ("mc", "loo", "grpo")


def _check_flat(name: str, tensor: torch.Tensor, n: int) -> None:
    if tensor.dim() != 1 or tensor.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D tensor of length {n}, got shape {tuple(tensor.shape)}")


def gae(
    rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, gamma: float = 1.0, lam: float = 0.95
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over a flat sequence of turns.

    Args:
        rewards: ``(N,)`` reward of each turn.
        values: ``(N,)`` value estimate V(s_t) of each turn's state (zeros for Monte Carlo).
        dones: ``(N,)`` bool, true on the last turn of an episode (no bootstrapping past it).
        gamma: discount in [0, 1].
        lam: GAE lambda in [0, 1]; 1 gives ``returns - values`` with Monte Carlo returns.

    Returns:
        ``(advantages, returns)``, both ``(N,)``; ``returns = advantages + values``.

    Raises:
        ValueError: shapes disagree, ``gamma``/``lam`` outside [0, 1], or the last turn is not done.
    """
    n = rewards.shape[0] if rewards.dim() == 1 else -1
    _check_flat("rewards", rewards, n)
    _check_flat("values", values, n)
    _check_flat("dones", dones, n)
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    if n > 0 and not bool(dones[-1]):
        raise ValueError(
            "the last turn must end an episode (dones[-1] must be True): rollouts hold whole episodes"
        )
    advantages = torch.zeros_like(rewards)
    running = rewards.new_zeros(())
    for t in range(n - 1, -1, -1):
        not_done = 0.0 if bool(dones[t]) else 1.0
        next_value = values[t + 1] if t + 1 < n else values.new_zeros(())
        delta = rewards[t] + gamma * next_value * not_done - values[t]
        running = delta + gamma * lam * not_done * running
        advantages[t] = running
    return advantages, advantages + values


def rewards_to_go(rewards: torch.Tensor, dones: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """Monte Carlo returns ``sum_k gamma^k r_{t+k}`` to each episode's end: :func:`gae` with lam = 1."""
    return gae(rewards, torch.zeros_like(rewards), dones, gamma=gamma, lam=1.0)[1]


def step_indices(dones: torch.Tensor) -> torch.Tensor:
    """``(N,)`` long tensor: each turn's step index within its episode (0 after every done)."""
    out = torch.zeros(dones.shape[0], dtype=torch.long)
    step = 0
    for i in range(dones.shape[0]):
        out[i] = step
        step = 0 if bool(dones[i]) else step + 1
    return out


def step_baseline_advantages(
    returns: torch.Tensor,
    steps: torch.Tensor,
    baseline: str = "mc",
    eps: float = 1e-6,
    groups: torch.Tensor | None = None,
) -> torch.Tensor:
    """Advantages from Monte Carlo returns with a per-step-index baseline across episodes.

    Args:
        returns: ``(N,)`` rewards-to-go.
        steps: ``(N,)`` step index of each turn (:func:`step_indices`).
        groups: ``(N,)`` optional group id of each turn; the baseline is then computed within each
            (group, step) instead of each step.
        baseline: ``"mc"`` (minus the mean at that step), ``"loo"`` (minus the mean of the other
            episodes at that step; 0 advantage when a step has a single episode), ``"grpo"``
            (``(R - mean) / (std + eps)`` at that step, population std).

    Raises:
        ValueError: unknown baseline or mismatched shapes.
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    _check_flat("steps", steps, returns.shape[0])
    if groups is not None:
        _check_flat("groups", groups, returns.shape[0])
        # one key per (group, step): steps are < N, so group * (N + 1) + step never collides
        steps = torch.unique(groups, return_inverse=True)[1] * (returns.shape[0] + 1) + steps
    adv = torch.zeros_like(returns)
    for s in torch.unique(steps).tolist():
        idx = steps == s
        group = returns[idx]
        count = group.shape[0]
        mean = group.mean()
        if baseline == "mc":
            adv[idx] = group - mean
        elif baseline == "loo":
            # R_i - (sum - R_i) / (n - 1) == n / (n - 1) * (R_i - mean)
            adv[idx] = 0.0 if count == 1 else (group - mean) * count / (count - 1)
        else:
            std = group.std(unbiased=False) if count > 1 else group.new_zeros(())
            adv[idx] = (group - mean) / (std + eps)
    return adv


def whiten(values: torch.Tensor, shift_mean: bool = True, eps: float = 1e-8) -> torch.Tensor:
    """Normalise to unit standard deviation (and zero mean when ``shift_mean``) over all entries."""
    if values.numel() < 2:
        return values.clone()
    std = values.std(unbiased=False)
    centred = values - values.mean() if shift_mean else values
    return centred / (std + eps)
