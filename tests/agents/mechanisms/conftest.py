"""Scripted agents with known answers, for the mechanism tests."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from agents.protocol import TextAgent
from textrl_envs.bandit import TextBanditEnv


class ByLabel(TextAgent):
    """Always answers one label (by name), whatever arm it is attached to."""

    name = "by-label"

    def __init__(self, label: str = "red") -> None:
        self.label = label
        self.calls: list[list[int]] = []  # env_ids of every act call

    def act(self, observations, infos, env_ids):
        self.calls.append(list(env_ids))
        return [f"I like {self.label}. ACTION={self.label}" for _ in env_ids]


class Planted(TextAgent):
    """Answers the planted texts in turn: call i of a turn returns ``plants[i % len(plants)]``."""

    name = "planted"

    def __init__(self, plants: list[str]) -> None:
        self.plants = plants
        self.call = 0

    def act(self, observations, infos, env_ids):
        text = self.plants[self.call % len(self.plants)]
        self.call += 1
        return [text for _ in env_ids]


class Reviser(TextAgent):
    """First answer ``first``; shown its first answer (self-correction), answers ``second``."""

    name = "reviser"

    def __init__(self, first: str = "ACTION=red", second: str = "On reflection, ACTION=blue") -> None:
        self.first, self.second = first, second
        self.prompts: list[str] = []

    def act(self, observations, infos, env_ids):
        self.prompts.extend(observations)
        revising = ["A first answer to this question was" in o for o in observations]
        return [self.second if r else self.first for r in revising]


def arm_means(seed: int, episode: int, **env_kwargs) -> np.ndarray:
    """The arm means the harness's episode ``(seed, episode)`` faces, from a fresh plain env."""
    return TextBanditEnv(**env_kwargs).reset(seed=seed * 100_000 + episode)[1]["arm_means"]


@pytest.fixture
def kit():
    """The helpers above (test modules cannot import a conftest under --import-mode=importlib)."""
    return SimpleNamespace(ByLabel=ByLabel, Planted=Planted, Reviser=Reviser, arm_means=arm_means)
