"""The one configuration of an RL fine-tuning run: a validated dataclass, YAML, command-line overrides.

Load a YAML file and override single fields::

    cfg = load_config("configs/bandit_tiny.yaml", {"kl_coef": 0.1})

or from the command line (``textrl train --config configs/bandit_tiny.yaml --kl_coef 0.1``; dashes
and underscores are both accepted, and so are TRL's names: ``--output_dir``, ``--report_to``,
``--save_steps``, ... see :mod:`agents.rlft.config_names`). Values given as strings (from the command
line) are parsed as YAML scalars, so ``0.1`` is a float, ``null`` is ``None`` and ``[1, 2]`` a list.

Defaults follow the paper (SPEC, "RL fine-tuning") where they fit a CPU: clip 0.2, KL coefficient
0.05 with a per-token estimator, temperature 1 while training and greedy evaluation, warm-up then
cosine decay to 1e-6, gradient clipping 1.0, Monte Carlo returns with a baseline for bandits and a
value head with GAE for tic-tac-toe.

A run's identity is its config less the fields that do not change what it computes
(:data:`OPERATIONAL_FIELDS`: where it writes, how it reports progress, ...): :meth:`RLFTConfig.identity`
and :meth:`RLFTConfig.config_hash`; ``--resume`` refuses a folder whose run had another identity.

This module imports no torch: ``textrl train --help`` reads it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.rlft.config_names import canonical_keys

# the allowed values of the choice fields (advantages.BASELINES and losses.KL_ESTIMATORS are the
# same tuples; a test keeps them equal: those modules import torch, this one must not)
BASELINES = ("mc", "loo", "grpo")
KL_ESTIMATORS = ("k1", "k2", "k3")
ADVANTAGES = ("auto", "gae", *BASELINES)
OPTIMIZERS = ("adamw", "adafactor")
KL_IN = ("loss", "reward")
MIXED_PRECISION = ("auto", "no", "bf16")
TRACKERS = ("tensorboard", "wandb", "trackio")  # through accelerate; each in an extra of the same name
REPORT_TO = ("auto", "all", "none", *TRACKERS)
BASE_MODEL_SIZES = ("default", "quick")
PACKING = ("tree", "mask", "none")
REWARD_SIGNALS = ("env", "regret")
CHOICES = {
    "base_model_size": BASE_MODEL_SIZES, "kl_estimator": KL_ESTIMATORS, "kl_in": KL_IN,
    "advantage": ADVANTAGES, "optimizer": OPTIMIZERS, "mixed_precision": MIXED_PRECISION,
    "packing": PACKING, "reward_signal": REWARD_SIGNALS,
}  # fmt: skip

#: Fields that do not change what a run computes; every other field is part of its identity.
OPERATIONAL_FIELDS = frozenset(
    {"out", "resume", "overwrite", "progress", "threads", "report_to", "checkpoint_every",
     "max_nonfinite_updates"}
)  # fmt: skip

#: Fields added after runs were made, with the value that reproduces those runs: at that value a
#: field is left out of the identity, so a run folder from before it existed keeps its hash (resume,
#: the demo's stage reuse) and a run that sets it is a different run.
LATER_FIELD_DEFAULTS = {"group_size": 1, "reward_signal": "env", "exploration_bonus_steps": 0}


def _opt(default: Any, help: str, *, factory: Callable[[], Any] | None = None) -> Any:
    """A field documented once: ``help`` is its ``--help`` line and its entry in the docs."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


class RunConfig:
    """What every training config (:class:`RLFTConfig`, ``agents.sft.SFTConfig``) gives the run
    folder: its fields as a dict, its trackers, and its identity and hash (every field but
    :data:`OPERATIONAL_FIELDS`). Mixed into dataclasses that have a ``report_to`` field."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def trackers(self) -> list[str]:
        """``report_to`` as a list of tracker names (``auto``/``all``/``none`` left to the trainer)."""
        return [] if self.report_to == "none" else self.report_to.split(",")

    def identity(self) -> dict[str, Any]:
        """The fields that decide what the run computes (all but :data:`OPERATIONAL_FIELDS`, and a
        :data:`LATER_FIELD_DEFAULTS` field at its old behaviour's value)."""
        later = LATER_FIELD_DEFAULTS
        return {
            k: v
            for k, v in self.to_dict().items()
            if k not in OPERATIONAL_FIELDS and not (k in later and v == later[k])
        }

    def config_hash(self) -> str:
        """A short hash of :meth:`identity`: the run's name for itself (in run.json and checkpoints)."""
        text = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class RLFTConfig(RunConfig):
    """Every knob of :func:`agents.rlft.trainer.train`, validated on construction.

    Each field says what it does in its ``metadata["help"]`` (``textrl train --help`` prints it,
    grouped as :data:`GROUPS`); TRL's names are accepted as aliases (:mod:`agents.rlft.config_names`).
    """

    env_id: str = _opt("TextBandit-v0", "registered environment: TextBandit-v0, TextContextualBandit-v0 "
                       "or TextTicTacToe-v0")
    env_kwargs: dict[str, Any] = _opt(None, "keyword arguments of gym.make, e.g. {n_arms: 10, noise: medium} "
                                      "(the README lists every keyword)", factory=dict)
    model: str | None = _opt(None, "hub id or folder of the policy; null: the embedded base model")
    base_model_size: str = _opt("default", "size of the embedded base model when model is null: default "
                                "or quick")
    out: str = _opt("runs/rlft", "output folder: run.json, metrics.jsonl, checkpoints/, eval/, final_model/")
    seed: int = _opt(0, "seeds environments, sampling and initialisation: the run is a function of it")

    total_updates: int = _opt(100, "rollout + update iterations")
    num_envs: int = _opt(16, "environments stepped in parallel per process (the paper: 16)")
    episodes_per_env: int = _opt(1, "whole episodes each environment plays per rollout (tic-tac-toe "
                                 "games are short: several)")
    group_size: int = _opt(1, "environments that play the same episode seeds (the same bandits and reward "
                           "draws); > 1: the Monte Carlo baseline is taken within each group and step, so "
                           "a turn is compared with other choices on the same bandit (GRPO's "
                           "num_generations). Must divide num_envs")
    max_new_tokens: int = _opt(32, "generation budget per answer while collecting")
    temperature: float = _opt(1.0, "sampling temperature while collecting (evaluation is greedy)")
    top_p: float = _opt(1.0, "nucleus sampling while collecting")
    exploration_bonus: float = _opt(0.0, "reward added to a turn whose action was not tried before in "
                                    "the episode (the paper: +1; 0 disables)")
    exploration_bonus_steps: int = _opt(0, "> 0: the exploration bonus is paid only in an episode's first "
                                        "this many steps (explore early, then exploit); 0: at every step, "
                                        "as the paper")
    reward_signal: str = _opt("env", "what a turn is trained on: env (the reward the environment returned, "
                              "as the paper) or regret (minus the step's regret, plus the invalid-action "
                              "penalty: noise-free, uses the true arm means; bandits and tic-tac-toe)")

    clip_eps: float = _opt(0.2, "PPO clip range of the probability ratio")
    kl_coef: float = _opt(0.05, "beta: weight of the KL to the frozen reference model")
    kl_estimator: str = _opt("k3", "per-token KL estimator: k1, k2 or k3")
    kl_in: str = _opt("loss", "loss: add beta * KL to the loss; reward: subtract beta * sum(k1) of a "
                      "turn from its reward")
    advantage: str = _opt("auto", "mc (rewards-to-go minus the per-step mean), loo, grpo, gae (value "
                          "head), or auto: gae for tic-tac-toe, mc otherwise")
    gamma: float = _opt(1.0, "discount of the rewards-to-go")
    gae_lambda: float = _opt(0.95, "GAE lambda (advantage gae)")
    value_coef: float = _opt(0.5, "weight of the value loss (advantage gae)")
    value_clip: float | None = _opt(0.2, "clip range of the value update; null: no clipping")
    normalize_advantages: bool = _opt(True, "divide advantages by their standard deviation over the "
                                      "rollout (keeps the -5 penalty from dominating the step size)")

    optimizer: str = _opt("adamw", "adamw or adafactor")
    learning_rate: float = _opt(1e-4, "peak learning rate")
    min_learning_rate: float = _opt(1e-6, "floor the cosine decay approaches by the last optimizer step")
    warmup_steps: int = _opt(10, "linear warm-up, in optimizer steps")
    weight_decay: float = _opt(0.0, "decoupled weight decay")
    max_grad_norm: float = _opt(1.0, "clip the gradient norm at this value")
    epochs: int = _opt(1, "passes over each rollout (TRL: num_ppo_epochs)")
    num_minibatches: int = _opt(1, "optimizer steps per epoch")
    micro_batch_episodes: int = _opt(4, "episodes per forward/backward (gradients accumulate over a "
                                     "minibatch)")
    packing: str = _opt("tree", "how an episode's turns are scored (all exact): tree (shared prefix "
                        "once, turns as branches), mask (one sequence, 4-D mask) or none")

    eval_every: int = _opt(0, "greedy evaluation every N updates (0: only at the end)")
    eval_seeds: list[int] = _opt(None, "held-out evaluation seeds", factory=lambda: [1000])
    eval_num_envs: int = _opt(16, "environments per evaluation seed")
    eval_at_start: bool = _opt(False, "also evaluate before the first update")
    eval_at_end: bool = _opt(True, "evaluate after the last update (textrl train prints its table)")
    checkpoint_every: int = _opt(0, "atomic checkpoint every N updates (0: only at the end)")
    resume: bool = _opt(False, "continue the run in out from its last good checkpoint (the config must "
                        "be the same)")
    overwrite: bool = _opt(False, "delete the run already in out, then start afresh")
    max_nonfinite_updates: int = _opt(3, "stop after this many updates in a row with a non-finite loss")
    lora: bool = _opt(False, "train LoRA adapters through peft (the base weights are the reference)")
    lora_r: int = _opt(16, "LoRA rank r of the adapter matrices")
    lora_alpha: int = _opt(32, "LoRA scaling alpha (updates are scaled by alpha / r)")
    lora_dropout: float = _opt(0.0, "dropout on the LoRA input")
    lora_target_modules: list[str] | None = _opt(None, "module names to adapt; null: all linear layers")
    mixed_precision: str = _opt("auto", "auto (bf16 on a GPU, fp32 on CPU), no or bf16")
    report_to: str = _opt("auto", "trackers (accelerate): tensorboard, wandb, trackio (comma-separated), "
                          "all (those installed), none, or auto (tensorboard when installed)")
    progress: bool = _opt(True, "show a progress bar")
    threads: int | None = _opt(None, "torch CPU threads; null: torch's default")

    def __post_init__(self) -> None:
        if isinstance(self.report_to, (list, tuple)):  # TRL takes a list; we keep one string
            self.report_to = ",".join(str(v) for v in self.report_to)
        coerce_fields(self)
        for name, allowed in CHOICES.items():
            _choice(name, getattr(self, name), allowed)
        self.report_to = _report_to(self.report_to)
        if self.resume and self.overwrite:
            raise ValueError("resume and overwrite exclude each other: continue the run, or delete it")
        for name in (
            "total_updates",
            "num_envs",
            "episodes_per_env",
            "group_size",
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
            "exploration_bonus_steps",
            "temperature",
            "min_learning_rate",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.num_envs % self.group_size:
            raise ValueError(f"group_size ({self.group_size}) must divide num_envs ({self.num_envs})")
        if self.group_size > 1 and self.resolved_advantage == "gae":
            raise ValueError(
                "group_size > 1 sets the Monte Carlo baseline's groups: use advantage mc, loo or grpo"
            )
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



def _report_to(value: str) -> str:
    names = [v.strip() for v in value.split(",") if v.strip()]
    for name in names:
        _choice("report_to", name, REPORT_TO)
    if not names or (len(names) > 1 and set(names) & {"auto", "all", "none"}):
        raise ValueError(
            f"report_to must be auto, all, none, or trackers from {TRACKERS} separated by commas, "
            f"got {value!r}"
        )
    return ",".join(dict.fromkeys(names))


#: ``--help`` groups, in TRL's order (model, data, generation, training, evaluation, logging).
GROUPS: dict[str, tuple[str, ...]] = {
    "model and reference model": (
        "model", "base_model_size", "lora", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules",
        "mixed_precision",
    ),
    "environment (the data)": (
        "env_id", "env_kwargs", "num_envs", "episodes_per_env", "group_size", "exploration_bonus",
        "exploration_bonus_steps", "reward_signal",
    ),
    "generation (rollouts)": ("max_new_tokens", "temperature", "top_p"),
    "training": (
        "total_updates", "seed", "clip_eps", "kl_coef", "kl_estimator", "kl_in", "advantage", "gamma",
        "gae_lambda", "value_coef", "value_clip", "normalize_advantages", "optimizer", "learning_rate",
        "min_learning_rate", "warmup_steps", "weight_decay", "max_grad_norm", "epochs", "num_minibatches",
        "micro_batch_episodes", "packing", "max_nonfinite_updates", "threads",
    ),
    "evaluation": ("eval_every", "eval_seeds", "eval_num_envs", "eval_at_start", "eval_at_end"),
    "output, checkpoints and logging": (
        "out", "overwrite", "resume", "checkpoint_every", "report_to", "progress",
    ),
}  # fmt: skip


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
    """Names of all config fields (what YAML keys and ``--overrides`` may use, besides the aliases)."""
    return [f.name for f in dataclasses.fields(config_cls)]


def parse_value(text: str) -> Any:
    """Parse one command-line value as a YAML scalar/list (``"0.1"`` -> 0.1, ``"null"`` -> None)."""
    return yaml.safe_load(text)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file; errors name the file (and the line of a syntax error)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ValueError(f"config file {path}{where}: not valid YAML ({problem})") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"config file {path} must hold a YAML mapping of field: value")
    return loaded


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
            dashes (``total-updates``) and TRL's names (``output_dir``).
        config_cls: the config dataclass to build (:class:`RLFTConfig`; ``agents.sft.SFTConfig``).

    Raises:
        FileNotFoundError: the YAML file does not exist.
        ValueError: the YAML is malformed (the message names the file and line) or not a mapping; a
            key is not a config field (the message lists the allowed fields) or a TRL option textrl
            does not have (it says what to use); a value is out of range.
        TypeError: a value has the wrong type.
    """
    names = field_names(config_cls)
    values: dict[str, Any] = {}
    if yaml_path is not None:
        values.update(canonical_keys(read_yaml(yaml_path), names, f"config file {yaml_path}"))
    parsed = {k: parse_value(v) if isinstance(v, str) else v for k, v in (overrides or {}).items()}
    values.update(canonical_keys(parsed, names, "the options"))
    return config_cls(**values)
