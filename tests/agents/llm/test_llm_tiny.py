"""make_tiny_model: a real from_pretrained-loadable model and tokenizer, fast and seeded."""

from __future__ import annotations

import time

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from agents.llm.tiny import ASSISTANT_MARK, USER_MARK, build_tokenizer, make_tiny_model, sample_texts


def test_saved_with_safetensors_and_loads_back(tmp_path):
    start = time.perf_counter()
    folder = make_tiny_model(tmp_path / "m", chat_template=True)
    assert time.perf_counter() - start < 2.0
    files = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= files
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in files)
    model = AutoModelForCausalLM.from_pretrained(folder, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert model.config.vocab_size == len(tokenizer)
    assert tokenizer.pad_token == "<pad>" and tokenizer.eos_token == "</s>" and tokenizer.bos_token == "<s>"
    assert tokenizer.chat_template and ASSISTANT_MARK in tokenizer.chat_template
    logits = model(torch.tensor([[1, 5, 6]])).logits
    assert logits.shape == (1, 3, len(tokenizer))


def test_same_seed_same_weights_other_seed_differs(tmp_path):
    a = AutoModelForCausalLM.from_pretrained(make_tiny_model(tmp_path / "a", seed=3))
    b = AutoModelForCausalLM.from_pretrained(make_tiny_model(tmp_path / "b", seed=3))
    c = AutoModelForCausalLM.from_pretrained(make_tiny_model(tmp_path / "c", seed=4))
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb), name
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True))


def test_global_rng_untouched(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_tiny_model(tmp_path / "m", seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_byte_level_tokenizer_round_trips_any_text():
    tok = build_tokenizer(sample_texts(), vocab_size=300)
    for text in ["ACTION=red", "Zürich ✓ {weird} \t tabs\nnewlines", "Step=7 Action=purple Reward=-1.25"]:
        ids = tok(text)["input_ids"]
        assert ids[0] == tok.bos_token_id
        assert tok.decode(ids, skip_special_tokens=True) == text


def test_extra_vocab_texts_are_learned(tmp_path):
    folder = make_tiny_model(tmp_path / "m", vocab_texts=["zzqqxx " * 50])
    tok = AutoTokenizer.from_pretrained(folder)
    assert len(tok("zzqqxx", add_special_tokens=False)["input_ids"]) == 1


def test_chat_template_markers_are_single_tokens(tmp_path):
    tok = AutoTokenizer.from_pretrained(make_tiny_model(tmp_path / "m", chat_template=True))
    text = tok.apply_chat_template(
        [{"role": "user", "content": "x"}], add_generation_prompt=True, tokenize=False
    )
    assert text == f"<s>{USER_MARK}\nx</s>\n{ASSISTANT_MARK}\n"
    assert len(tok(ASSISTANT_MARK, add_special_tokens=False)["input_ids"]) == 1


def test_gpt2_variant_without_pad_token(tmp_path):
    folder = make_tiny_model(tmp_path / "g", architecture="gpt2", pad_token=False)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert type(model).__name__ == "GPT2LMHeadModel"
    assert AutoTokenizer.from_pretrained(folder).pad_token is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"architecture": "mamba"}, "architecture must be one of"),
        ({"hidden_size": 30, "num_heads": 4}, "divisible by num_heads"),
        ({"vocab_size": 100}, "vocab_size must be at least 261"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_tiny_model(tmp_path / "m", **kwargs)
