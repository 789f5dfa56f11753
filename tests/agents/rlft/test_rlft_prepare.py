"""Trackers from report_to, and the synced, atomic checkpoint write."""

from __future__ import annotations

import os

import pytest
import torch

from agents.rlft import checkpoint, prepare
from agents.rlft.config import RLFTConfig
from agents.rlft.run_folder import SetupError


@pytest.mark.parametrize(
    ("report_to", "installed", "expected"),
    [
        ("auto", {"tensorboard"}, ["tensorboard"]),
        ("auto", set(), []),
        ("all", {"wandb", "trackio"}, ["wandb", "trackio"]),
        ("none", {"tensorboard", "wandb", "trackio"}, []),
        ("wandb,tensorboard", {"wandb", "tensorboard"}, ["wandb", "tensorboard"]),
    ],
)
def test_report_to_resolves_to_accelerate_trackers(monkeypatch, report_to, installed, expected):
    monkeypatch.setattr(prepare, "installed", lambda package: package in installed)
    assert prepare.resolve_trackers(RLFTConfig(report_to=report_to)) == expected


@pytest.mark.parametrize("name", ["tensorboard", "wandb", "trackio"])
def test_a_missing_tracker_package_says_how_to_install_it(monkeypatch, name):
    monkeypatch.setattr(prepare, "installed", lambda package: False)
    match = rf"report_to={name} needs the {name} package, which is not installed: pip install 'textrl\[{name}"
    with pytest.raises(SetupError, match=match):
        prepare.resolve_trackers(RLFTConfig(report_to=name))


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
    module = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    final = checkpoint.save_checkpoint(tmp_path, 3, module, optimizer, scheduler, {"config_hash": "abc"})
    tmp = str(final.parent / ".tmp_step_000003")
    rename = events.index(("replace", tmp))
    synced = {path for kind, path in events[:rename] if kind == "fsync"}
    files = {"model.safetensors", "optimizer.pt", "scheduler.pt", "rng_rank0.pt", "state.json"}
    assert {f"{tmp}/{name}" for name in files} | {tmp} <= synced
    assert ("fsync", str(final.parent)) in events[rename:]  # the rename itself is synced
    assert sorted(p.name for p in final.iterdir()) == sorted(files)
