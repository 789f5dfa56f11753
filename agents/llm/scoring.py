"""Candidate scoring for :meth:`agents.llm.LLMPolicy.score`: log pi(candidate | prompt), batched.

The frequency-bias probe needs one score per action: the log-probability that the policy's answer
starts with, e.g., ``"ACTION=red"``. Candidates are encoded without special tokens and appended to the
prompt's tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from agents.llm.compat import cache_kwargs, new_cache, output_cache


def select_cache_rows(cache, indices: torch.Tensor):
    """Keep (or repeat) batch rows ``indices`` of a KV cache and return it.

    A ``transformers`` ``Cache`` object is changed in place; the legacy format (a tuple per layer of
    ``(key, value)`` tensors ``(B, heads, L, head_dim)``, returned by older ``transformers``) is rebuilt.
    """
    if hasattr(cache, "batch_select_indices"):
        cache.batch_select_indices(indices)
        return cache
    if isinstance(cache, (tuple, list)):
        return tuple(tuple(t[indices] for t in layer) for layer in cache)
    raise TypeError(
        f"unsupported KV cache type {type(cache).__name__}; expected a transformers Cache or tuple"
    )


def encode_candidates(tokenizer, candidates: Sequence[Sequence[str]], n_obs: int) -> list[list[list[int]]]:
    """Token ids of each candidate answer (no special tokens), validated against ``n_obs``."""
    if isinstance(candidates, str) or not isinstance(candidates, Sequence):
        raise TypeError(f"candidates must be a list of lists of str, got {type(candidates).__name__}")
    if len(candidates) != n_obs:
        raise ValueError(
            f"candidates must hold one list of str per observation ({n_obs}), got {len(candidates)} lists"
        )
    encoded = []
    for i, cands in enumerate(candidates):
        if isinstance(cands, str) or not isinstance(cands, Sequence) or not cands:
            raise ValueError(f"candidates[{i}] must be a non-empty list of str, got {cands!r}")
        row = []
        for text in cands:
            if not isinstance(text, str):
                raise TypeError(f"candidates[{i}] must hold str, got {type(text).__name__}")
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            if not ids:
                raise ValueError(f"candidates[{i}] contains {text!r}, which encodes to zero tokens")
            row.append(list(ids))
        encoded.append(row)
    return encoded


def score_batch(policy, prompts: list[list[int]], cands: list[list[list[int]]]) -> list[np.ndarray]:
    """Score the candidates of one batch of prompts for ``policy`` (see :meth:`LLMPolicy.score`).

    The prompts run once with the KV cache; the cache is then repeated once per candidate and the
    candidate tokens run on top of it, so a long prompt is not recomputed for every candidate.
    """
    device = policy.device
    ids, mask, positions = policy.left_pad(prompts)  # (B, L)
    output = policy.model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=positions,
        use_cache=True,
        **cache_kwargs(policy.model, new_cache(policy.model)),
        **policy.last_logits_only,
    )
    first_logprobs = torch.log_softmax(output.logits[:, -1, :].float(), dim=-1)  # (B, V)
    owner = [b for b, row in enumerate(cands) for _ in row]  # prompt row of each (prompt, candidate) pair
    flat = [c for row in cands for c in row]
    owner_t = torch.tensor(owner, dtype=torch.long, device=device)  # (P,)
    first = torch.tensor([c[0] for c in flat], dtype=torch.long, device=device)  # (P,)
    totals = first_logprobs[owner_t].gather(-1, first.unsqueeze(-1)).squeeze(-1)  # (P,)
    longest = max(len(c) for c in flat)
    if longest > 1:
        cache = select_cache_rows(
            output_cache(output), owner_t
        )  # one copy of each prompt's cache per candidate
        # Candidate tokens, right-padded: padding at the end cannot change earlier positions.
        cand = torch.full((len(flat), longest), policy.pad_id, dtype=torch.long)  # (P, C)
        cand_mask = torch.zeros((len(flat), longest), dtype=torch.long)  # (P, C)
        for row, c in enumerate(flat):
            cand[row, : len(c)] = torch.tensor(c, dtype=torch.long)
            cand_mask[row, : len(c)] = 1
        cand, cand_mask = cand.to(device), cand_mask.to(device)
        start = positions[owner_t, -1] + 1  # (P,)
        cand_positions = start.unsqueeze(-1) + torch.arange(longest, device=device)  # (P, C)
        full_mask = torch.cat([mask[owner_t], cand_mask], dim=-1)  # (P, L + C)
        out = policy.model(
            input_ids=cand,
            attention_mask=full_mask,
            position_ids=cand_positions,
            use_cache=True,
            **cache_kwargs(policy.model, cache),
        )
        # Logits at candidate token t predict token t + 1.
        logprobs = torch.log_softmax(out.logits[:, :-1, :].float(), dim=-1)  # (P, C - 1, V)
        targets = cand[:, 1:]  # (P, C - 1)
        token_lp = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (P, C - 1)
        totals = totals + (token_lp * cand_mask[:, 1:]).sum(dim=-1)
    totals_np = totals.double().cpu().numpy()
    result, start_idx = [], 0
    for row in cands:
        result.append(totals_np[start_idx : start_idx + len(row)].copy())
        start_idx += len(row)
    return result
