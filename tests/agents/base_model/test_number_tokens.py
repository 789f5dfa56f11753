"""Whole-number tokens and their value-carrying initial embeddings (issue 12's number lever)."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

from agents.base_model import BaseModelConfig, pretrain
from agents.base_model.data import tokenizer_corpus
from agents.base_model.number_embedding import (
    FEATURE_SCALE,
    NUMBER_FEATURES,
    init_number_embeddings,
    number_features,
    token_value,
)
from agents.base_model.pretrain import model_config
from agents.base_model.tokenizer import train_tokenizer, whole_numbers
from textrl_envs.bandit_text import format_reward


@pytest.fixture(scope="module")
def whole_tokenizer():
    return train_tokenizer(tokenizer_corpus(0, 200, 0.2), 3200, "whole")


def test_whole_numbers_are_the_rewards_as_the_env_writes_them() -> None:
    numbers = whole_numbers()
    assert len(numbers) == 1999 == len(set(numbers))
    assert numbers[0] == "-9.99" and numbers[-1] == "9.99" and "0" in numbers and "-0" not in numbers
    # the env's own formatting of every value on the grid is in the list
    assert {format_reward(c / 100) for c in range(-999, 1000)} == set(numbers)


def test_every_whole_number_is_one_token_and_text_round_trips(whole_tokenizer) -> None:
    def pieces(text: str) -> list[int]:
        return whole_tokenizer(text, add_special_tokens=False)["input_ids"]

    split = [n for n in whole_numbers() if len(pieces(n)) != 1]
    assert split == []
    text = "Step=12 Action=green Reward=-1.24\nMean = (1.41 + 0.17 + -0.1) / 3 = 0.49, x 12.34 1.234\n"
    ids = whole_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert whole_tokenizer.decode(ids) == text
    pieces = whole_tokenizer.convert_ids_to_tokens(ids)
    assert {"-1.24", "1.41", "0.17", "-0.1", "0.49"} <= set(pieces)
    assert "12" in pieces and ".34" in pieces  # two integer digits: the split pieces
    # a tic-tac-toe board stays one token per cell
    board = whole_tokenizer("102000000", add_special_tokens=False)["input_ids"]
    assert len(board) == 9


def test_split_tokenizer_still_cuts_rewards_in_two() -> None:
    tok = train_tokenizer(tokenizer_corpus(0, 200, 0.2), 1024)
    assert tok.convert_ids_to_tokens(tok("-1.24", add_special_tokens=False)["input_ids"]) == ["-1", ".24"]
    with pytest.raises(ValueError, match=r"number_tokens must be one of \['split', 'whole'\], got 'digits'"):
        train_tokenizer(["abc"], 1024, "digits")


def test_token_value_parses_numbers_only() -> None:
    assert token_value("-1.24") == -1.24 and token_value("3") == 3.0 and token_value("0.5") == 0.5
    for other in ("Ġ1", "1.", ".24", "12", "-10.5", "green", "1e3", ""):
        assert token_value(other) is None, other


def test_number_features_by_hand_and_the_parabola_peaks_at_any_value() -> None:
    f = number_features(2.0)
    assert f.shape == (NUMBER_FEATURES,)
    assert f[0].item() == pytest.approx(0.5) and f[1].item() == pytest.approx(0.25)
    assert f[2].item() == pytest.approx(torch.cos(torch.tensor(0.6)).item(), abs=1e-6)
    # a readout 2m * (v / 4) - (v / 4)^2 on the first two features is highest at the grid value nearest m
    values = torch.tensor([int(c) / 100 for c in range(-999, 1000)], dtype=torch.float64)
    feats = torch.stack([number_features(float(v)) for v in values]).double()
    for m in (-3.337, -0.004, 0.5, 2.718):
        logits = (2 * m / 4) * feats[:, 0] - feats[:, 1]
        assert values[int(logits.argmax())].item() == pytest.approx(round(m, 2))


def test_init_writes_values_into_number_tokens_and_leaves_the_rest(whole_tokenizer) -> None:
    config = BaseModelConfig(vocab_size=3200, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
                             number_tokens="whole", number_value_init=True)
    torch.manual_seed(0)
    plain = LlamaForCausalLM(model_config(config, whole_tokenizer))
    torch.manual_seed(0)
    model = LlamaForCausalLM(model_config(config, whole_tokenizer))
    count = init_number_embeddings(model, whole_tokenizer)
    assert count >= 1999  # the whole numbers and the integers -9 .. 9
    weight, before = model.get_input_embeddings().weight, plain.get_input_embeddings().weight
    ids = {t: whole_tokenizer.convert_tokens_to_ids(t) for t in ("-1.24", "0.4", "0.41", "green")}
    assert weight[ids["-1.24"], 0].item() == pytest.approx(FEATURE_SCALE * -1.24 / 4)
    assert weight[ids["0.41"], 0] > weight[ids["0.4"], 0] > weight[ids["-1.24"], 0]
    assert torch.equal(weight[ids["green"]], before[ids["green"]])
    assert torch.equal(weight[ids["0.4"], NUMBER_FEATURES:], before[ids["0.4"], NUMBER_FEATURES:])
    assert torch.equal(model.get_output_embeddings().weight, weight)  # tied: the readout sees them too
    changed = (weight != before).any(dim=1).sum().item()
    assert changed == count
    narrow = LlamaForCausalLM(model_config(config.replace(hidden_size=16, num_heads=2), whole_tokenizer))
    with pytest.raises(ValueError, match="number features need more than 16"):
        init_number_embeddings(narrow, whole_tokenizer)


def test_config_checks_the_number_fields() -> None:
    with pytest.raises(ValueError, match="number_tokens must be one of"):
        BaseModelConfig(number_tokens="digits")
    with pytest.raises(ValueError, match="number_value_init must be True or False"):
        BaseModelConfig(number_value_init=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs vocab_size >= 3200"):
        BaseModelConfig(number_tokens="whole", vocab_size=2048)


def test_pretrain_with_whole_numbers_saves_a_model_that_starts_from_the_values(tmp_path) -> None:
    config = BaseModelConfig(
        name="tiny-whole", vocab_size=3200, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
        steps=1, tokens_per_step=600, max_decisions=2, lr=1e-6, warmup_steps=1, tokenizer_docs=60,
        device="cpu", num_threads=1, number_tokens="whole", number_value_init=True,
    )
    out = pretrain(config, tmp_path / "m", progress=False)
    tok = AutoTokenizer.from_pretrained(str(out))
    model = AutoModelForCausalLM.from_pretrained(str(out))
    ids = tok("Reward=-1.24", add_special_tokens=False)["input_ids"]
    assert tok.convert_ids_to_tokens(ids)[-1] == "-1.24"
    weight = model.get_input_embeddings().weight
    # one step at lr 1e-6 barely moves the features
    two_and_a_half = weight[tok.convert_tokens_to_ids("2.5"), 0].item()
    assert two_and_a_half == pytest.approx(FEATURE_SCALE * 2.5 / 4, abs=1e-4)


def test_frozen_value_features_do_not_move_in_pretraining(tmp_path) -> None:
    config = BaseModelConfig(
        name="tiny-frozen", vocab_size=3200, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
        steps=3, tokens_per_step=600, max_decisions=2, lr=1e-2, warmup_steps=1, tokenizer_docs=60,
        device="cpu", num_threads=1, number_tokens="whole", number_value_init=True, number_value_scale=0.5,
        number_value_frozen=True, weight_decay=0.0,
    )
    out = pretrain(config, tmp_path / "m", progress=False)
    tok = AutoTokenizer.from_pretrained(str(out))
    weight = AutoModelForCausalLM.from_pretrained(str(out)).get_input_embeddings().weight
    two = tok.convert_tokens_to_ids("-2.5")
    expected = 0.5 * number_features(-2.5)
    assert torch.allclose(weight[two, :NUMBER_FEATURES], expected, atol=1e-6)  # frozen, exactly
    assert not torch.allclose(weight[two, NUMBER_FEATURES:], torch.zeros(32 - NUMBER_FEATURES), atol=1e-3)
    # the same run unfrozen moves them (lr 1e-2, three steps)
    moved = pretrain(config.replace(number_value_frozen=False), tmp_path / "u", progress=False)
    free = AutoModelForCausalLM.from_pretrained(str(moved)).get_input_embeddings().weight
    assert (free[two, :NUMBER_FEATURES] - expected).abs().max() > 1e-3


def test_config_checks_the_value_feature_fields() -> None:
    with pytest.raises(ValueError, match="number_value_frozen keeps the value features"):
        BaseModelConfig(number_value_frozen=True)
    with pytest.raises(ValueError, match="number_value_scale must be a number > 0, got 0"):
        BaseModelConfig(number_value_scale=0)
    with pytest.raises(ValueError, match="number_value_frozen must be True or False"):
        BaseModelConfig(number_value_frozen="yes")  # type: ignore[arg-type]
