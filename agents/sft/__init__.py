"""Expert SFT (SPEC "Expert data"): behaviour and thought cloning of UCB, LinUCB or minimax.

Entry points::

    from agents.sft import SFTConfig, train_sft
    out_dir = train_sft(SFTConfig(env_id="TextBandit-v0", mode="thought", out="runs/sft-tc"))
    # then RL fine-tune the result: textrl train --model runs/sft-tc/final_model

or ``textrl sft --mode behaviour --out runs/sft-bc`` (:mod:`agents.sft.cli`), or under
``accelerate launch scripts/train_sft.py ...``. Modules: ``experts`` (the experts and the rationale
template), ``data`` (recording and tokenising their episodes, the loss mask), ``config``, ``trainer``.
"""

from __future__ import annotations

from agents.sft.config import SFTConfig


def train_sft(config: SFTConfig, **kwargs):
    """Run expert SFT; see :func:`agents.sft.trainer.train_sft` (imported lazily: it pulls in torch)."""
    from agents.sft.trainer import train_sft as _train_sft

    return _train_sft(config, **kwargs)


__all__ = ["SFTConfig", "train_sft"]
