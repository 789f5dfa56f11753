"""Two processes asking for the same embedded model build it once (issue 15: no lock on the cache)."""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

import pytest

import agents.base_model.cache as cache_module


def fake_pretrain(size, folder, **kwargs):
    """Stands in for pretraining: records the call, takes long enough for the other process to ask."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder.parent / "builds.log").open("a") as log:
        log.write(f"{size}\n")
    time.sleep(1.0)
    (folder / "config.json").write_text("{}")
    return folder


def ask(cache_dir, results):
    results.put(str(cache_module.ensure_base_model("quick", cache_dir=cache_dir, progress=True)))


@pytest.mark.skipif(sys.platform == "win32", reason="the lock uses fcntl")
def test_two_processes_build_the_model_once(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "pretrain", fake_pretrain)
    context = multiprocessing.get_context("fork")  # the children inherit the fake pretrain
    results = context.Queue()
    workers = [context.Process(target=ask, args=(tmp_path, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    folders = {results.get(timeout=5) for _ in workers}
    assert folders == {str(cache_module.base_model_dir("quick", tmp_path))}
    assert (tmp_path / "builds.log").read_text() == "quick\n"  # one build, the other process waited
    assert (Path(folders.pop()) / cache_module.COMPLETE_MARKER).is_file()


def test_a_built_model_is_returned_without_taking_the_lock(tmp_path, monkeypatch):
    folder = cache_module.base_model_dir("quick", tmp_path)
    folder.mkdir(parents=True)
    (folder / cache_module.COMPLETE_MARKER).write_text("{}")
    monkeypatch.setattr(cache_module, "build_lock", None)  # would fail if used
    assert cache_module.ensure_base_model("quick", cache_dir=tmp_path) == folder
