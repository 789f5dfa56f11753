"""Exact prefix (KV) caching across the turns of an episode, for :meth:`LLMPolicy.generate`.

A bandit prompt at turn t is ``header + t history lines + footer``; the prompt at turn t + 1 shares
its header and first t history lines with it. With a cache key per environment (``cache_keys=env_ids``),
:class:`PrefixCache` remembers, for each key, the token ids of the latest prompt and that prompt's keys
and values (per layer, one row, no padding). At the next call the longest common token prefix of the
remembered and the new prompt is found, and the model runs only on the new suffix.

Why this is exact: in a causal LM the key and value at position j depend only on tokens 0..j and
their positions, so the remembered KV of a common prefix is what a forward over the new prompt would
compute there. Rows of one batch have different cached lengths ``c_i`` and suffix lengths ``s_i``; the
batched cache is laid out per row as::

    [pad x (P - c_i)] [cached c_i] [pad x (S - s_i)] [suffix s_i]     P = max c_i, S = max s_i

with a 2D attention mask that is 0 at every pad slot (holes in the middle are fine: the mask is
applied per key position) and position ids ``c_i, ..., c_i + s_i - 1`` on the suffix, so every real
token sees exactly the tokens and positions it would see in an uncached forward over its own prompt.
Results then match the uncached path up to floating-point summation order (~1e-6 in float32).

What is stored is the prompt's KV (not the generated tokens: the next prompt contains the answer only
through the environment's rendering of it, e.g. ``Action=red``). Memory is bounded by an LRU limit on
the number of keys, by :meth:`PrefixCache.drop` (``LLMAgent.reset`` drops the agent's keys), and the
whole cache is cleared when the model's weights change (RL updates), since stale KV would be wrong.

Supported caches: ``transformers.DynamicCache`` with full-attention layers, and sliding-window layers
as long as a prompt fits in the window (:func:`agents.llm.compat.cache_tensors`, for every supported
``transformers`` release). For anything else (other layer types) the prompt KV is not stored and every
prompt is encoded in full, which is still correct.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import torch
from transformers import DynamicCache

from agents.llm.compat import cache_kwargs, cache_tensors, logits_kwargs, new_cache, output_cache, set_layer


@dataclass
class CachedPrompt:
    """One key's remembered prompt.

    Attributes:
        ids: the prompt's token ids.
        layers: per model layer, ``(keys, values)`` each ``(heads, len(ids), head_dim)`` on the model's
            device, or ``None`` for a layer that keeps no KV.
    """

    ids: list[int]
    layers: list[tuple[torch.Tensor, torch.Tensor] | None]

    @property
    def num_bytes(self) -> int:
        """Memory held by the tensors."""
        return sum(t.numel() * t.element_size() for kv in self.layers if kv is not None for t in kv)


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def model_fingerprint(model) -> tuple:
    """A cheap value that changes when the model's weights change.

    Every in-place update of a parameter (an optimizer step, ``load_state_dict``) bumps the tensor's
    version counter; moving or casting the model replaces the tensors (new storage, dtype).
    """
    params = list(model.parameters())
    first = params[0]
    return (sum(p._version for p in params), first.data_ptr(), first.dtype, first.device, len(params))


class PrefixCache:
    """Remembered prompts (token ids + KV) by caller-chosen key, least recently used dropped first.

    Args:
        max_entries: most keys kept; storing one more drops the least recently used. Each entry holds
            ``2 * layers * kv_heads * head_dim * prompt_len`` numbers (e.g. ~190 MB in bf16 for a
            1,800-token prompt on Gemma 2 2B; ~3.7 MB in fp32 for a 600-token prompt on the embedded
            model, so ~240 MB for 64 environments).

    Attributes:
        reused_tokens, computed_tokens: prompt tokens taken from the cache / run through the model by
            the generate calls that used this cache (the benchmark reports the ratio).

    Raises:
        ValueError: ``max_entries`` not an int >= 1.
    """

    def __init__(self, max_entries: int = 256) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be an int >= 1, got {max_entries!r}")
        self.max_entries = max_entries
        self.entries: OrderedDict[Hashable, CachedPrompt] = OrderedDict()
        self.fingerprint: tuple | None = None
        self.reused_tokens = 0
        self.computed_tokens = 0

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.entries

    def get(self, key: Hashable) -> CachedPrompt | None:
        """The entry of ``key`` (marked as recently used), or ``None``."""
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, entry: CachedPrompt) -> None:
        """Remember ``entry`` under ``key`` (replacing any older one), then enforce the LRU bound."""
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    def drop(self, keys: Iterable[Hashable]) -> None:
        """Forget these keys (unknown keys are ignored)."""
        for key in keys:
            self.entries.pop(key, None)

    def clear(self) -> None:
        """Forget every key."""
        self.entries.clear()

    def check_model(self, model) -> None:
        """Clear the cache when the model's weights changed since the last call (stale KV is wrong KV)."""
        fingerprint = model_fingerprint(model)
        if fingerprint != self.fingerprint:
            self.clear()
            self.fingerprint = fingerprint

    @property
    def num_bytes(self) -> int:
        """Memory held by all entries."""
        return sum(e.num_bytes for e in self.entries.values())


def check_cache_keys(cache_keys, n: int) -> list[Hashable]:
    """Validate ``cache_keys`` (one distinct hashable per observation) and return them as a list."""
    if isinstance(cache_keys, (str, bytes)) or not isinstance(cache_keys, Sequence):
        raise TypeError(
            f"cache_keys must be a list with one key per observation, got {type(cache_keys).__name__}"
        )
    keys = list(cache_keys)
    if len(keys) != n:
        raise ValueError(f"cache_keys must hold one key per observation ({n}), got {len(keys)}")
    for i, key in enumerate(keys):
        if not isinstance(key, Hashable):
            raise TypeError(f"cache_keys[{i}] must be hashable, got {type(key).__name__}")
    if len(set(keys)) != len(keys):
        raise ValueError("cache_keys must be distinct within one call (each key remembers one prompt)")
    return keys


def sliding_window(model) -> int | None:
    """The smallest attention window of the model's config, or ``None`` for full attention only."""
    config = model.config.get_text_config(decoder=True) if hasattr(model.config, "get_text_config") else None
    window = getattr(config or model.config, "sliding_window", None)
    return int(window) if isinstance(window, int) and window > 0 else None


def usable_prefix(entry: CachedPrompt | None, prompt: Sequence[int]) -> int:
    """How many leading tokens of ``prompt`` can come from ``entry``: the common prefix, less one when the
    whole prompt is cached (the last prompt token must run to give the next-token logits)."""
    if entry is None:
        return 0
    return min(common_prefix_length(entry.ids, prompt), len(prompt) - 1)


def build_past(
    model, prefixes: list[CachedPrompt | None], lengths: list[int]
) -> tuple[DynamicCache, torch.Tensor]:
    """A batched ``DynamicCache`` of each row's first ``lengths[i]`` cached positions, left-padded.

    Returns the cache (each layer ``(B, heads, P, head_dim)``, ``P = max(lengths)``) and its 2D mask
    ``(B, P)`` (1 at real cached positions, 0 at padding), on the model's device.
    """
    width = max(lengths)
    device = next(model.parameters()).device
    mask = torch.zeros((len(lengths), width), dtype=torch.long, device=device)  # (B, P)
    template = next(e for e, n in zip(prefixes, lengths, strict=True) if n > 0)
    cache = new_cache(model)
    for layer_idx, ref in enumerate(template.layers):
        if ref is None:
            continue
        heads, _, head_dim = ref[0].shape
        keys = ref[0].new_zeros((len(lengths), heads, width, head_dim))  # (B, heads, P, head_dim)
        values = ref[1].new_zeros((len(lengths), heads, width, ref[1].shape[-1]))
        for row, (entry, n) in enumerate(zip(prefixes, lengths, strict=True)):
            if n > 0:
                keys[row, :, width - n :] = entry.layers[layer_idx][0][:, :n]
                values[row, :, width - n :] = entry.layers[layer_idx][1][:, :n]
        set_layer(cache, layer_idx, keys, values)
    for row, n in enumerate(lengths):
        if n > 0:
            mask[row, width - n :] = 1
    return cache, mask


def prefill(policy, prompts: list[list[int]], prefixes: list[CachedPrompt | None]):
    """Run the prompts through the model, reusing each row's cached prefix where one matches.

    Args:
        policy: the :class:`~agents.llm.LLMPolicy` (model, padding id, device).
        prompts: the full prompt token ids per row.
        prefixes: the remembered prompt per row (``None`` when the key is new).

    Returns:
        ``(logits, cache, mask, next_position, reused)``: next-token logits ``(B, V)``, the model's KV
        cache of the whole batch, its 2D attention mask ``(B, T)``, each row's next position ``(B,)``
        (= its prompt length), and how many prompt tokens came from the cache per row.
    """
    lengths = [usable_prefix(e, p) for e, p in zip(prefixes, prompts, strict=True)]
    window = sliding_window(policy.model)
    longest_suffix = max(len(p) - n for p, n in zip(prompts, lengths, strict=True))
    if window is not None and max(lengths) + longest_suffix >= window:
        lengths = [0] * len(prompts)  # holes would shift a sliding window; encode in full instead
    if max(lengths) == 0:
        ids, mask, positions = policy.left_pad(prompts)  # (B, L) each
        past = new_cache(policy.model)
    else:
        suffixes = [p[n:] for p, n in zip(prompts, lengths, strict=True)]
        ids, suffix_mask, suffix_positions = policy.left_pad(suffixes)  # (B, S) each
        past, past_mask = build_past(policy.model, prefixes, lengths)  # (B, P)
        offsets = torch.tensor(lengths, dtype=torch.long, device=ids.device)  # (B,)
        positions = suffix_positions + offsets.unsqueeze(-1)  # (B, S) counted over real tokens only
        mask = torch.cat([past_mask, suffix_mask], dim=-1)  # (B, P + S)
    output = policy.model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=positions,
        use_cache=True,
        **cache_kwargs(policy.model, past),
        **logits_kwargs(policy.model, 1),
    )
    next_position = torch.tensor([len(p) for p in prompts], dtype=torch.long, device=ids.device)  # (B,)
    return output.logits[:, -1, :], output_cache(output), mask, next_position, lengths


def extract_prompts(cache, prompts: list[list[int]], reused: list[int]) -> list[CachedPrompt] | None:
    """Each row's prompt KV, taken from the batched cache right after the prompt pass of :func:`prefill`.

    Row i's real positions in the cache ``(B, heads, T, head_dim)`` are its ``reused[i]`` cached tokens,
    ending at ``P = max(reused)``, and its suffix, ending at ``T`` (see the module docstring): two slices,
    copied so that the decode loop's later updates of the batched cache cannot reach them.
    Returns ``None`` when the cache is of a kind this module cannot rebuild (then nothing is stored).
    """
    per_layer = cache_tensors(cache)
    if per_layer is None:
        return None
    width = max(reused)
    total = width + max(len(p) - n for p, n in zip(prompts, reused, strict=True))
    if any(kv is not None and kv[0].shape[-2] != total for kv in per_layer):
        return None  # a sliding layer that already dropped positions
    if all(kv is None for kv in per_layer):
        return None

    def rows(tensor: torch.Tensor, row: int, cached: int, suffix: int) -> torch.Tensor:
        parts = [tensor[row, :, width - cached : width]] if cached else []
        parts.append(tensor[row, :, total - suffix :])
        return torch.cat(parts, dim=1)  # (heads, n_i, head_dim), a copy

    entries = []
    for row, (prompt, cached) in enumerate(zip(prompts, reused, strict=True)):
        suffix = len(prompt) - cached
        kv = [
            None if pair is None else (rows(pair[0], row, cached, suffix), rows(pair[1], row, cached, suffix))
            for pair in per_layer
        ]
        entries.append(CachedPrompt(list(prompt), kv))
    return entries
