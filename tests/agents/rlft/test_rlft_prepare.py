"""Trackers from report_to: accelerate tracker names, or a message saying what to install."""

from __future__ import annotations

import pytest

from agents.rlft import prepare
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
