"""Loss pieces of RL fine-tuning: small pure tensor functions.

Every function takes per-token tensors of one shape (usually ``(N,)`` for the flat list of
generated tokens in a minibatch, or ``(B, L)`` with a mask) and a ``mask`` of the same shape whose
``True`` / ``1`` entries are the tokens the policy generated. Prompt, observation and padding tokens
are ``0`` in the mask and never contribute to a mean: :func:`masked_mean` divides by the number of
real tokens, not by the tensor size, so padding can neither dilute a loss nor push the KL negative.

Formulas (``logp`` the current policy, ``old`` the policy that sampled the rollout, ``ref`` the
frozen reference model, all log-probabilities of the sampled token):

- ratio ``rho = exp(logp - old)``; clipped surrogate (PPO) per token
  ``-min(rho * A, clip(rho, 1 - eps, 1 + eps) * A)``.
- KL(pi || ref) estimators from samples of pi (Schulman, "Approximating KL divergence", 2020), with
  ``log_r = ref - logp``:
  k1 = ``-log_r`` (unbiased, high variance, can be negative per token);
  k2 = ``log_r ** 2 / 2`` (biased, low variance, always >= 0);
  k3 = ``exp(log_r) - log_r - 1`` (unbiased, always >= 0; the default, as in GRPO).
"""

from __future__ import annotations

import torch

KL_ESTIMATORS = ("k1", "k2", "k3")


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the entries where ``mask`` is true (0 when the mask is empty).

    Raises:
        ValueError: the shapes differ.
    """
    if values.shape != mask.shape:
        raise ValueError(f"masked_mean: values shape {tuple(values.shape)} != mask shape {tuple(mask.shape)}")
    mask = mask.to(values.dtype)
    # masked entries may hold inf/nan (e.g. log-probs of padding): select, never multiply
    selected = torch.where(mask > 0, values, torch.zeros_like(values))
    return selected.sum() / mask.sum().clamp(min=1.0)


def kl_penalty(logp: torch.Tensor, ref_logp: torch.Tensor, estimator: str = "k3") -> torch.Tensor:
    """Per-token estimate of KL(pi || ref) from the sampled tokens' log-probs (same shape out).

    Args:
        logp: log pi(token) under the policy being trained.
        ref_logp: log ref(token) under the frozen reference model.
        estimator: ``"k1"``, ``"k2"`` or ``"k3"`` (see the module docstring).

    Raises:
        ValueError: unknown estimator.
    """
    if estimator not in KL_ESTIMATORS:
        raise ValueError(f"kl estimator must be one of {KL_ESTIMATORS}, got {estimator!r}")
    log_ratio = ref_logp - logp  # log(ref / pi)
    if estimator == "k1":
        return -log_ratio
    if estimator == "k2":
        return 0.5 * log_ratio**2
    # clamp: exp of a large log-ratio would overflow before the -1 cancels anything
    return torch.exp(log_ratio.clamp(max=20.0)) - log_ratio - 1.0


def clipped_surrogate(
    logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, clip_eps: float = 0.2
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-token PPO clipped surrogate loss.

    Returns:
        ``(loss, clipped, approx_kl)``, each the shape of ``logp``: the loss to minimise
        ``-min(rho A, clip(rho) A)``, a float 0/1 tensor telling where the clipped branch was active
        (for ``policy/clipfrac_avg``), and the per-token ``(rho - 1) - log rho`` estimate of
        KL(old || new) (for ``policy/approxkl_avg``).
    """
    if clip_eps <= 0:
        raise ValueError(f"clip_eps must be > 0, got {clip_eps}")
    log_ratio = logp - old_logp
    ratio = torch.exp(log_ratio)
    unclipped = ratio * advantages
    clipped_obj = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    loss = -torch.minimum(unclipped, clipped_obj)
    clipped = (clipped_obj < unclipped).to(logp.dtype)
    approx_kl = (ratio - 1.0) - log_ratio
    return loss, clipped.detach(), approx_kl.detach()


def value_loss(
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip_eps: float | None = 0.2
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-element clipped value loss (PPO): ``0.5 * max((v - R)^2, (v_clip - R)^2)``.

    ``v_clip = old + clip(v - old, -eps, eps)``; ``clip_eps=None`` turns clipping off.

    Returns:
        ``(loss, clipped)``: the per-element loss and a 0/1 tensor, 1 where the clipped branch was
        larger (for ``val/clipfrac_avg``).
    """
    unclipped = (values - returns) ** 2
    if clip_eps is None:
        return 0.5 * unclipped, torch.zeros_like(unclipped)
    v_clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
    clipped_sq = (v_clipped - returns) ** 2
    return 0.5 * torch.maximum(unclipped, clipped_sq), (clipped_sq > unclipped).to(values.dtype).detach()


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the softmax over the last dimension: ``(..., V) -> (...)``."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(dim=-1)
