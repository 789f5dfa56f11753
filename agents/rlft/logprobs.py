"""Log-probs of chosen tokens from hidden states, without materialising every full-vocabulary row at once.

The trainer needs ``log softmax(h @ W^T)[target]`` for each generated token (``N`` rows), and the
entropy of each row. With a 49k-262k vocabulary the full ``(N, V)`` float32 logits, their log-softmax
(kept for the backward pass) and their exponentials are three tensors of ``N * V`` numbers: 1.5 GB for
2,560 tokens of SmolLM2, 12 GB for 4,096 tokens of Gemma 2. Here the rows go through in chunks:

- without gradients (reference and old log-probs) each chunk's logits live only inside the loop;
- with gradients, :class:`ChunkedLogProbs` keeps only ``h``, ``W`` and the targets, and recomputes each
  chunk's logits in the backward pass (``d logits = (onehot - softmax) * g``, then ``d h = d logits @ W``
  and ``d W = d logits^T @ h``): one extra ``N x V x H`` matmul in exchange for never holding the full
  ``(N, V)`` tensors. Below ``max_elements`` the plain autograd path is used (it is faster when memory
  is not the limit, e.g. SmolLM2's rollouts on a CPU).

``final_logit_softcapping`` (Gemma 2) is applied as ``cap * tanh(z / cap)``, with its derivative.
"""

from __future__ import annotations

import torch
from torch import nn

CHUNK_ROWS = 1024  # rows of (rows, V) logits alive at once
MAX_ELEMENTS = 1 << 27  # N * V above which the gradient path is chunked (512 MB of float32 logits)


def _logits(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, cap: float | None):
    """Float32 logits of a chunk and, with a soft cap, ``tanh(z / cap)`` for the derivative."""
    z = hidden @ weight.to(hidden.dtype).t()
    if bias is not None:
        z = z + bias.to(z.dtype)
    z = z.float()
    if not cap:
        return z, None
    t = torch.tanh(z / cap)
    return t * cap, t


class ChunkedLogProbs(torch.autograd.Function):
    """``(logp, entropy) = f(hidden (N, H), weight (V, H), bias (V,) | None, targets (N,))``, chunked.

    ``entropy`` is not differentiable (it is logged, not trained).
    """

    @staticmethod
    def forward(ctx, hidden, weight, bias, targets, cap, chunk, need_entropy):
        n = hidden.shape[0]
        logp = torch.empty(n, dtype=torch.float32, device=hidden.device)
        entropy = torch.zeros(n if need_entropy else 0, dtype=torch.float32, device=hidden.device)
        for start in range(0, n, chunk):
            end = min(start + chunk, n)
            z, _ = _logits(hidden[start:end], weight, bias, cap)  # (c, V)
            lse = torch.logsumexp(z, dim=-1)  # (c,)
            logp[start:end] = z.gather(-1, targets[start:end, None]).squeeze(-1) - lse
            if need_entropy:
                entropy[start:end] = lse - (torch.softmax(z, dim=-1) * z).sum(-1)
        ctx.save_for_backward(hidden, weight, bias, targets)
        ctx.cap, ctx.chunk = cap, chunk
        ctx.mark_non_differentiable(entropy)
        return logp, entropy

    @staticmethod
    def backward(ctx, grad_logp, _grad_entropy):
        hidden, weight, bias, targets = ctx.saved_tensors
        w = weight.to(hidden.dtype)
        grad_h = torch.empty_like(hidden)
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device)
        grad_b = None if bias is None else torch.zeros(bias.shape, dtype=torch.float32, device=bias.device)
        rows = torch.arange(min(ctx.chunk, hidden.shape[0]), device=hidden.device)
        for start in range(0, hidden.shape[0], ctx.chunk):
            end = min(start + ctx.chunk, hidden.shape[0])
            h, g = hidden[start:end], grad_logp[start:end].float()  # (c, H), (c,)
            z, t = _logits(h, weight, bias, ctx.cap)
            dz = torch.softmax(z, dim=-1).mul_(-g[:, None])  # d logp / d z = onehot - softmax
            dz[rows[: end - start], targets[start:end]] += g
            if t is not None:
                dz.mul_(1 - t * t)  # through cap * tanh(z / cap)
            if grad_b is not None:
                grad_b += dz.sum(0)
            dz = dz.to(h.dtype)
            grad_h[start:end] = dz @ w
            grad_w += (dz.t() @ h).float()
        grad_b = None if grad_b is None else grad_b.to(bias.dtype)
        return grad_h, grad_w.to(weight.dtype), grad_b, None, None, None, None


def token_logprobs(
    head: nn.Module,
    hidden: torch.Tensor,
    targets: torch.Tensor,
    *,
    cap: float | None = None,
    need_entropy: bool = False,
    chunk: int = CHUNK_ROWS,
    max_elements: int = MAX_ELEMENTS,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(logp (N,), entropy (N,) or None)`` of ``targets`` under ``head(hidden)`` (see the module docstring).

    Args:
        head: the output projection (``lm.get_output_embeddings()``).
        hidden: ``(N, H)`` hidden states that predict ``targets`` ``(N,)``.
        cap: ``final_logit_softcapping`` of the model, if any.
        need_entropy: also return each row's entropy (no gradient).
        chunk: rows per chunk; max_elements: ``N * V`` from which the gradient path is chunked.
    """
    plain_linear = type(head) is nn.Linear  # a LoRA-wrapped head is computed by its own forward
    vocab = head.weight.shape[0] if plain_linear else None
    params_grad = any(p.requires_grad for p in head.parameters())
    grad = torch.is_grad_enabled() and (hidden.requires_grad or params_grad)
    if plain_linear and (not grad or hidden.shape[0] * vocab > max_elements):
        args = (hidden, head.weight, head.bias, targets, cap, chunk, need_entropy)
        logp, entropy = ChunkedLogProbs.apply(*args)
        return logp, (entropy if need_entropy else None)
    logits = head(hidden).float()  # (N, V)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    logp_all = torch.log_softmax(logits, dim=-1)  # (N, V)
    logp = logp_all.gather(-1, targets[:, None]).squeeze(-1)  # (N,)
    entropy = None
    if need_entropy:
        with torch.no_grad():
            entropy = -(logp_all.exp() * logp_all).sum(-1)  # (N,)
    return logp, entropy
