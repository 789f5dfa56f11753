"""scripts/copy_accuracy.py scores a model that sees the answer as perfect and a constant one as 0."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from agents.base_model.data import tokenizer_corpus
from agents.base_model.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("copy_accuracy")


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(tokenizer_corpus(0, 200, 0.2), 1024)


class _Oracle:
    """Predicts, at every position, the token that actually comes next (it reads the answer)."""

    def __init__(self, vocab: int) -> None:
        self.vocab = vocab

    def __call__(self, ids: torch.Tensor) -> SimpleNamespace:
        logits = torch.zeros(1, ids.shape[1], self.vocab)
        logits[0, torch.arange(ids.shape[1] - 1), ids[0, 1:]] = 1.0
        return SimpleNamespace(logits=logits)


class _Constant:
    def __init__(self, vocab: int, token: int) -> None:
        self.vocab, self.token = vocab, token

    def __call__(self, ids: torch.Tensor) -> SimpleNamespace:
        logits = torch.zeros(1, ids.shape[1], self.vocab)
        logits[..., self.token] = 1.0
        return SimpleNamespace(logits=logits)


@pytest.mark.parametrize("prompts", ["bare", "full"])
def test_oracle_scores_everything_and_constant_nothing(script, tokenizer, prompts):
    vocab = len(tokenizer)
    perfect = script.copy_accuracy(_Oracle(vocab), tokenizer, prompts=prompts, n=5, ks=(3, 5))
    assert set(perfect) == {3, 5}
    assert perfect[3]["values"] == 15 and perfect[5]["values"] == 25  # k values per prompt
    for s in perfect.values():
        assert s["value"] == s["first"] == s["rest"] == 1.0
        assert 0.0 < s["first_majority"] <= 1.0
    blind = script.copy_accuracy(_Constant(vocab, tokenizer.eos_token_id), tokenizer, prompts=prompts, n=5,
                                 ks=(4,))
    assert blind[4]["value"] == blind[4]["first"] == 0.0
