"""The end of an optimizer step, shared by RL fine-tuning (:func:`agents.rlft.trainer.train`) and
expert SFT (:func:`agents.sft.trainer.train_sft`).

After each step both trainers do the same things in the same order, and the order matters for resume:

1. :meth:`StepEnd.log`: on the first step of this call, add the start-of-run evaluation (``*_start``
   keys); number the record (``"update"`` first); append it to ``metrics.jsonl`` on the main process;
   send its numbers to the trackers; advance the progress bar.
2. the trainer's own non-finite check (it raises *before* the step is checkpointed, so a resumed run
   repeats the step rather than keeping its weights);
3. :meth:`StepEnd.checkpoint`: write a checkpoint when ``checkpoint_every`` divides the step count or
   at the last step (every process takes part; see :func:`agents.rlft.checkpoint.save_checkpoint`),
   then call the user's callback (tests interrupt runs there, after the checkpoint).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.rlft.checkpoint import save_checkpoint
from agents.rlft.run_folder import METRICS_FILE, append_metrics


@dataclass
class StepEnd:
    """Logging, checkpointing and the callback after each optimizer step of a training run.

    Attributes:
        out: the run folder (metrics go to ``out / "metrics.jsonl"``, checkpoints to
            ``out / "checkpoints"``).
        accelerator: the run's ``accelerate.Accelerator``.
        bar: the run's tqdm progress bar (one tick per step).
        model: the unwrapped model that is checkpointed.
        optimizer: its optimizer.
        scheduler: its learning-rate scheduler.
        checkpoint_every: checkpoint every this many steps (0: only at the last one).
        config_hash: the run config's hash, stored in each checkpoint so resume refuses another config.
        total: the run's last step (always checkpointed).
        first_step: the step this call started from (0, or where it resumed).
        start_metrics: the evaluation before training (empty if none), added to the first record.
        callback: called as ``callback(step, record)`` after the checkpoint, or ``None``.
    """

    out: Path
    accelerator: Any
    bar: Any
    model: Any
    optimizer: Any
    scheduler: Any
    checkpoint_every: int
    config_hash: str
    total: int
    first_step: int
    start_metrics: dict[str, float] = field(default_factory=dict)
    callback: Callable[[int, dict[str, float]], None] | None = None

    def log(self, done: int, record: dict[str, Any], postfix: dict[str, str]) -> dict[str, Any]:
        """Log step ``done`` (1-based) with ``record``; return the record as written."""
        if self.start_metrics and done == self.first_step + 1:
            record.update({f"{k}_start": v for k, v in self.start_metrics.items()})
        record = {"update": done, **record}
        if self.accelerator.is_main_process:
            append_metrics(self.out / METRICS_FILE, record)
        self.accelerator.log({k: v for k, v in record.items() if isinstance(v, (int, float))}, step=done)
        self.bar.update(1)
        self.bar.set_postfix(postfix)
        return record

    def checkpoint(self, done: int, record: dict[str, Any], nonfinite_in_a_row: int) -> None:
        """Checkpoint step ``done`` if due (or the last), then call the callback."""
        if (self.checkpoint_every and done % self.checkpoint_every == 0) or done == self.total:
            save_checkpoint(
                self.out,
                done,
                self.model,
                self.optimizer,
                self.scheduler,
                {"nonfinite_in_a_row": nonfinite_in_a_row, "config_hash": self.config_hash},
                rank=self.accelerator.process_index,
                is_main=self.accelerator.is_main_process,
                barrier=self.accelerator.wait_for_everyone,
            )
        if self.callback is not None:
            self.callback(done, record)
