"""The trained module: a causal LM plus an optional state-value head, run on packed batches.

:class:`PolicyWithValue` wraps a Hugging Face causal LM (optionally a peft LoRA model) and, for GAE,
a linear value head on the last hidden state (the paper: "a separate state-value head on the
last-layer representation"). Its ``forward`` takes a :class:`~agents.rlft.packing.PackedBatch` and
returns only what the losses need: the log-prob and entropy of every generated token and the value of
every turn's state (the last prompt token). Logits are computed only at the generated tokens'
predictor positions (``N`` rows instead of ``B * L``), which matters with vocabularies of 10^4-10^5.

Being one ``nn.Module`` keeps DDP (``accelerate launch``) simple: one wrapper, one gradient sync.
"""

from __future__ import annotations

import torch
from torch import nn

from agents.llm.compat import cache_kwargs, logits_kwargs, new_cache, output_cache, repeat_rows
from agents.rlft.logprobs import token_logprobs
from agents.rlft.packing import PackedBatch, PackedSequence


class ValueHead(nn.Module):
    """Linear map from the last hidden state to a scalar value, zero-initialised (V = 0 at the start)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:  # (..., H) -> (...)
        return self.linear(hidden.float()).squeeze(-1)


def hidden_size_of(model: nn.Module) -> int:
    config = model.config
    for name in ("hidden_size", "n_embd", "d_model"):
        if hasattr(config, name):
            return int(getattr(config, name))
    raise ValueError(f"cannot find the hidden size in the model config ({type(config).__name__})")


class PolicyWithValue(nn.Module):
    """A causal LM (``lm``) and an optional :class:`ValueHead` (``value_head``).

    Args:
        lm: a ``transformers`` causal LM (or a peft model around one) that accepts a 4-D attention
            mask and ``position_ids``.
        with_value_head: add a value head (needed for ``advantage="gae"``).
    """

    def __init__(self, lm: nn.Module, with_value_head: bool = False) -> None:
        super().__init__()
        self.lm = lm
        self.value_head = ValueHead(hidden_size_of(lm)) if with_value_head else None

    def forward(
        self, batch: PackedBatch | list[PackedSequence], *, need_entropy: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Log-probs ``(N,)`` of the batch's generated tokens, their entropies ``(N,)`` (no grad;
        None when not asked) and the turns' values ``(T,)`` (None without a value head).

        ``batch`` is a collated :class:`PackedBatch` (one dense 4-D mask per sequence) or a list of
        :class:`PackedSequence` run as trunk + branches (:func:`tree_forward`); both give the same
        numbers in the same order (the targets of the sequences, concatenated)."""
        return forward_any(self.lm, batch, self.value_head, need_entropy=need_entropy)


def forward_any(
    lm: nn.Module,
    batch: PackedBatch | list[PackedSequence],
    value_head: ValueHead | None = None,
    *,
    need_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """:func:`packed_forward` for a :class:`PackedBatch`, :func:`tree_forward` per sequence for a list."""
    if isinstance(batch, PackedBatch):
        return packed_forward(lm, batch, value_head, need_entropy=need_entropy)
    outs = [tree_forward(lm, seq, value_head, need_entropy=need_entropy) for seq in batch]
    return _cat([o[0] for o in outs]), _cat([o[1] for o in outs]), _cat([o[2] for o in outs])


def packed_forward(
    lm: nn.Module, batch: PackedBatch, value_head: ValueHead | None = None, *, need_entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Run ``lm`` on a packed batch; see :meth:`PolicyWithValue.forward`."""
    out = lm(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        output_hidden_states=True,
        use_cache=False,
        **logits_kwargs(lm, 1),  # the full (B, L, V) logits are never needed: we project N rows below
    )
    hidden = out.hidden_states[-1]  # (B, L, H), after the final norm
    logp, entropy = _token_logprobs(
        lm, hidden[batch.batch_index, batch.predictor_index], batch.target_ids, need_entropy
    )
    values = None
    if value_head is not None:
        values = value_head(hidden[batch.value_batch_index, batch.value_index])  # (T,)
    return logp, entropy, values


def _token_logprobs(
    lm: nn.Module, selected: torch.Tensor, target_ids: torch.Tensor, need_entropy: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-prob ``(N,)`` of each target from the hidden states ``(N, H)`` that predict it (+ entropy),
    in chunks of rows (:mod:`agents.rlft.logprobs`): the full ``(N, V)`` logits never exist at once."""
    cap = getattr(getattr(lm, "config", None), "final_logit_softcapping", None)
    head = lm.get_output_embeddings()
    return token_logprobs(head, selected, target_ids, cap=cap, need_entropy=need_entropy)


def _cat(parts: list[torch.Tensor | None]) -> torch.Tensor | None:
    return None if any(p is None for p in parts) else torch.cat(parts)


def tree_forward(
    lm: nn.Module, seq: PackedSequence, value_head: ValueHead | None = None, *, need_entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """The packed sequence run as a tree: the trunk once, then all branches as one batch on its KV cache.

    Same results as :func:`packed_forward` on the dense mask, at a fraction of the attention cost:
    a dense mask over ``L = trunk + sum(branches)`` tokens costs ``L^2``; here the trunk costs
    ``trunk^2 / 2`` (causal) and each branch ``branch * (trunk + branch)``. The trunk's keys and
    values keep their autograd graph, so gradients from every branch flow back into the trunk.
    """
    device = next(lm.parameters()).device
    n_trunk = int((seq.segment == -1).sum())
    trunk_ids = seq.input_ids[:n_trunk].to(device)[None]  # (1, N)
    out = lm(
        input_ids=trunk_ids,
        position_ids=seq.position_ids[:n_trunk].to(device)[None],
        use_cache=True,
        output_hidden_states=True,
        **cache_kwargs(lm, new_cache(lm)),
        **logits_kwargs(lm, 1),
    )
    hidden = [out.hidden_states[-1][0]]  # trunk (N, H)
    seg = seq.segment[n_trunk:]
    if seg.numel() > 0:
        n_branch = int(seg.max()) + 1
        lens = torch.bincount(seg, minlength=n_branch)  # (T,)
        width = int(lens.max())
        col = torch.arange(seg.numel()) - torch.repeat_interleave(torch.cumsum(lens, 0) - lens, lens)  # (M,)
        ids = torch.zeros((n_branch, width), dtype=torch.long)  # (T, b)
        pos = torch.zeros((n_branch, width), dtype=torch.long)  # (T, b)
        ids[seg, col] = seq.input_ids[n_trunk:]
        pos[seg, col] = seq.position_ids[n_trunk:]
        limit = torch.zeros(n_branch, dtype=torch.long)
        limit[seg] = seq.limit[n_trunk:]
        j = torch.arange(width)
        trunk_part = torch.arange(n_trunk)[None, None, :] < limit[:, None, None]  # (T, 1, N) -> (T, b, N)
        trunk_part = trunk_part.expand(n_branch, width, n_trunk)
        valid_key = j[None, :] < lens[:, None]  # (T, b)
        branch_part = (j[None, :, None] >= j[None, None, :]) & valid_key[:, None, :]  # (T, b, b) causal
        branch_part = branch_part | torch.eye(width, dtype=torch.bool)[None]  # padding queries see themselves
        mask = torch.cat([trunk_part, branch_part], dim=-1)[:, None]  # (T, 1, b, N + b)
        cache = repeat_rows(output_cache(out), n_branch)
        out_b = lm(
            input_ids=ids.to(device),
            position_ids=pos.to(device),
            attention_mask=mask.to(device),
            use_cache=True,
            output_hidden_states=True,
            **cache_kwargs(lm, cache),
            **logits_kwargs(lm, 1),
        )
        hidden.append(out_b.hidden_states[-1][seg.to(device), col.to(device)])  # (M, H) in packed order
    packed_hidden = torch.cat(hidden)  # (L, H): the hidden state of every packed position
    logp, entropy = _token_logprobs(
        lm, packed_hidden[seq.predictor_index.to(device)], seq.target_ids.to(device), need_entropy
    )
    values = None
    if value_head is not None:
        values = value_head(packed_hidden[seq.value_index.to(device)])  # (T,)
    return logp, entropy, values
