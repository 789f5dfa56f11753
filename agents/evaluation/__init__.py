"""Evaluation harness: run agents on seeded batches of episodes, write and read the tidy step log.

- :func:`evaluate` plays the episodes and returns the step log (one row per decision).
- :func:`write_run` / :func:`load_steps` write and read a run folder (``steps.parquet`` or
  ``steps.csv``, ``summary.json``, ``run.json``).
- ``textrl evaluate`` (:mod:`agents.evaluation.cli`) does both from the command line.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "SEED_STRIDE": "agents.evaluation.harness",
    "evaluate": "agents.evaluation.harness",
    "STEP_DTYPES": "agents.evaluation.io",
    "load_steps": "agents.evaluation.io",
    "write_run": "agents.evaluation.io",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """The exports above, imported on first use: importing the package (as ``textrl --help`` does
    for ``agents.evaluation.cli``) must not pull in gymnasium, pandas and the environments."""
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'agents.evaluation' has no attribute {name!r}")
