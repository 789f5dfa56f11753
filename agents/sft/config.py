"""The configuration of an expert SFT run: a validated dataclass with ``textrl train``'s conventions.

Fields that ``textrl train`` also has (model, out, seed, the optimizer, evaluation, checkpoints,
logging) mean the same thing and take the same values; YAML files and command-line overrides work
alike (``load_config(path, overrides, config_cls=SFTConfig)``, ``textrl sft --config x.yaml --mode
behaviour``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.rlft.config import (
    BASE_MODEL_SIZES,
    MIXED_PRECISION,
    OPTIMIZERS,
    PACKING,
    RunConfig,
    _choice,
    _report_to,
    coerce_fields,
)
from agents.sft.experts import EXPERTS, RATIONALE_REWARDS

MODES = ("behaviour", "thought")


@dataclass
class SFTConfig(RunConfig):
    """Every knob of :func:`agents.sft.train_sft`, validated on construction.

    Environment, model and data:
        env_id, env_kwargs, model, base_model_size, out, seed: as in ``RLFTConfig``.
        mode: ``"behaviour"`` (behaviour cloning: the answer is ``ACTION=X``) or ``"thought"``
            (thought cloning: the expert's rationale, then ``ACTION=X``).
        expert: ``"auto"`` (UCB for TextBandit-v0, LinUCB for the contextual bandit, minimax for
            tic-tac-toe) or that name explicitly.
        rationale_rewards: the UCB rationale lists every reward (``"list"``, the paper's template) or
            writes their sum (``"sum"``, shorter for long horizons).
        data_num_envs, data_seeds: the expert plays ``data_num_envs`` episodes per seed (the harness's
            seeding: slot ``i`` of seed ``s`` is reset with ``s * 100_000 + i``); keep them apart from
            the evaluation seeds.
        answer_prefix: text before the answer when the model has no chat template (``None``: a
            newline, the embedded base model's format); ignored with a chat template.
        use_chat_template: ``None`` (use it when the tokenizer has one), ``True`` or ``False``.

    Optimisation:
        epochs: passes over the expert episodes. batch_episodes: episodes per optimizer step (the loss
        is the mean over their answer tokens). micro_batch_episodes: episodes per forward/backward.
        max_steps: stop after this many optimizer steps (``None``: all epochs).
        optimizer, learning_rate, min_learning_rate, warmup_steps, weight_decay, max_grad_norm,
        packing: as in ``RLFTConfig`` (the schedule counts optimizer steps).

    Evaluation, checkpoints, logging (as in ``RLFTConfig``):
        max_new_tokens: the evaluation's generation budget (``None``: the longest expert answer in
        tokens + 8). eval_every (optimizer steps), eval_seeds, eval_num_envs, eval_at_start,
        eval_at_end, checkpoint_every, resume, overwrite, mixed_precision, report_to, progress, threads.
        The output folder follows ``textrl train``'s rules (``run.json`` identity, ``--resume`` only
        for the same config, ``--overwrite`` to replace a run).
    """

    env_id: str = "TextBandit-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    base_model_size: str = "default"
    out: str = "runs/sft"
    seed: int = 0

    mode: str = "thought"
    expert: str = "auto"
    rationale_rewards: str = "list"
    data_num_envs: int = 32
    data_seeds: list[int] = field(default_factory=lambda: [100, 101, 102, 103])
    answer_prefix: str | None = None
    use_chat_template: bool | None = None

    epochs: int = 2
    batch_episodes: int = 8
    micro_batch_episodes: int = 2
    max_steps: int | None = None
    optimizer: str = "adamw"
    learning_rate: float = 1e-4
    min_learning_rate: float = 1e-6
    warmup_steps: int = 10
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    packing: str = "tree"

    max_new_tokens: int | None = None
    eval_every: int = 0
    eval_seeds: list[int] = field(default_factory=lambda: [1000])
    eval_num_envs: int = 16
    eval_at_start: bool = False
    eval_at_end: bool = True
    checkpoint_every: int = 0
    resume: bool = False
    overwrite: bool = False
    mixed_precision: str = "auto"
    report_to: str = "auto"
    progress: bool = True
    threads: int | None = None

    def __post_init__(self) -> None:
        coerce_fields(self)
        _choice("mode", self.mode, MODES)
        _choice("expert", self.expert, EXPERTS)
        _choice("rationale_rewards", self.rationale_rewards, RATIONALE_REWARDS)
        _choice("base_model_size", self.base_model_size, BASE_MODEL_SIZES)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("packing", self.packing, PACKING)
        _choice("mixed_precision", self.mixed_precision, MIXED_PRECISION)
        self.report_to = _report_to(self.report_to)
        if self.resume and self.overwrite:
            raise ValueError("resume and overwrite exclude each other: continue the run, or delete it")
        for name in ("data_num_envs", "epochs", "batch_episodes", "micro_batch_episodes", "eval_num_envs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_steps", "max_new_tokens", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or null, got {value}")
        for name in ("warmup_steps", "eval_every", "checkpoint_every", "weight_decay", "min_learning_rate"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.learning_rate <= 0 or self.min_learning_rate > self.learning_rate:
            raise ValueError(
                f"need 0 <= min_learning_rate <= learning_rate and learning_rate > 0, got "
                f"{self.min_learning_rate} and {self.learning_rate}"
            )
        if self.max_grad_norm <= 0:
            raise ValueError(f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        for name in ("data_seeds", "eval_seeds"):
            seeds = getattr(self, name)
            if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
                raise ValueError(f"{name} must be distinct non-negative seeds, got {seeds}")
        if set(self.data_seeds) & set(self.eval_seeds):
            raise ValueError(
                f"data_seeds and eval_seeds overlap ({sorted(set(self.data_seeds) & set(self.eval_seeds))}): "
                "the expert's training episodes would be the evaluation's"
            )
