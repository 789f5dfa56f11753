"""The one configuration of an RL fine-tuning run: a validated dataclass, YAML, command-line overrides.

Load a YAML file and override single fields::

    cfg = load_config("configs/bandit_tiny.yaml", {"kl_coef": 0.1})

or from the command line (``textrl train --config configs/bandit_tiny.yaml --kl_coef 0.1``; dashes
and underscores are both accepted). Values given as strings (from the command line) are parsed as
YAML scalars, so ``0.1`` is a float, ``null`` is ``None`` and ``[1, 2]`` a list.

Defaults follow the paper (SPEC, "RL fine-tuning") where they fit a CPU: clip 0.2, KL coefficient
0.05 with a per-token estimator, temperature 1 while training and greedy evaluation, warm-up then
cosine decay to 1e-6, gradient clipping 1.0, Monte Carlo returns with a baseline for bandits and a
value head with GAE for tic-tac-toe.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.rlft.advantages import BASELINES
from agents.rlft.losses import KL_ESTIMATORS

ADVANTAGES = ("auto", "gae", *BASELINES)
OPTIMIZERS = ("adamw", "adafactor")
KL_IN = ("loss", "reward")
MIXED_PRECISION = ("auto", "no", "bf16")
LOG_WITH = ("auto", "none", "tensorboard")
BASE_MODEL_SIZES = ("default", "quick")
PACKING = ("tree", "mask", "none")


@dataclass
class RLFTConfig:
    """Every knob of :func:`agents.rlft.trainer.train`, validated on construction.

    Environment and model:
        env_id: registered textrl environment (``TextBandit-v0``, ``TextContextualBandit-v0``,
            ``TextTicTacToe-v0``). env_kwargs: keyword arguments for ``gym.make`` (e.g.
            ``{"num_arms": 10, "noise": "medium"}``; the env's ``invalid_action_penalty`` -5 lives here).
        model: hub id or folder of the policy; ``None`` uses the embedded base model of size
            ``base_model_size`` (``"default"`` or ``"quick"``).
        out: output folder (metrics.jsonl, checkpoints/, final_model/, eval/).
        seed: seeds environments, sampling and initialisation; the whole run is a function of it.

    Rollouts:
        total_updates: number of rollout + update iterations.
        num_envs: environments stepped in parallel per process (the paper: 16).
        episodes_per_env: whole episodes each environment plays per rollout (tic-tac-toe games are
            short: several per rollout).
        max_new_tokens, temperature, top_p: sampling while collecting (temperature 1 in the paper).
        exploration_bonus: reward added to a turn whose executed action was not tried before in the
            episode (the paper's bonus is +1; 0 disables it).

    Objective:
        clip_eps: PPO clip range. kl_coef: beta of the KL to the frozen reference model.
        kl_estimator: ``"k1"``, ``"k2"`` or ``"k3"`` per-token estimator. kl_in: ``"loss"`` adds
            ``beta * KL`` to the loss; ``"reward"`` subtracts ``beta * sum(k1)`` of a turn from its reward.
        advantage: ``"mc"`` (Monte Carlo rewards-to-go minus the per-step mean), ``"loo"``
            (leave-one-out), ``"grpo"`` (group-relative), ``"gae"`` (value head + GAE), or ``"auto"``
            (``"gae"`` for tic-tac-toe, ``"mc"`` otherwise).
        gamma, gae_lambda: discount and GAE lambda. value_coef, value_clip: value-loss weight and clip.
        normalize_advantages: divide advantages by their standard deviation over the rollout (the
            reward normalisation that keeps the -5 penalty from dominating the update size).

    Optimisation:
        optimizer: ``"adamw"`` or ``"adafactor"``; learning_rate, min_learning_rate (cosine floor),
        warmup_steps (linear warm-up in optimizer steps), weight_decay, max_grad_norm.
        epochs: passes over each rollout. num_minibatches: optimizer steps per epoch.
        micro_batch_episodes: episodes per forward/backward (gradients accumulate over a minibatch).
        packing: how an episode's turns are scored (all exact, see packing.py): ``"tree"`` (default;
            the shared prefix once, then every turn's branch as a batch on its KV cache), ``"mask"``
            (one packed sequence with a dense 4-D mask) or ``"none"`` (one sequence per turn).

    Evaluation, checkpoints, logging:
        eval_every: greedy evaluation every N updates (0: only at the end); eval_seeds, eval_num_envs:
            the held-out evaluation (the tidy step log of ``textrl evaluate``); eval_at_start and
            eval_at_end: also evaluate before the first and after the last update.
        checkpoint_every: atomic checkpoint every N updates (0: only at the end). resume: continue
            from the last checkpoint in ``out``.
        max_nonfinite_updates: stop after this many non-finite losses in a row.
        lora, lora_r, lora_alpha, lora_dropout, lora_target_modules: optional LoRA through peft.
        mixed_precision: ``"auto"`` (bf16 on a GPU, fp32 on CPU), ``"no"`` or ``"bf16"``.
        log_with: ``"auto"`` (TensorBoard when installed), ``"none"`` or ``"tensorboard"``.
        progress: show a tqdm bar. threads: torch CPU threads (None leaves torch's default).
    """

    env_id: str = "TextBandit-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    base_model_size: str = "default"
    out: str = "runs/rlft"
    seed: int = 0

    total_updates: int = 100
    num_envs: int = 16
    episodes_per_env: int = 1
    max_new_tokens: int = 32
    temperature: float = 1.0
    top_p: float = 1.0
    exploration_bonus: float = 0.0

    clip_eps: float = 0.2
    kl_coef: float = 0.05
    kl_estimator: str = "k3"
    kl_in: str = "loss"
    advantage: str = "auto"
    gamma: float = 1.0
    gae_lambda: float = 0.95
    value_coef: float = 0.5
    value_clip: float | None = 0.2
    normalize_advantages: bool = True

    optimizer: str = "adamw"
    learning_rate: float = 1e-4
    min_learning_rate: float = 1e-6
    warmup_steps: int = 10
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    epochs: int = 1
    num_minibatches: int = 1
    micro_batch_episodes: int = 4
    packing: str = "tree"

    eval_every: int = 0
    eval_seeds: list[int] = field(default_factory=lambda: [1000])
    eval_num_envs: int = 16
    eval_at_start: bool = False
    eval_at_end: bool = True
    checkpoint_every: int = 0
    resume: bool = False
    max_nonfinite_updates: int = 3
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: list[str] | None = None
    mixed_precision: str = "auto"
    log_with: str = "auto"
    progress: bool = True
    threads: int | None = None

    def __post_init__(self) -> None:
        coerce_fields(self)
        _choice("base_model_size", self.base_model_size, BASE_MODEL_SIZES)
        _choice("kl_estimator", self.kl_estimator, KL_ESTIMATORS)
        _choice("kl_in", self.kl_in, KL_IN)
        _choice("advantage", self.advantage, ADVANTAGES)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("mixed_precision", self.mixed_precision, MIXED_PRECISION)
        _choice("log_with", self.log_with, LOG_WITH)
        _choice("packing", self.packing, PACKING)
        for name in (
            "total_updates",
            "num_envs",
            "episodes_per_env",
            "max_new_tokens",
            "epochs",
            "num_minibatches",
            "micro_batch_episodes",
            "eval_num_envs",
            "max_nonfinite_updates",
            "lora_r",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in (
            "warmup_steps",
            "eval_every",
            "checkpoint_every",
            "kl_coef",
            "value_coef",
            "weight_decay",
            "exploration_bonus",
            "temperature",
            "min_learning_rate",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.temperature == 0:
            raise ValueError("temperature must be > 0 while training (sampling); evaluation is greedy anyway")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0 < self.clip_eps < 1:
            raise ValueError(f"clip_eps must be in (0, 1), got {self.clip_eps}")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.min_learning_rate > self.learning_rate:
            raise ValueError(
                f"min_learning_rate ({self.min_learning_rate}) must not exceed "
                f"learning_rate ({self.learning_rate})"
            )
        if self.max_grad_norm <= 0:
            raise ValueError(f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        if self.value_clip is not None and self.value_clip <= 0:
            raise ValueError(f"value_clip must be > 0 or null, got {self.value_clip}")
        if not self.eval_seeds:
            raise ValueError("eval_seeds must name at least one seed")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 or null, got {self.threads}")
        if not self.env_id:
            raise ValueError("env_id must be a registered environment id such as 'TextBandit-v0'")

    @property
    def resolved_advantage(self) -> str:
        """``advantage`` with ``"auto"`` resolved: GAE for tic-tac-toe, Monte Carlo otherwise."""
        if self.advantage != "auto":
            return self.advantage
        return "gae" if "TicTacToe" in self.env_id else "mc"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


_TYPES: dict[type, dict[str, Any]] = {}


def _field_types(config_cls: type = RLFTConfig) -> dict[str, Any]:
    if config_cls not in _TYPES:
        _TYPES[config_cls] = typing.get_type_hints(config_cls)
    return _TYPES[config_cls]


def coerce_fields(config: Any) -> None:
    """Check every field of a config dataclass against its annotation, in place (ints become floats
    where floats are expected, float strings such as ``"1e-4"`` are parsed). Other training configs
    (``agents.sft.SFTConfig``) share this and :func:`load_config`."""
    types_ = _field_types(type(config))
    for f in dataclasses.fields(config):
        setattr(config, f.name, _coerce(f.name, getattr(config, f.name), types_[f.name]))


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """Check ``value`` against the field's annotation; ints are accepted where floats are expected."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(name, value, inner[0])
    base = origin or annotation
    if base is float and isinstance(value, str):
        # PyYAML reads "1e-4" (no dot) as a string; accept any float literal
        try:
            return float(value)
        except ValueError:
            raise TypeError(f"{name} must be a float, got {value!r}") from None
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if base is int and isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got a bool ({value!r})")
    if base is list and isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, base):
        raise TypeError(f"{name} must be of type {getattr(base, '__name__', base)}, got {value!r}")
    return value


def field_names(config_cls: type = RLFTConfig) -> list[str]:
    """Names of all config fields (what YAML keys and ``--overrides`` may use)."""
    return [f.name for f in dataclasses.fields(config_cls)]


def parse_value(text: str) -> Any:
    """Parse one command-line value as a YAML scalar/list (``"0.1"`` -> 0.1, ``"null"`` -> None)."""
    return yaml.safe_load(text)


def load_config(
    yaml_path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    config_cls: type = RLFTConfig,
) -> Any:
    """Build a config from an optional YAML file plus overrides (overrides win).

    Args:
        yaml_path: a YAML mapping of field -> value, or ``None`` for the defaults.
        overrides: field -> value; string values are parsed with :func:`parse_value`; keys may use
            dashes (``total-updates``).
        config_cls: the config dataclass to build (:class:`RLFTConfig`; ``agents.sft.SFTConfig``).

    Raises:
        FileNotFoundError: the YAML file does not exist.
        ValueError: a key is not a config field (the message lists the allowed fields), the YAML is
            not a mapping, or a value is out of range.
        TypeError: a value has the wrong type.
    """
    values: dict[str, Any] = {}
    if yaml_path is not None:
        path = Path(yaml_path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"config file {path} must hold a YAML mapping of field: value")
        values.update(loaded)
    for key, value in (overrides or {}).items():
        values[key.replace("-", "_")] = parse_value(value) if isinstance(value, str) else value
    allowed = field_names(config_cls)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"unknown config field(s) {unknown}; allowed fields: {', '.join(allowed)}")
    return config_cls(**values)
