"""Run folders: parquet and CSV round trips, summary/run files, atomic writes, errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from agents.evaluation import evaluate, load_steps, write_run
from agents.evaluation.io import atomic_write
from agents.registry import make_agent


@pytest.fixture(scope="module")
def bandit_steps():
    steps = evaluate(
        "TextBandit-v0",
        make_agent("ucb-paper", seed=0),
        num_envs=3,
        seeds=[0, 1],
        env_kwargs={"n_arms": 3, "horizon": 6},
        progress=False,
    )
    # awkward answers a CSV must survive: commas, quotes, newlines, "NA", empty text
    steps.loc[0, "action_text"] = 'a, "quoted"\nACTION=red'
    steps.loc[1, "action_text"] = "NA"
    steps.loc[2, "action_text"] = ""
    return steps


@pytest.fixture(scope="module")
def tictactoe_steps():
    return evaluate(
        "TextTicTacToe-v0",
        make_agent("random", seed=0),
        num_envs=4,
        seeds=[0],
        env_kwargs={"opponent": "minimax"},
        progress=False,
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("which", ["bandit_steps", "tictactoe_steps"])
def test_round_trip(fmt, which, request, tmp_path):
    steps = request.getfixturevalue(which)
    out = write_run(steps, tmp_path / "run", fmt=fmt, meta={"agent": "x", "seeds": [0, 1]})
    assert (out / f"steps.{fmt}").is_file()
    pd.testing.assert_frame_equal(load_steps(out), steps)
    pd.testing.assert_frame_equal(load_steps(out / f"steps.{fmt}"), steps)
    # no env_kwargs given: the settings are unknown, so none are recorded (never guessed as defaults)
    assert json.loads((out / "run.json").read_text()) == {"agent": "x", "seeds": [0, 1]}
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary) == 1 and summary[0]["episodes"] == steps.groupby(["seed", "episode"]).ngroups
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_summary_json_matches_summarize_steps_and_nan_becomes_null(bandit_steps, tmp_path):
    one_episode = bandit_steps[(bandit_steps.seed == 0) & (bandit_steps.episode == 0)]
    write_run(one_episode, tmp_path)
    record = json.loads((tmp_path / "summary.json").read_text())[0]
    assert record["cum_regret_mean"] == pytest.approx(one_episode.regret.sum())
    assert record["cum_regret_ci_low"] is None  # one episode: no interval (NaN -> null)


def test_switching_format_removes_the_stale_log(bandit_steps, tmp_path):
    write_run(bandit_steps, tmp_path, fmt="csv")
    write_run(bandit_steps, tmp_path, fmt="parquet")
    assert not (tmp_path / "steps.csv").exists() and (tmp_path / "steps.parquet").exists()


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")

    def failing(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, failing)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_errors(bandit_steps, tmp_path):
    with pytest.raises(ValueError, match=r"fmt must be one of \('parquet', 'csv'\)"):
        write_run(bandit_steps, tmp_path, fmt="json")
    with pytest.raises(TypeError, match="steps must be a pandas DataFrame"):
        write_run([1, 2], tmp_path)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a folder"):
        write_run(bandit_steps, tmp_path / "afile")
    with pytest.raises(FileNotFoundError, match="run folder .* does not exist"):
        load_steps(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no steps.parquet or steps.csv in run folder"):
        load_steps(tmp_path / "empty")
    with pytest.raises(ValueError, match="a step log is a .parquet or .csv file"):
        load_steps(tmp_path / "afile")


def test_env_settings_recorded_from_env_kwargs(bandit_steps, tmp_path):
    import textrl_envs

    out = write_run(bandit_steps, tmp_path / "run", meta={"env_kwargs": {"n_arms": 3, "horizon": 6}})
    expected = textrl_envs.env_settings("TextBandit-v0", {"n_arms": 3, "horizon": 6})
    assert expected["horizon"] == 6 and expected["noise"] == "medium"  # a default filled in
    assert json.loads((out / "run.json").read_text())["env_settings"] == {"TextBandit-v0": expected}
    assert json.loads((out / "summary.json").read_text())[0]["env_settings"] == expected


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self/fd"), reason="names fds through /proc")
def test_atomic_write_syncs_file_and_folder(tmp_path, monkeypatch):
    """Issue 15: data reaches the disk before the rename, the rename before returning."""
    import os

    from agents.evaluation import io

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(io.os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}"))
                        or real_fsync(fd))
    atomic_write(tmp_path / "a.txt", lambda tmp: tmp.write_text("x"))
    assert len(synced) == 2 and synced[0].startswith(str(tmp_path / ".a.txt.")) and synced[1] == str(tmp_path)


def test_model_fingerprint_changes_with_the_weights_not_the_path(tmp_path) -> None:
    import hashlib

    from agents.evaluation.io import model_fingerprint

    assert model_fingerprint("org/some-model") == {"model": "org/some-model"}  # a hub id: its name
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights v1")
    (folder / "notes.bin").write_bytes(b"ignored")
    first = model_fingerprint(str(folder))
    assert first == {"model": str(folder), "files": {
        "config.json": hashlib.sha256(b"{}").hexdigest(),
        "model.safetensors": hashlib.sha256(b"weights v1").hexdigest(),
    }}
    (folder / "model.safetensors").write_bytes(b"weights v2")  # same folder, new weights (a new ship)
    assert model_fingerprint(str(folder)) != first
