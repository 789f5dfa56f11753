"""select_cache_rows: keeps / repeats batch rows of a KV cache, new-style or legacy."""

from __future__ import annotations

import pytest
import torch
from transformers import DynamicCache

from agents.llm.compat import cache_tensors
from agents.llm.scoring import select_cache_rows


def layer(batch: int, offset: float) -> tuple[torch.Tensor, torch.Tensor]:
    key = torch.arange(batch, dtype=torch.float32).view(batch, 1, 1, 1).expand(batch, 2, 3, 4) + offset
    return key.clone(), (key + 100).clone()  # (B, heads, L, head_dim)


def test_legacy_tuple_cache_rows_repeated():
    cache = (layer(3, 0.0), layer(3, 10.0))
    out = select_cache_rows(cache, torch.tensor([2, 0, 0]))
    assert out[0][0][:, 0, 0, 0].tolist() == [2.0, 0.0, 0.0]
    assert out[1][1][:, 0, 0, 0].tolist() == [112.0, 110.0, 110.0]


def test_dynamic_cache_rows_selected_in_place():
    cache = DynamicCache()
    for i, (k, v) in enumerate([layer(3, 0.0), layer(3, 10.0)]):
        cache.update(k, v, i)
    out = select_cache_rows(cache, torch.tensor([1, 1, 2]))
    assert out is cache
    keys = cache_tensors(cache)[1][0]  # layer 1's keys, read the same way in every transformers release
    assert keys[:, 0, 0, 0].tolist() == [11.0, 11.0, 12.0]


def test_unknown_cache_type():
    with pytest.raises(TypeError, match="unsupported KV cache type dict"):
        select_cache_rows({}, torch.tensor([0]))
