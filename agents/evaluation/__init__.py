"""Evaluation harness: run agents on seeded batches of episodes, write and read the tidy step log.

- :func:`evaluate` plays the episodes and returns the step log (one row per decision).
- :func:`write_run` / :func:`load_steps` write and read a run folder (``steps.parquet`` or
  ``steps.csv``, ``summary.json``, ``run.json``).
- ``textrl evaluate`` (:mod:`agents.evaluation.cli`) does both from the command line.
"""

from __future__ import annotations

from agents.evaluation.harness import SEED_STRIDE, evaluate
from agents.evaluation.io import STEP_DTYPES, load_steps, write_run

__all__ = ["SEED_STRIDE", "STEP_DTYPES", "evaluate", "load_steps", "write_run"]
