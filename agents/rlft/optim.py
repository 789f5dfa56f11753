"""Optimizer and learning-rate schedule: AdamW or Adafactor, linear warm-up then cosine decay.

The schedule counts optimizer steps (``epochs * num_minibatches`` per update): the learning rate rises
linearly from ``lr / warmup`` to ``lr`` over ``warmup_steps`` steps, then follows a cosine from ``lr``
towards ``min_learning_rate``, which it would reach one step after the last (the paper: 100 warm-up
steps, cosine to 1e-6).

Why not transformers' schedules (issue 15 asked to use them where nothing is lost; tested in
``tests/agents/rlft/test_rlft_update.py``): ``get_cosine_with_min_lr_schedule_with_warmup`` starts
its warm-up at ``lr = 0``, so with ``warmup_steps: 1`` (the shipped configs) the first optimizer step
would not move the weights; ``get_cosine_with_min_lr_schedule_with_warmup_lr_rate`` (transformers >=
4.54) warms up as this one does but starts the decay one step earlier, so without warm-up the first
step is already below ``lr`` and a one-step run trains at the floor.
"""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR

from agents.rlft.config import RLFTConfig


def make_optimizer(module: torch.nn.Module, config: RLFTConfig) -> torch.optim.Optimizer:
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if config.optimizer == "adafactor":
        from transformers.optimization import Adafactor

        # a fixed external learning rate (the schedule below), as the paper uses Adafactor
        return Adafactor(
            params,
            lr=config.learning_rate,
            scale_parameter=False,
            relative_step=False,
            warmup_init=False,
            weight_decay=config.weight_decay,
        )
    return torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)


def lr_factor(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (0-based)."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    decay_steps = max(total - warmup, 1)
    progress = min(max(step - warmup, 0) / decay_steps, 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: RLFTConfig, *, steps_per_update: int
) -> LambdaLR:
    total = config.total_updates * steps_per_update
    min_ratio = config.min_learning_rate / config.learning_rate
    warmup = min(config.warmup_steps, total)
    return LambdaLR(optimizer, lambda step: lr_factor(step, warmup, total, min_ratio))
