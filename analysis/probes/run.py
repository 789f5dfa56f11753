"""Run the probes on an agent and write their outputs into a run directory.

Files written (each atomically: temp file, then ``os.replace``), read back by ``textrl report``:

- ``frequency_bias.csv``: one row per probe prompt (columns ``FREQUENCY_BIAS_COLUMNS``).
- ``knowing_doing.csv``: one row per probe prompt (columns ``KNOWING_DOING_COLUMNS``; the ``answer``
  column holds the full answer text, so a reader can check any classification).
- ``reading.csv``: one row per reading-probe prompt (columns ``READING_COLUMNS``), when asked for.
- ``probes.json``: the settings of each probe and their headline numbers
  (``frequency_bias.shares``, ``frequency_bias.entropy_repetition_correlation``,
  ``knowing_doing.table``, ``knowing_doing.counts``, ``reading.scores``).

Example::

    from analysis.probes import run_probes
    run_probes(agent, "runs/base", frequency_bias_kwargs={"n_prefixes": 8},
               knowing_doing_kwargs={"n_prompts": 64, "context_summary": True})
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from agents.evaluation.io import write_text
from analysis.probes.frequency_bias import (
    entropy_repetition_correlation,
    frequency_bias,
    frequency_bias_shares,
)
from analysis.probes.knowing_doing import knowing_doing, knowing_doing_counts, knowing_doing_table
from analysis.probes.reading import reading, reading_scores

__all__ = ["PROBE_FILES", "PROBE_NAMES", "run_probes"]

PROBE_FILES = {
    "frequency_bias": "frequency_bias.csv",
    "knowing_doing": "knowing_doing.csv",
    "reading": "reading.csv",
    "meta": "probes.json",
}
PROBE_NAMES = ("frequency_bias", "knowing_doing", "reading")


def _jsonable(value: Any) -> Any:
    """Plain JSON values (NaN and inf become None / strings, numpy scalars become Python)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_jsonable(r) for r in frame.to_dict(orient="records")]


def run_probes(
    agent: Any,
    out_dir: str | os.PathLike[str],
    *,
    frequency_bias_kwargs: dict[str, Any] | None = None,
    knowing_doing_kwargs: dict[str, Any] | None = None,
    reading_kwargs: dict[str, Any] | None = None,
    probes: tuple[str, ...] = ("frequency_bias", "knowing_doing"),
    progress: bool = True,
) -> dict[str, Path]:
    """Run the selected probes on ``agent`` and write their files into ``out_dir`` (created if needed).

    Args:
        agent: the agent to probe (see :func:`~analysis.probes.frequency_bias.frequency_bias` and
            :func:`~analysis.probes.knowing_doing.knowing_doing` for what each needs).
        out_dir: the run directory (usually the one ``textrl evaluate`` wrote).
        frequency_bias_kwargs, knowing_doing_kwargs, reading_kwargs: keyword arguments of the probes.
        probes: which probes to run (any of ``PROBE_NAMES``; the reading probe only when named).
        progress: show tqdm bars.

    Returns:
        ``{"frequency_bias": path, "knowing_doing": path, ..., "meta": path}`` for the files written.

    Raises:
        ValueError: an unknown probe name.
    """
    unknown = sorted(set(probes) - set(PROBE_NAMES))
    if unknown or not probes:
        raise ValueError(f"probes must be a non-empty subset of {PROBE_NAMES}, got {probes}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"agent": getattr(agent, "name", type(agent).__name__)}
    written: dict[str, Path] = {}
    if "frequency_bias" in probes:
        kwargs = dict(frequency_bias_kwargs or {})
        rows = frequency_bias(agent, progress=progress, **kwargs)
        written["frequency_bias"] = out / PROBE_FILES["frequency_bias"]
        write_text(written["frequency_bias"], rows.to_csv(index=False))
        meta["frequency_bias"] = {
            "settings": _jsonable({k: list(v) if isinstance(v, range) else v for k, v in kwargs.items()}),
            "method": str(rows["method"].iloc[0]),
            "shares": _records(frequency_bias_shares(rows)),
            "entropy_repetition_correlation": _jsonable(entropy_repetition_correlation(rows)),
        }
    if "knowing_doing" in probes:
        kwargs = dict(knowing_doing_kwargs or {})
        rows = knowing_doing(agent, progress=progress, **kwargs)
        written["knowing_doing"] = out / PROBE_FILES["knowing_doing"]
        write_text(written["knowing_doing"], rows.to_csv(index=False))
        meta["knowing_doing"] = {
            "settings": _jsonable(kwargs),
            "context_summary": bool(kwargs.get("context_summary", False)),
            "table": _records(knowing_doing_table(rows)),
            "counts": _jsonable(knowing_doing_counts(rows)),
        }
    if "reading" in probes:
        kwargs = dict(reading_kwargs or {})
        rows = reading(agent, progress=progress, **kwargs)
        written["reading"] = out / PROBE_FILES["reading"]
        write_text(written["reading"], rows.to_csv(index=False))
        meta["reading"] = {"settings": _jsonable(kwargs), "scores": _records(reading_scores(rows))}
    written["meta"] = out / PROBE_FILES["meta"]
    write_text(written["meta"], json.dumps(meta, indent=2) + "\n")
    return written
