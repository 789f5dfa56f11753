"""What differs between the ``transformers`` versions textrl supports, in one place.

textrl runs its own decode loop, prefix cache and packed training forward, so it calls the model's
``forward`` with a KV cache directly. ``transformers`` renamed that argument over the years:

=====================  ==========================  ==============================  ====================
transformers           cache argument / output     logits of the last positions    empty cache
=====================  ==========================  ==============================  ====================
4.45 - 4.5x            ``past_key_values``         ``num_logits_to_keep`` (4.45)   ``DynamicCache()``
                                                   ``logits_to_keep`` (>= 4.50)
5.0 - 5.x              ``cache`` (5.2x;            ``logits_to_keep``              ``DynamicCache(
                       ``past_key_values`` is                                      config=...)``
                       deprecated, removed in 5.40)
=====================  ==========================  ==============================  ====================

Every call site asks this module instead of naming the argument, so no call of ours triggers a
deprecation warning, and a future release that drops the old name keeps working. The choice is read
from the model's own ``forward`` signature (through peft and DDP wrappers), so a model class that still
uses the old name (``trust_remote_code`` models) gets the old name.

The cache object is a ``transformers`` ``Cache`` (:func:`new_cache` passes an empty one in, so no
release hands back the legacy tuple format), except for model classes that predate cache objects.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any

import torch
import transformers
from packaging.version import Version
from transformers import DynamicCache
from transformers.modeling_outputs import CausalLMOutputWithPast

# Does this transformers release call the KV cache `cache` (5.2x+) rather than `past_key_values`?
LIBRARY_CACHE_NAME = "cache" if "cache" in CausalLMOutputWithPast.__dataclass_fields__ else "past_key_values"


# Cache layer classes whose tensors are the plain (B, heads, L, head_dim) keys / values of every position
# (subclasses such as quantised or indexed layers store something else, so they are named, not isinstance'd).
PLAIN_LAYERS = ("DynamicLayer", "DynamicSlidingWindowLayer")


def dtype_kwargs(dtype: torch.dtype) -> dict[str, torch.dtype]:
    """``from_pretrained``'s dtype argument: ``dtype`` since 4.56 (``torch_dtype`` is deprecated), before."""
    old = Version(transformers.__version__).release < (4, 56)
    return {"torch_dtype" if old else "dtype": dtype}


def unwrap_model(model: Any) -> Any:
    """The ``transformers`` model inside peft (``get_base_model``) and DDP (``.module``) wrappers."""
    for _ in range(8):
        base = getattr(model, "get_base_model", None)
        if callable(base):
            model = base()
            continue
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
            continue
        break
    return model


@functools.lru_cache(maxsize=64)
def _forward_parameters(model_class: type) -> Mapping[str, inspect.Parameter]:
    return inspect.signature(model_class.forward).parameters


def forward_parameters(model: Any) -> Mapping[str, inspect.Parameter]:
    """The parameters of the unwrapped model's ``forward`` (cached per model class)."""
    return _forward_parameters(type(unwrap_model(model)))


def cache_name(model: Any) -> str:
    """``"cache"`` or ``"past_key_values"``: the name this model's ``forward`` takes the KV cache under."""
    params = forward_parameters(model)
    for name in ("cache", "past_key_values"):
        if name in params:
            return name
    return LIBRARY_CACHE_NAME  # a forward(**kwargs) passes it on to a transformers model


def cache_kwargs(model: Any, cache: Any) -> dict[str, Any]:
    """``{name: cache}`` for ``model(**...)`` under the name :func:`cache_name` gives."""
    return {cache_name(model): cache}


def logits_kwargs(model: Any, n: int = 1) -> dict[str, int]:
    """Ask for the logits of the last ``n`` positions only (``{}`` when the model has no such option)."""
    params = forward_parameters(model)
    for name in ("logits_to_keep", "num_logits_to_keep"):
        if name in params:
            return {name: n}
    return {"logits_to_keep": n} if LIBRARY_CACHE_NAME == "cache" else {}


def output_cache(output: Any) -> Any:
    """The KV cache a forward returned (``output.cache`` in 5.2x+, ``output.past_key_values`` before)."""
    fields = getattr(output, "__dataclass_fields__", {})
    if "cache" in fields:
        return output.cache
    return output.past_key_values


def new_cache(model: Any) -> DynamicCache | None:
    """An empty ``DynamicCache`` laid out for ``model`` (per-layer types from its config where supported).

    ``None`` for a model class that predates cache objects (e.g. GPT-2 in transformers 4.45, which marks
    itself ``_supports_cache_class = False``): it then returns the legacy tuples, which
    :func:`repeat_rows` and ``agents.llm.scoring.select_cache_rows`` handle too.
    """
    if getattr(unwrap_model(model), "_supports_cache_class", True) is False:
        return None
    if "config" in inspect.signature(DynamicCache.__init__).parameters:
        return DynamicCache(config=unwrap_model(model).config)
    return DynamicCache()


def cache_tensors(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor] | None] | None:
    """Per layer, the ``(keys, values)`` tensors ``(B, heads, L, head_dim)`` of a dynamic cache.

    ``None`` for a layer that holds none yet; ``None`` overall for a cache of a kind whose stored tensors
    are not plain per-position keys and values (quantised, offloaded, linear-attention, static layers).
    """
    layers = getattr(cache, "layers", None)
    if layers is not None:  # transformers >= 4.56: one layer object per model layer
        out: list[tuple[torch.Tensor, torch.Tensor] | None] = []
        for layer in layers:
            if type(layer).__name__ not in PLAIN_LAYERS:
                return None
            keys = getattr(layer, "keys", None)
            if not isinstance(keys, torch.Tensor) or keys.numel() == 0:
                out.append(None)
            else:
                out.append((keys, layer.values))
        return out
    if type(cache) is DynamicCache and hasattr(cache, "key_cache"):  # older releases: a list per layer
        return [
            (k, v) if isinstance(k, torch.Tensor) and k.numel() > 0 else None
            for k, v in zip(cache.key_cache, cache.value_cache, strict=True)
        ]
    return None


def repeat_rows(cache: Any, repeats: int) -> Any:
    """Repeat every batch row ``repeats`` times (``repeat_interleave``): in place for a ``Cache``, rebuilt
    for the legacy tuple format."""
    if hasattr(cache, "batch_repeat_interleave"):
        cache.batch_repeat_interleave(repeats)
        return cache
    return tuple(tuple(t.repeat_interleave(repeats, dim=0) for t in layer) for layer in cache)


def set_layer(cache: DynamicCache, layer_idx: int, keys: torch.Tensor, values: torch.Tensor) -> None:
    """Store ``keys`` / ``values`` as layer ``layer_idx`` of an empty ``cache`` (the public ``update``)."""
    cache.update(keys, values, layer_idx)
