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

This package does not import torch.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from textrl_envs.bandit_text import render_bandit_prompt
from textrl_envs.extraction import Extraction, extract_action

ENV_IDS: tuple[str, ...] = ("TextBandit-v0", "TextContextualBandit-v0", "TextTicTacToe-v0")

_ENTRY_POINTS = {
    "TextBandit-v0": "textrl_envs.bandit:TextBanditEnv",
    "TextContextualBandit-v0": "textrl_envs.contextual_bandit:TextContextualBanditEnv",
    "TextTicTacToe-v0": "textrl_envs.tictactoe:TextTicTacToeEnv",
}

for _env_id, _entry_point in _ENTRY_POINTS.items():
    if _env_id not in registry:  # importing twice (e.g. importlib test mode) must not warn
        # No max_episode_steps: the episode length is part of each task (bandit horizon, game end).
        register(id=_env_id, entry_point=_entry_point)

__all__ = ["ENV_IDS", "Extraction", "extract_action", "render_bandit_prompt"]
