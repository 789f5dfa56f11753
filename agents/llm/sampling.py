"""Pure tensor functions for one decoding step: pick the next token and its log-probability.

Kept apart from the decode loop so each piece is tested on hand-made logits.

Conventions (docs/ARCHITECTURE.md section 4):

- ``temperature == 0`` is greedy decoding (argmax; ties go to the lowest token id) and the reported
  log-prob is ``log_softmax(logits)``, i.e. of the raw logits;
- ``temperature > 0`` samples from ``softmax(logits / temperature)`` restricted to the top-p nucleus;
  the reported log-prob is ``log_softmax(logits / temperature)`` *before* the nucleus cut, which is
  the policy whose ratio RL fine-tuning takes.
"""

from __future__ import annotations

import torch


def check_sampling_args(temperature: float, top_p: float, max_new_tokens: int) -> None:
    """Raise ``ValueError`` / ``TypeError`` for settings outside their allowed ranges."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or temperature < 0:
        raise ValueError(f"temperature must be a number >= 0 (0 = greedy), got {temperature!r}")
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise ValueError(f"top_p must be a number in (0, 1], got {top_p!r}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be an int >= 1, got {max_new_tokens!r}")


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Set logits outside the top-p nucleus to ``-inf``.

    The nucleus is the smallest set of highest-probability tokens whose total probability reaches
    ``top_p``; the most likely token is always kept.

    Args:
        logits: ``(B, V)`` float logits (already divided by the temperature).
        top_p: nucleus mass in (0, 1]; 1 keeps every token.

    Returns:
        ``(B, V)`` logits with the excluded entries at ``-inf``.
    """
    if top_p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (B, V)
    probs = torch.softmax(sorted_logits, dim=-1)  # (B, V)
    # Mass strictly before each token: a token is kept while that mass is still below top_p.
    mass_before = torch.cumsum(probs, dim=-1) - probs  # (B, V)
    drop_sorted = mass_before >= top_p  # (B, V); position 0 has mass 0, so it is always kept
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def next_tokens(
    logits: torch.Tensor, *, temperature: float, top_p: float, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose one token per row and return ``(tokens, logprobs)``.

    Args:
        logits: ``(B, V)`` logits of the next position (any float dtype; computed in float32).
        temperature: 0 for greedy, else the softmax temperature.
        top_p: nucleus mass for sampling (ignored when greedy).
        generator: the ``torch.Generator`` (on ``logits.device``) that makes sampling reproducible;
            ``None`` uses torch's global RNG.

    Returns:
        ``tokens`` ``(B,)`` int64 and ``logprobs`` ``(B,)`` float32: ``log_softmax(logits / T)`` at the
        chosen token (``T = 1`` when greedy).
    """
    logits = logits.float()  # (B, V); bf16 logits lose too much precision for log-probs
    if temperature == 0:
        tokens = torch.argmax(logits, dim=-1)  # (B,)
        logprobs = torch.log_softmax(logits, dim=-1)  # (B, V)
    else:
        scaled = logits / temperature  # (B, V)
        logprobs = torch.log_softmax(scaled, dim=-1)  # (B, V)
        probs = torch.softmax(top_p_filter(scaled, top_p), dim=-1)  # (B, V)
        tokens = torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)  # (B,)
    chosen = logprobs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # (B,)
    return tokens, chosen
