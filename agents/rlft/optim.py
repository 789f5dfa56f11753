"""Optimizer and learning-rate schedule: AdamW or Adafactor, linear warm-up then cosine decay.

The schedule is transformers' ``get_cosine_with_min_lr_schedule_with_warmup_lr_rate`` over optimizer
steps (``epochs * num_minibatches`` per update): the learning rate rises linearly, ``lr * (s + 1) /
warmup`` at step ``s``, to ``lr`` at the last warm-up step, then follows a cosine down to
``min_learning_rate``, reached at the last step (the paper: 100 warm-up steps, cosine to 1e-6).
transformers' ``get_cosine_with_min_lr_schedule_with_warmup`` is not used: its warm-up starts at
``lr = 0``, so with ``warmup_steps: 1`` (the shipped configs) the first optimizer step would not move
the weights at all.
"""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import LambdaLR
from transformers.optimization import get_cosine_with_min_lr_schedule_with_warmup_lr_rate

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


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: RLFTConfig, *, steps_per_update: int
) -> LambdaLR:
    """Warm-up over ``warmup_steps`` (at most the whole run), then cosine to ``min_learning_rate``."""
    total = config.total_updates * steps_per_update
    return get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
        optimizer,
        num_warmup_steps=min(config.warmup_steps, total),
        num_training_steps=total,
        min_lr_rate=config.min_learning_rate / config.learning_rate,
    )
