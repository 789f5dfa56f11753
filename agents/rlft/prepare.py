"""Everything a training run checks before it writes a byte: trackers, output folder, environment, model.

:func:`preflight` runs the cheap checks (the ``report_to`` packages, :func:`check_run_folder`, one
``gym.make`` of the environment); :func:`load_policy_model` then resolves and loads the model. Each
problem raises :class:`~agents.rlft.run_folder.SetupError` with one message, so ``textrl train`` can
print it and exit 2, and a failing command never deletes or overwrites a finished run's files.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from agents.rlft.checkpoint import complete_checkpoints
from agents.rlft.config import TRACKERS, RLFTConfig
from agents.rlft.run_folder import SetupError, check_run_folder

#: report_to name -> the package accelerate's tracker needs (each is an extra of the same name)
TRACKER_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb", "trackio": "trackio"}


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def resolve_trackers(config: RLFTConfig) -> list[str]:
    """The accelerate trackers ``report_to`` asks for: ``auto`` is TensorBoard when installed, ``all``
    every installed one of :data:`~agents.rlft.config.TRACKERS`.

    Raises:
        SetupError: a tracker named explicitly whose package is missing (with the install command).
    """
    if config.report_to == "none":
        return []
    if config.report_to == "auto":
        return ["tensorboard"] if installed(TRACKER_PACKAGES["tensorboard"]) else []
    if config.report_to == "all":
        return [name for name in TRACKERS if installed(TRACKER_PACKAGES[name])]
    for name in config.trackers:
        package = TRACKER_PACKAGES[name]
        if not installed(package):
            raise SetupError(
                f"report_to={name} needs the {package} package, which is not installed: "
                f"pip install 'textrl[{name}]' (or pip install {package}), or pass --report_to none"
            )
    return list(config.trackers)


def check_env(config: RLFTConfig) -> dict[str, Any]:
    """Make the environment once (then close it); return its resolved settings.

    Raises:
        SetupError: an unknown env id (listing the textrl ids) or a bad keyword argument.
    """
    import gymnasium as gym

    import textrl_envs

    try:
        gym.make(config.env_id, **config.env_kwargs).close()
    except gym.error.Error as error:  # NameNotFound, VersionNotFound, ...
        raise SetupError(
            f"env_id {config.env_id!r}: {error} (textrl's environments: {', '.join(textrl_envs.ENV_IDS)})"
        ) from None
    except (TypeError, ValueError) as error:
        raise SetupError(f"env_kwargs {config.env_kwargs} for {config.env_id}: {error}") from None
    return textrl_envs.env_settings(config.env_id, config.env_kwargs)


@dataclass(frozen=True)
class Preflight:
    """What the checks found: the trackers to start and the environment's resolved settings."""

    trackers: list[str]
    env_settings: dict[str, Any]


def preflight(config: RLFTConfig) -> Preflight:
    """The checks that need no model: trackers, output folder, environment (read-only)."""
    trackers = resolve_trackers(config)
    check_run_folder(config, lambda out: bool(complete_checkpoints(out)))
    return Preflight(trackers=trackers, env_settings=check_env(config))


def resolve_model_path(config: RLFTConfig) -> str:
    """``config.model``, or the embedded base model's folder (built once into the shared cache)."""
    if config.model is not None:
        return config.model
    from agents.base_model import ensure_base_model

    return str(ensure_base_model(config.base_model_size, progress=config.progress))


def load_policy_model(config: RLFTConfig) -> tuple[str, Any, Any]:
    """``(model path, model, tokenizer)`` on CPU in float32 (accelerate moves and casts later).

    Raises:
        SetupError: the model cannot be found or loaded (the message says what was looked for).
    """
    import torch

    from agents.llm.loading import load_model_and_tokenizer

    path = resolve_model_path(config)
    try:
        model, tokenizer = load_model_and_tokenizer(path, device="cpu", dtype=torch.float32)
    except (OSError, ValueError) as error:  # FileNotFoundError is an OSError
        raise SetupError(f"model {path!r}: {error}") from None
    return path, model, tokenizer
