"""Packed training sequences: all turns of an episode in one sequence, exactly.

Why: the turns of a bandit episode share their prefix (instructions and the history so far). The
per-turn way to compute training log-probs re-reads that prefix once per turn (up to 50 times).
Packing reads it once.

Layout of one packed sequence (``P_t`` = token ids of turn t's prompt, ``C_t`` its completion)::

    [ trunk = P_last ][ branch_0 = P_0[p_0:] + C_0 ][ branch_1 = P_1[p_1:] + C_1 ] ...

``p_t`` is the length of the longest common prefix of ``P_t`` and the trunk: the header and the
history lines that turn t saw. A branch token attends (4-D attention mask) to ``trunk[:p_t]`` and,
causally, to its own branch; its position id continues from ``p_t``. Every token therefore sees
exactly the context and positions it had in its own per-turn sequence, so the packed log-probs equal
the per-turn log-probs (tested to 1e-5). The common prefixes are found on the *token ids the policy
generated from* (``Generation.prompt_ids``), so the packed ids are the generation ids by
construction, whatever the tokenizer does at piece boundaries: where tokenization of the history
changes an earlier token, the common prefix is simply shorter (still exact, less shared).

With a history window or chain-of-thought (earlier rationales are not part of later prompts) the same
construction holds: whatever is not shared lands in the branch. ``turns_per_sequence`` splits long
episodes into several packed sequences (each with its own trunk) to bound the quadratic cost of a
dense mask; ``turns_per_sequence=1`` is the ordinary per-turn layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class PackedSequence:
    """One packed sequence (a chunk of one episode's turns).

    Attributes:
        input_ids: ``(L,)`` token ids.
        position_ids: ``(L,)`` position of each token in its own per-turn sequence.
        segment: ``(L,)`` -1 for trunk tokens, else the (chunk-local) turn index of the branch.
        limit: ``(L,)`` for branch tokens the visible trunk length ``p_t``; for trunk tokens L.
        target_ids: ``(N,)`` the completion tokens (N = all completion tokens of the chunk).
        predictor_index: ``(N,)`` packed index of the token whose output predicts each target.
        target_turn: ``(N,)`` global turn index (into the episode list given to :func:`pack_turns`).
        value_index: ``(T,)`` packed index of the last prompt token of each turn (the state).
        turns: the global turn indices in this chunk, in order.
    """

    input_ids: torch.Tensor
    position_ids: torch.Tensor
    segment: torch.Tensor
    limit: torch.Tensor
    target_ids: torch.Tensor
    predictor_index: torch.Tensor
    target_turn: torch.Tensor
    value_index: torch.Tensor
    turns: list[int]

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def pack_turns(
    prompts: Sequence[Sequence[int]],
    completions: Sequence[Sequence[int]],
    *,
    turns_per_sequence: int | None = None,
    turn_offset: int = 0,
) -> list[PackedSequence]:
    """Pack an episode's turns into one or more :class:`PackedSequence`.

    Args:
        prompts: token ids of each turn's prompt (exactly what the policy generated from).
        completions: token ids each turn generated (may be empty).
        turns_per_sequence: at most this many turns per packed sequence (None: all in one).
        turn_offset: added to the turn indices written into ``target_turn`` (for flat indexing
            across a batch of episodes).

    Raises:
        ValueError: lengths differ, an empty prompt, or ``turns_per_sequence < 1``.
    """
    if len(prompts) != len(completions):
        raise ValueError(f"got {len(prompts)} prompts but {len(completions)} completions")
    if turns_per_sequence is not None and turns_per_sequence < 1:
        raise ValueError(f"turns_per_sequence must be >= 1 or None, got {turns_per_sequence}")
    if any(len(p) == 0 for p in prompts):
        raise ValueError(
            "every prompt needs at least one token (the first completion token needs a predictor)"
        )
    n = len(prompts)
    step = n if turns_per_sequence is None else turns_per_sequence
    return [
        _pack_chunk(prompts, completions, list(range(start, min(start + step, n))), turn_offset)
        for start in range(0, n, max(step, 1))
    ]


def _pack_chunk(
    prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]], turns: list[int], offset: int
) -> PackedSequence:
    # the trunk is the chunk's longest prompt: usually the last turn's, which extends all others
    trunk_turn = max(turns, key=lambda t: (len(prompts[t]), t))
    trunk = list(prompts[trunk_turn])
    ids, pos, seg, lim = list(trunk), list(range(len(trunk))), [-1] * len(trunk), []
    targets, predictors, target_turns, value_index = [], [], [], []
    for local, t in enumerate(turns):
        prompt, completion = list(prompts[t]), list(completions[t])
        shared = _common_prefix(prompt, trunk)
        rest = prompt[shared:] + completion
        # index, in the packed sequence, of logical position j of this turn's own sequence
        start = len(ids)

        def packed_index(j: int, shared: int = shared, start: int = start) -> int:
            return j if j < shared else start + (j - shared)

        ids.extend(rest)
        pos.extend(range(shared, shared + len(rest)))
        seg.extend([local] * len(rest))
        lim.extend([shared] * len(rest))
        value_index.append(packed_index(len(prompt) - 1))
        for k, token in enumerate(completion):
            j = len(prompt) + k  # logical position of this completion token
            targets.append(token)
            predictors.append(packed_index(j - 1))
            target_turns.append(t + offset)
    length = len(ids)
    limit = [length] * len(trunk) + lim
    as_long = lambda values: torch.tensor(values, dtype=torch.long)  # noqa: E731
    return PackedSequence(
        input_ids=as_long(ids),
        position_ids=as_long(pos),
        segment=as_long(seg),
        limit=as_long(limit),
        target_ids=as_long(targets),
        predictor_index=as_long(predictors),
        target_turn=as_long([t for t in target_turns]),
        value_index=as_long(value_index),
        turns=[t + offset for t in turns],
    )


def attention_allowed(seq: PackedSequence, device: torch.device | str | None = None) -> torch.Tensor:
    """``(L, L)`` bool: may query i attend to key j (see the module docstring); built on ``device``."""
    length = len(seq)
    idx = torch.arange(length, device=device)
    segment, limit = seq.segment.to(device), seq.limit.to(device)
    causal = idx[None, :] <= idx[:, None]  # (L, L) key j <= query i in packed order
    same = segment[None, :] == segment[:, None]
    # a trunk key is visible to a branch query when its position is inside that branch's shared prefix
    trunk_key = (segment[None, :] == -1) & (idx[None, :] < limit[:, None])
    return causal & (same | trunk_key)


@dataclass
class PackedBatch:
    """Several packed sequences, right-padded to one length, ready for the model.

    Attributes:
        input_ids, position_ids: ``(B, L)``.
        attention_mask: ``(B, 1, L, L)`` bool (True = attend) or additive float (0 / dtype min).
        batch_index, predictor_index, target_ids, target_turn: ``(N,)`` flat over all completion
            tokens of the batch (row, packed index of the predicting token, target id, global turn).
        value_batch_index, value_index, value_turn: ``(T,)`` flat over the batch's turns.
    """

    input_ids: torch.Tensor
    position_ids: torch.Tensor
    attention_mask: torch.Tensor
    batch_index: torch.Tensor
    predictor_index: torch.Tensor
    target_ids: torch.Tensor
    target_turn: torch.Tensor
    value_batch_index: torch.Tensor
    value_index: torch.Tensor
    value_turn: torch.Tensor

    def to(self, device: torch.device | str) -> PackedBatch:
        return PackedBatch(**{k: v.to(device) for k, v in self.__dict__.items()})

    @property
    def num_tokens(self) -> int:
        return int(self.input_ids.numel())


def collate(
    sequences: Sequence[PackedSequence],
    *,
    pad_id: int = 0,
    bool_mask: bool = True,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> PackedBatch:
    """Right-pad packed sequences into a :class:`PackedBatch`.

    Padding tokens attend only to themselves (a fully masked row would give NaN in softmax) and no
    real token attends to them; they are never a target nor a state, so they cannot touch any loss.

    Args:
        bool_mask: a boolean mask (SDPA / flex attention); False gives an additive float mask in
            ``dtype`` (what eager attention adds to its scores).
        device: where the ``(B, 1, L, L)`` mask is built (the other tensors stay on the CPU until
            ``.to(device)``); on a GPU this saves building and copying B * L * L booleans on the CPU.
    """
    if not sequences:
        raise ValueError("collate needs at least one packed sequence")
    length = max(len(s) for s in sequences)
    batch = len(sequences)
    input_ids = torch.full((batch, length), pad_id, dtype=torch.long)
    position_ids = torch.zeros((batch, length), dtype=torch.long)
    allowed = torch.zeros((batch, length, length), dtype=torch.bool, device=device)
    diag = torch.eye(length, dtype=torch.bool, device=device)
    b_idx, p_idx, t_ids, t_turn, vb, vi, vt = [], [], [], [], [], [], []
    for row, seq in enumerate(sequences):
        n = len(seq)
        input_ids[row, :n] = seq.input_ids
        position_ids[row, :n] = seq.position_ids
        allowed[row] = diag
        allowed[row, :n, :n] = attention_allowed(seq, device)
        b_idx.append(torch.full_like(seq.target_ids, row))
        p_idx.append(seq.predictor_index)
        t_ids.append(seq.target_ids)
        t_turn.append(seq.target_turn)
        vb.append(torch.full_like(seq.value_index, row))
        vi.append(seq.value_index)
        vt.append(torch.tensor(seq.turns, dtype=torch.long))
    mask = allowed[:, None]  # (B, 1, L, L)
    if not bool_mask:
        mask = torch.zeros(mask.shape, dtype=dtype, device=device).masked_fill(~mask, torch.finfo(dtype).min)
    return PackedBatch(
        input_ids=input_ids,
        position_ids=position_ids,
        attention_mask=mask,
        batch_index=torch.cat(b_idx),
        predictor_index=torch.cat(p_idx),
        target_ids=torch.cat(t_ids),
        target_turn=torch.cat(t_turn),
        value_batch_index=torch.cat(vb),
        value_index=torch.cat(vi),
        value_turn=torch.cat(vt),
    )
