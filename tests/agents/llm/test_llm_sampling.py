"""Decoding-step functions against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from agents.llm.sampling import check_sampling_args, next_tokens, top_p_filter


def test_top_p_keeps_smallest_nucleus():
    probs = torch.tensor([[0.1, 0.5, 0.3, 0.1]])
    logits = probs.log()
    # Sorted: 0.5, 0.3, 0.1, 0.1 -> mass before each: 0, 0.5, 0.8, 0.9.
    kept = torch.isfinite(top_p_filter(logits, 0.75))
    assert kept.tolist() == [[False, True, True, False]]
    kept = torch.isfinite(top_p_filter(logits, 0.5))
    assert kept.tolist() == [[False, True, False, False]]
    kept = torch.isfinite(top_p_filter(logits, 0.05))  # the top token always survives
    assert kept.tolist() == [[False, True, False, False]]
    assert torch.equal(top_p_filter(logits, 1.0), logits)


def test_greedy_picks_argmax_with_raw_logprob():
    logits = torch.tensor([[1.0, 3.0, 2.0], [0.0, 0.0, -1.0]])
    tokens, logprobs = next_tokens(logits, temperature=0.0, top_p=1.0, generator=None)
    assert tokens.tolist() == [1, 0]  # ties go to the lowest id
    z0 = math.log(math.exp(1) + math.exp(3) + math.exp(2))
    z1 = math.log(2 + math.exp(-1))
    assert logprobs.tolist() == pytest.approx([3 - z0, 0 - z1], abs=1e-6)


def test_sampled_logprob_uses_temperature_before_top_p():
    logits = torch.tensor([[2.0, 1.0, 0.0]])
    gen = torch.Generator().manual_seed(0)
    tokens, logprobs = next_tokens(logits, temperature=0.5, top_p=0.5, generator=gen)
    # At T = 0.5 the probabilities are softmax([4, 2, 0]) = (0.867, 0.117, 0.016): top-p 0.5 keeps token 0.
    assert tokens.tolist() == [0]
    expected = 4 - math.log(math.exp(4) + math.exp(2) + 1)
    assert logprobs.item() == pytest.approx(expected, abs=1e-6)


def test_sampling_frequencies_match_softmax():
    logits = torch.tensor([1.0, 0.0, -1.0, 0.5]).repeat(20_000, 1)  # (N, V)
    gen = torch.Generator().manual_seed(1)
    tokens, _ = next_tokens(logits, temperature=2.0, top_p=1.0, generator=gen)
    freq = torch.bincount(tokens, minlength=4).double() / tokens.numel()
    expected = torch.softmax(logits[0].double() / 2.0, dim=-1)
    # Standard error <= sqrt(0.25 / 20000) = 0.0035; 0.02 is more than 5 standard errors.
    assert torch.allclose(freq, expected, atol=0.02)


def test_top_p_sampling_never_leaves_nucleus():
    logits = torch.tensor([3.0, 2.9, 0.0, -1.0]).repeat(5_000, 1)
    gen = torch.Generator().manual_seed(2)
    tokens, _ = next_tokens(logits, temperature=1.0, top_p=0.9, generator=gen)
    assert set(tokens.tolist()) == {0, 1}


def test_same_generator_seed_same_tokens():
    logits = torch.randn(64, 50, generator=torch.Generator().manual_seed(3))
    a, _ = next_tokens(logits, temperature=1.0, top_p=0.95, generator=torch.Generator().manual_seed(7))
    b, _ = next_tokens(logits, temperature=1.0, top_p=0.95, generator=torch.Generator().manual_seed(7))
    c, _ = next_tokens(logits, temperature=1.0, top_p=0.95, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-0.1, 1.0, 8), "temperature must be a number >= 0"),
        (("hot", 1.0, 8), "temperature must be a number >= 0"),
        ((1.0, 0.0, 8), r"top_p must be a number in \(0, 1\]"),
        ((1.0, 1.5, 8), r"top_p must be a number in \(0, 1\]"),
        ((1.0, 1.0, 0), "max_new_tokens must be an int >= 1"),
        ((1.0, 1.0, 2.5), "max_new_tokens must be an int >= 1"),
    ],
)
def test_bad_sampling_args(args, match):
    with pytest.raises(ValueError, match=match):
        check_sampling_args(*args)
