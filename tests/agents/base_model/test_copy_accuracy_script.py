"""scripts/copy_accuracy.py scores a model that sees the answer as perfect and a constant one as 0."""

from __future__ import annotations

import re
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
        assert s["value"] == s["first"] == s["rest"] == s["choice"] == 1.0
        assert 0.0 < s["first_majority"] <= 1.0
    blind = script.copy_accuracy(_Constant(vocab, tokenizer.eos_token_id), tokenizer, prompts=prompts, n=5,
                                 ks=(4,))
    assert blind[4]["value"] == blind[4]["first"] == blind[4]["choice"] == 0.0


class _RuleFollower:
    """Reads the prompt's history lines and names, after ``Exploit "``, the arm of one rule."""

    def __init__(self, tokenizer, rule: str) -> None:
        self.tokenizer, self.rule = tokenizer, rule

    def __call__(self, ids: torch.Tensor) -> SimpleNamespace:
        text = self.tokenizer.decode(ids[0].tolist())
        lines = re.findall(r"^Step=\d+ Action=(\S+) Reward=(\S+)$", text, re.M)
        rewards: dict[str, list[float]] = {}
        for name, reward in lines:
            rewards.setdefault(name, []).append(float(reward))
        arm = {
            "best_mean": max(rewards, key=lambda n: sum(rewards[n]) / len(rewards[n])),
            "most_pulled": max(rewards, key=lambda n: len(rewards[n])),
            "last": lines[-1][0],
        }[self.rule]
        logits = torch.zeros(1, ids.shape[1], len(self.tokenizer))
        logits[0, -1, self.tokenizer(arm, add_special_tokens=False)["input_ids"][0]] = 1.0
        return SimpleNamespace(logits=logits)


@pytest.mark.parametrize("prompts", ["bare", "full"])
@pytest.mark.parametrize("rule", ["best_mean", "most_pulled", "last"])
def test_choice_rules_credit_only_the_rule_a_model_follows(script, tokenizer, prompts, rule):
    # the four rules name four different arms on every prompt, so a model following one scores n there
    # and 0 elsewhere
    hits = script.choice_rules(_RuleFollower(tokenizer, rule), tokenizer, prompts=prompts, n=12)
    assert hits == {**dict.fromkeys(script.RULES, 0), rule: 12, "prompts": 12}


def test_a_running_max_model_is_refused_with_a_pointer(script, tmp_path, capsys):
    # its pretrain_info.json says it writes running-max lines: the list-format scores would mislead
    (tmp_path / "pretrain_info.json").write_text('{"config": {"means_format": "running_max"}}')
    with pytest.raises(SystemExit):
        script.main(["--model", str(tmp_path)])
    assert "means_format='running_max'" in capsys.readouterr().err


def test_label_order_histories_and_the_name_a_model_prefers(script, tokenizer):
    # label order: the oracle still chooses right; a model that always says "green" is reported as
    # naming green in every prompt, and is right only where green is the best of red, green, blue
    vocab = len(tokenizer)
    perfect = script.copy_accuracy(_Oracle(vocab), tokenizer, prompts="full", n=6, ks=(3,), order="label")
    assert perfect[3]["choice"] == 1.0 and perfect[3]["top_choice_share"] >= 1 / 6
    green = tokenizer("green", add_special_tokens=False)["input_ids"][0]
    fixed = script.copy_accuracy(_Constant(vocab, green), tokenizer, prompts="full", n=30, ks=(3,),
                                 order="label")
    assert fixed[3]["top_choice"] == "green" and fixed[3]["top_choice_share"] == 1.0
    # right where green is the best of three: Binomial(30, 1/3) / 30, sd 0.086; a 3-sd band
    assert abs(fixed[3]["choice"] - 1 / 3) < 3 * 0.086
    with pytest.raises(ValueError, match="order must be"):
        script.copy_accuracy(_Oracle(vocab), tokenizer, prompts="full", n=1, order="sorted")
