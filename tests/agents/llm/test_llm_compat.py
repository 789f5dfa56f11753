"""agents.llm.compat: the cache argument by name, legacy formats, and no deprecation warnings from us."""

from __future__ import annotations

import warnings

import torch
from transformers import DynamicCache

from agents.llm import LLMPolicy, compat
from agents.rlft.packing import pack_turns
from agents.rlft.value_head import tree_forward


class FakePeft(torch.nn.Module):
    """Stands in for a peft wrapper: forward(*args, **kwargs) and get_base_model()."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def get_base_model(self):
        return self.model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)


def test_the_cache_argument_is_read_from_the_model_forward(tiny_llama):
    policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu")
    model = policy.model
    assert compat.cache_name(model) == compat.LIBRARY_CACHE_NAME
    assert compat.cache_name(FakePeft(model)) == compat.LIBRARY_CACHE_NAME  # unwrapped first
    assert list(compat.logits_kwargs(model, 3).values()) == [3]

    class OldStyle(torch.nn.Module):
        def forward(self, input_ids=None, past_key_values=None, num_logits_to_keep=0):
            return None

    assert compat.cache_name(OldStyle()) == "past_key_values"
    assert compat.logits_kwargs(OldStyle(), 1) == {"num_logits_to_keep": 1}


def test_cache_tensors_and_repeat_rows_for_both_formats():
    keys = torch.arange(2.0).view(2, 1, 1, 1).expand(2, 1, 3, 2).clone()  # (B=2, heads, L, head_dim)
    cache = DynamicCache()
    compat.set_layer(cache, 0, keys, keys + 10)
    ((k, v),) = compat.cache_tensors(cache)
    assert torch.equal(k, keys) and torch.equal(v, keys + 10)
    repeated = compat.repeat_rows(cache, 2)
    assert compat.cache_tensors(repeated)[0][0][:, 0, 0, 0].tolist() == [0.0, 0.0, 1.0, 1.0]
    legacy = compat.repeat_rows(((keys, keys + 10),), 3)
    assert legacy[0][1][:, 0, 0, 0].tolist() == [10.0] * 3 + [11.0] * 3
    assert compat.cache_tensors(((keys, keys),)) is None  # legacy tuples are not stored by the prefix cache


def test_no_deprecation_warning_from_our_calls(tiny_chat):
    """Decoding with the prefix cache, scoring and the tree forward, with every warning recorded."""
    policy = LLMPolicy.from_pretrained(tiny_chat, device="cpu", max_new_tokens=4)
    prompts = ["Step=0 Action=red Reward=1\nWhat next?", "Step=0 Action=red Reward=1\nStep=1 Action=blue"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        policy.generate(prompts[:1], cache_keys=["a"])
        gen = policy.generate(prompts[1:], cache_keys=["a"])  # reuses the cached prefix
        policy.score(prompts, [["ACTION=red", "ACTION=blue"]] * 2)
        (seq,) = pack_turns(policy.encode_prompts(prompts), [[5, 6], gen.completion_ids[0]])
        tree_forward(policy.model, seq)
    assert policy.prefix_cache.reused_tokens > 0
    messages = [str(w.message) for w in caught if issubclass(w.category, (DeprecationWarning, FutureWarning))]
    assert not messages
