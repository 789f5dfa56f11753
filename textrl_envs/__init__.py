"""textrl_envs: Gymnasium text environments for LLM decision making (and their action extractor).

Importing the package registers the environments::

    import gymnasium as gym
    import textrl_envs  # noqa: F401  (or: gym.make("textrl_envs:TextBandit-v0"))

    env = gym.make("TextBandit-v0", n_arms=5, noise="low")
    obs, info = env.reset(seed=0)          # obs: the prompt text
    obs, reward, terminated, truncated, info = env.step("ACTION=red")

=============================  ===================================================
``TextBandit-v0``              :class:`textrl_envs.bandit.TextBanditEnv`
``TextContextualBandit-v0``    :class:`textrl_envs.contextual_bandit.TextContextualBanditEnv`
``TextTicTacToe-v0``           :class:`textrl_envs.tictactoe.TextTicTacToeEnv`
=============================  ===================================================

Each id is registered with every keyword and its default, so ``gym.spec("TextBandit-v0").kwargs``
lists the options; :func:`env_settings` resolves a run's settings (defaults plus what it passed).

This package does not import torch.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import register, registry

from textrl_envs.bandit_text import render_bandit_prompt
from textrl_envs.extraction import Extraction, extract_action

ENV_IDS: tuple[str, ...] = ("TextBandit-v0", "TextContextualBandit-v0", "TextTicTacToe-v0")

_ENTRY_POINTS = {
    "TextBandit-v0": "textrl_envs.bandit:TextBanditEnv",
    "TextContextualBandit-v0": "textrl_envs.contextual_bandit:TextContextualBanditEnv",
    "TextTicTacToe-v0": "textrl_envs.tictactoe:TextTicTacToeEnv",
}



def default_kwargs(entry_point: str) -> dict[str, Any]:
    """The keyword arguments of an environment class with their defaults (``render_mode`` left out:
    ``gym.make`` handles it apart)."""
    module_name, class_name = entry_point.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.default is not p.empty and p.name != "render_mode"}


for _env_id, _entry_point in _ENTRY_POINTS.items():
    if _env_id not in registry:  # importing twice (e.g. importlib test mode) must not warn
        # No max_episode_steps: the episode length is part of each task (bandit horizon, game end).
        register(id=_env_id, entry_point=_entry_point, kwargs=default_kwargs(_entry_point))


def env_settings(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every keyword of ``env_id`` with the value a run used: the registered defaults, then ``env_kwargs``.

    ``env_settings("TextBandit-v0", {"horizon": 10})`` gives ``{"n_arms": 10, ..., "horizon": 10, ...}``.
    An id that is not registered gives ``env_kwargs`` unchanged (nothing is known about its defaults);
    ``"textrl_envs:TextBandit-v0"`` works like ``"TextBandit-v0"``.
    """
    given = dict(env_kwargs or {})
    bare = env_id.split(":", 1)[1] if ":" in env_id else env_id
    if bare not in registry:
        return given
    return {**gym.spec(bare).kwargs, **given}


__all__ = [
    "ENV_IDS", "Extraction", "default_kwargs", "env_settings", "extract_action", "render_bandit_prompt",
]
