"""Checkpoints: written synced and atomically; a damaged one is reported by file and the previous used."""

from __future__ import annotations

import json
import os

import pytest
import torch

from agents.rlft import checkpoint


def parts(seed=0):
    torch.manual_seed(seed)
    module = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(module.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (step + 1))
    return module, optimizer, scheduler


def train_steps(module, optimizer, scheduler, n):
    for _ in range(n):
        module(torch.ones(1, 2)).sum().backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()


@pytest.fixture
def two_checkpoints(tmp_path):
    """Checkpoints after steps 1 and 2 of one run, and the weights at each."""
    module, optimizer, scheduler = parts()
    weights = {}
    for step in (1, 2):
        train_steps(module, optimizer, scheduler, 1)
        checkpoint.save_checkpoint(tmp_path, step, module, optimizer, scheduler, {"config_hash": "run-a"})
        weights[step] = module.weight.detach().clone()
    return tmp_path, weights


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("model.safetensors", b"junk", "model.safetensors: SafetensorError"),
        ("optimizer.pt", b"junk", "optimizer.pt: "),
        ("scheduler.pt", b"", "scheduler.pt: "),
        ("rng_rank0.pt", b"junk", "rng_rank0.pt: "),
        ("state.json", b"", "state.json: JSONDecodeError"),
        ("state.json", b'{"update": 7}', "state.json: says update 7"),
    ],
)
def test_a_damaged_checkpoint_is_named_and_the_previous_one_restored(two_checkpoints, name, data, reason):
    """Issue 15, item 3: SafetensorError / "PytorchStreamReader failed" / JSONDecodeError without a file
    name, and no fallback."""
    out, weights = two_checkpoints
    bad = checkpoint.checkpoint_dir(out, 2)
    (bad / name).write_bytes(data)
    module, optimizer, scheduler = parts(seed=1)
    warnings = []
    path, state = checkpoint.load_latest_checkpoint(
        out, module, optimizer, scheduler, config_hash="run-a", warn=warnings.append
    )
    assert path == checkpoint.checkpoint_dir(out, 1) and state["update"] == 1
    assert torch.equal(module.weight, weights[1])
    assert optimizer.state_dict()["state"][0]["step"] == 1 and scheduler.last_epoch == 1
    assert len(warnings) == 1 and warnings[0].startswith(f"checkpoint {bad} cannot be restored ({bad / name}")
    assert reason in warnings[0]


def test_another_runs_checkpoint_is_not_adopted(two_checkpoints):
    out, _ = two_checkpoints
    module, optimizer, scheduler = parts()
    with pytest.raises(checkpoint.CheckpointError, match=r"no checkpoint of this run can be restored: .*"
                                                         r"written by another run \(config hash run-a, "
                                                         r"this run run-b\)"):
        checkpoint.load_latest_checkpoint(out, module, optimizer, scheduler, config_hash="run-b", warn=print)
    # a checkpoint from before config hashes were recorded is accepted
    state_file = checkpoint.checkpoint_dir(out, 2) / "state.json"
    state_file.write_text(json.dumps({"update": 2}))
    path, _ = checkpoint.load_latest_checkpoint(out, module, optimizer, scheduler, config_hash="run-b")
    assert path.name == "step_000002"


def test_no_checkpoint_at_all(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no complete checkpoint"):
        checkpoint.load_latest_checkpoint(tmp_path, *parts())


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names fds through /proc")
def test_checkpoint_files_reach_the_disk_before_the_rename(tmp_path, monkeypatch):
    """Issue 15, item 3: the save path never synced, so after a power loss state.json could be empty
    inside a folder already renamed into place."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
                        or real_fsync(fd))
    monkeypatch.setattr(checkpoint.os, "replace", lambda a, b: events.append(("replace", str(a)))
                        or real_replace(a, b))
    final = checkpoint.save_checkpoint(tmp_path, 3, *parts(), {"config_hash": "abc"})
    tmp = str(final.parent / ".tmp_step_000003")
    rename = events.index(("replace", tmp))
    synced = {path for kind, path in events[:rename] if kind == "fsync"}
    files = {"model.safetensors", "optimizer.pt", "scheduler.pt", "rng_rank0.pt", "state.json"}
    assert {f"{tmp}/{name}" for name in files} | {tmp} <= synced
    assert ("fsync", str(final.parent)) in events[rename:]  # the rename itself is synced
    assert sorted(p.name for p in final.iterdir()) == sorted(files)
