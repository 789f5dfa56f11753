"""A damaged config.json is named as such (issue 15: an empty one gave a misleading tokenizer/hub error)."""

from __future__ import annotations

import shutil

import pytest

from agents.llm.loading import load_model_and_tokenizer


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"config.json' is empty: the model folder is incomplete"),
        ("  \n", r"config.json' is empty"),
        ('{"model_type": "llama",', r"config.json' is not valid JSON \(Expecting .*line 1\)"),
        ("[1, 2]", r"config.json' is not a model config \(a JSON object\)"),
    ],
)
def test_a_damaged_config_json_is_named(tiny_llama, tmp_path, text, match):
    folder = tmp_path / "model"
    shutil.copytree(tiny_llama, folder)
    (folder / "config.json").write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        load_model_and_tokenizer(folder)
    assert str(folder / "config.json") in str(info.value) and "tokenizer" not in str(info.value)
