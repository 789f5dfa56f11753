"""RL fine-tuning of the LLM agent (the paper's RLFT): clipped objective, KL to a frozen reference,
Monte Carlo or GAE advantages, packed multi-turn training, on accelerate.

Entry points::

    from agents.rlft import RLFTConfig, load_config, train
    out_dir = train(load_config("configs/bandit_tiny.yaml", {"kl_coef": 0.1}))

or ``textrl train --config configs/bandit_tiny.yaml`` (see :mod:`agents.rlft.cli`). Modules:
``config`` (the validated dataclass) and ``config_names`` (TRL's names as aliases), ``losses`` and
``advantages`` (pure tensor functions), ``packing`` (one sequence per episode, exact), ``value_head``
(the trained module), ``rollout``, ``update`` (one PPO update), ``optim``, ``checkpoint``,
``run_folder`` (run identity, overwrite/resume rules, metrics log), ``prepare`` (the checks before a
run writes anything), ``final_model`` (the saved model and its model card), ``trainer``.
"""

from __future__ import annotations

from agents.rlft.config import RLFTConfig, load_config


def train(config: RLFTConfig, **kwargs):
    """Run RL fine-tuning; see :func:`agents.rlft.trainer.train` (imported lazily: it pulls in the envs)."""
    from agents.rlft.trainer import train as _train

    return _train(config, **kwargs)


__all__ = ["RLFTConfig", "load_config", "train"]
