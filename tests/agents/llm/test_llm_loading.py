"""load_model_and_tokenizer: local folders, dtype/device choice, pad-token fallback, clear errors."""

from __future__ import annotations

import huggingface_hub.constants
import pytest
import torch

from agents.llm import load_model_and_tokenizer
from agents.llm.loading import looks_like_path, resolve_dtype


def test_loads_folder_in_eval_mode_fp32_left_padded(tiny_llama):
    model, tokenizer = load_model_and_tokenizer(tiny_llama, device="cpu")
    assert not model.training
    assert next(model.parameters()).dtype == torch.float32
    assert next(model.parameters()).device.type == "cpu"
    assert tokenizer.padding_side == "left"
    assert tokenizer.pad_token == "<pad>"


def test_string_path_and_dtype_string(tiny_llama):
    model, _ = load_model_and_tokenizer(str(tiny_llama), device="cpu", dtype="bf16")
    assert next(model.parameters()).dtype == torch.bfloat16


def test_missing_pad_token_falls_back_to_eos(tiny_gpt2):
    model, tokenizer = load_model_and_tokenizer(tiny_gpt2, device="cpu")
    assert tokenizer.pad_token == tokenizer.eos_token == "</s>"
    assert model.generation_config.pad_token_id == tokenizer.eos_token_id


def test_default_dtype_is_bf16_on_cuda_fp32_on_cpu():
    assert resolve_dtype(None, torch.device("cuda")) == torch.bfloat16
    assert resolve_dtype(None, torch.device("cpu")) == torch.float32
    assert resolve_dtype(torch.float16, torch.device("cpu")) == torch.float16


def test_hub_ids_are_not_paths():
    assert not looks_like_path("google/gemma-2-2b-it")
    assert not looks_like_path("gpt2")
    assert looks_like_path("./model") and looks_like_path("/abs/model") and looks_like_path("a/b/c")


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*save_pretrained"):
        load_model_and_tokenizer(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model_and_tokenizer(str(tmp_path / "nope"))


def test_folder_without_config(tmp_path):
    (tmp_path / "weights.txt").write_text("not a model")
    with pytest.raises(ValueError, match="has no config.json"):
        load_model_and_tokenizer(tmp_path)


def test_file_instead_of_folder(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="is a file"):
        load_model_and_tokenizer(path)


def test_unknown_hub_id_offline(monkeypatch):
    # Offline mode makes the hub lookup fail at once (no network retries) with transformers' OSError.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OSError, match="could not load a causal LM from 'textrl-test/no-such-model'"):
        load_model_and_tokenizer("textrl-test/no-such-model")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dtype": "float8"}, ValueError, "dtype must be None, a torch.dtype or one of"),
        ({"device": "gpu0"}, ValueError, "device must be None, 'cpu', 'cuda'"),
    ],
)
def test_bad_dtype_or_device(tiny_llama, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_model_and_tokenizer(tiny_llama, **kwargs)


def test_name_must_be_str_or_path():
    with pytest.raises(TypeError, match="name_or_path must be a str or Path"):
        load_model_and_tokenizer(42)
