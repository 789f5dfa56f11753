"""Load a run directory: the step log, its summary, and any probe outputs.

A run directory (written by ``textrl evaluate``, the trainer's ``eval/step_XXXXXX/``, or by hand)
holds ``steps.parquet`` or ``steps.csv`` (the tidy step log), usually ``summary.json`` and
``run.json``, and optionally the probe files of :func:`analysis.probes.run_probes`
(``frequency_bias.csv``, ``knowing_doing.csv``, ``probes.json``). The summary is always recomputed
from the step log, so a report never disagrees with the data it shows.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.metrics import validate_steps
from analysis.probes.run import PROBE_FILES
from analysis.settings import Settings, resolve_run_settings
from analysis.summary import summarize_steps

__all__ = ["RunData", "load_run", "read_steps"]


def read_steps(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The step log of a run folder (``agents.evaluation.io.load_steps`` when that module exists).

    Raises:
        FileNotFoundError: the folder or its step log is missing.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"run folder {str(path)!r} does not exist")
    try:
        from agents.evaluation.io import load_steps
    except ImportError:  # the agents package is optional for reading a run
        load_steps = None
    if load_steps is not None:
        return load_steps(path)
    if (path / "steps.parquet").is_file():
        return pd.read_parquet(path / "steps.parquet")
    if (path / "steps.csv").is_file():
        return pd.read_csv(path / "steps.csv", keep_default_na=False, na_values=[""])
    raise FileNotFoundError(f"no steps.parquet or steps.csv in run folder {str(path)!r}")


@dataclass
class RunData:
    """One loaded run.

    Attributes:
        name: label used in tables and legends (the folder name unless given).
        path: the folder.
        steps: the tidy step log.
        summary: :func:`~analysis.summary.summarize_steps` of ``steps``.
        frequency_bias: per-prompt rows of the frequency-bias probe, or None.
        knowing_doing: per-prompt rows of the knowing-doing probe, or None.
        probes_meta: ``probes.json`` (settings and headline numbers), or ``{}``.
        run_meta: ``run.json`` (how the run was made), or ``{}``.
        env_settings: env id -> the resolved environment settings, or None where the run did not
            record them (:func:`analysis.settings.resolve_run_settings`).
    """

    name: str
    path: Path
    steps: pd.DataFrame
    summary: pd.DataFrame
    frequency_bias: pd.DataFrame | None = None
    knowing_doing: pd.DataFrame | None = None
    probes_meta: dict[str, Any] = field(default_factory=dict)
    run_meta: dict[str, Any] = field(default_factory=dict)
    env_settings: Settings = field(default_factory=dict)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{str(path)!r} is not valid JSON: {error}") from error
    return data if isinstance(data, dict) else {"value": data}


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    # keep "" as "" (answers and action names may be empty), everything else as pandas reads it
    return pd.read_csv(path, keep_default_na=False, na_values=["", "nan", "NaN"])


def load_run(run_dir: str | os.PathLike[str], name: str | None = None) -> RunData:
    """Load a run folder (see the module docstring).

    Raises:
        FileNotFoundError: missing folder or step log.
        ValueError: the step log is empty, lacks required columns or holds a non-finite number (the
            message names the column and the rows); a JSON file is malformed.
    """
    path = Path(run_dir)
    steps = read_steps(path)
    try:
        validate_steps(steps)
        summary = summarize_steps(steps)
    except ValueError as error:
        raise ValueError(f"run folder {str(path)!r}: {error}") from error
    knowing = _read_csv(path / PROBE_FILES["knowing_doing"])
    if knowing is not None and "answer" in knowing.columns:
        knowing["answer"] = knowing["answer"].fillna("").astype(str)
    run_meta = _read_json(path / "run.json")
    return RunData(
        name=name or path.resolve().name,
        path=path,
        steps=steps,
        summary=summary,
        frequency_bias=_read_csv(path / PROBE_FILES["frequency_bias"]),
        knowing_doing=knowing,
        probes_meta=_read_json(path / PROBE_FILES["meta"]),
        run_meta=run_meta,
        env_settings=resolve_run_settings(run_meta, [str(e) for e in pd.unique(steps["env_id"])]),
    )
