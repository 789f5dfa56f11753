"""The output folder of a training run: whose run it holds, who may write there, and its metrics log.

A run writes ``run.json`` first: its config hash and identity (:meth:`RLFTConfig.identity`, the
fields that decide what it computes), the resolved environment settings and the model it started
from. Before anything is written, :func:`check_run_folder` decides whether this command may use the
folder:

- a fresh run (no ``--resume``) in a folder that holds a run is refused unless ``--overwrite``,
  which deletes that run's files (:data:`RUN_ENTRIES`, nothing else) first;
- ``--resume`` needs a run made with the same identity (a folder from before ``run.json`` existed is
  judged by its ``config.yaml``); otherwise the message names each differing field.

``metrics.jsonl`` gets one JSON line per update, appended and synced; :func:`truncate_metrics` keeps
the lines up to the checkpoint a resumed run starts from, and drops a torn last line (a kill in the
middle of an append) with a warning instead of failing.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from agents.evaluation.io import write_json, write_text
from agents.rlft.config import OPERATIONAL_FIELDS, RLFTConfig, field_names
from agents.rlft.config_names import ALIASES

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
#: What a run writes in its folder (``logs`` holds the tracker files); ``--overwrite`` deletes these.
RUN_ENTRIES = (RUN_FILE, "config.yaml", METRICS_FILE, "checkpoints", "eval", "final_model", "logs",
               "expert", "sft.json")  # the last two: textrl sft's expert data log and data sizes


class SetupError(ValueError):
    """The run cannot start (config, environment, model or output folder); nothing was written."""


class RunFolderError(SetupError):
    """The output folder holds a run this command must not continue or overwrite."""


def existing_entries(out: str | Path) -> list[str]:
    """The :data:`RUN_ENTRIES` present in ``out`` (a run's files), in that order."""
    out = Path(out)
    return [name for name in RUN_ENTRIES if (out / name).exists()]


def stored_identity(out: str | Path) -> tuple[dict[str, Any], str] | None:
    """``(identity, file)`` of the run in ``out``: ``run.json``'s, else one derived from ``config.yaml``."""
    out = Path(out)
    run_file = out / RUN_FILE
    if run_file.is_file():
        try:
            identity = json.loads(run_file.read_text(encoding="utf-8"))["identity"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise RunFolderError(
                f"{run_file} is unreadable ({type(error).__name__}: {error}), so the run in {out} cannot be "
                "identified; pass --overwrite to delete it and start again"
            ) from None
        return dict(identity), str(run_file)
    config_file = out / "config.yaml"
    if config_file.is_file():
        try:
            loaded = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise RunFolderError(f"{config_file} is not valid YAML ({error})") from None
        names = set(field_names())
        values = {ALIASES.get(str(k), str(k)): v for k, v in dict(loaded).items()}
        identity = {k: v for k, v in values.items() if k in names and k not in OPERATIONAL_FIELDS}
        return identity, str(config_file)
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def identity_differences(stored: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """``"seed: 0 in the run, 1 now"`` for each field both identities have and that differs."""
    return [
        f"{key}: {stored[key]!r} in the run, {current[key]!r} now"
        for key in current
        if key in stored and not _same(stored[key], current[key])
    ]


def check_run_folder(config: RLFTConfig, has_checkpoint: Callable[[Path], bool]) -> None:
    """Refuse a command that would continue another run or overwrite one silently (module docstring).

    Reads only; every process may call it. ``has_checkpoint(out)`` says whether a complete
    checkpoint exists (:func:`agents.rlft.checkpoint.complete_checkpoints`).

    Raises:
        RunFolderError: see the module docstring; every message says what to do instead.
    """
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"out {str(out)!r} exists and is not a folder")
    entries = existing_entries(out)
    if config.resume:
        if not entries or not has_checkpoint(out):
            raise RunFolderError(
                f"resume=True but {out / 'checkpoints'} holds no complete checkpoint, so there is nothing to "
                f"continue; start the run without --resume (add --overwrite if {out} holds an earlier run)"
            )
        stored = stored_identity(out)
        if stored is None:
            raise RunFolderError(
                f"{out} holds a run ({', '.join(entries)}) without run.json or config.yaml, so it cannot be "
                "told apart from another run; pass --overwrite to delete it and start again"
            )
        identity, source = stored
        differences = identity_differences(identity, config.identity())
        if differences:
            raise RunFolderError(
                f"cannot resume the run in {out}: it was made with another config ({'; '.join(differences)}; "
                f"from {source}). Resume with the run's settings, or start a new run with --overwrite "
                "(deletes this one) or another --out"
            )
    elif entries and not config.overwrite:
        raise RunFolderError(
            f"{out} already holds a run ({', '.join(entries)}); pass --resume to continue it, --overwrite to "
            "delete it and start afresh, or choose another --out"
        )


def clear_run_files(out: str | Path) -> None:
    """Delete the run's files (:data:`RUN_ENTRIES` and their temporary ``.tmp`` leftovers) from ``out``."""
    out = Path(out)
    if not out.is_dir():
        return
    for path in out.iterdir():
        name = path.name
        ours = name in RUN_ENTRIES or (name.startswith(".") and any(e in name for e in RUN_ENTRIES))
        if not ours:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def write_run_files(
    config: RLFTConfig, *, env_settings: Mapping[str, Any], model: str, command: str = "textrl train"
) -> None:
    """Write ``run.json`` (identity, env settings, model) and ``config.yaml`` (the whole config).

    A resumed run keeps its ``run.json`` (written when it started); one from before ``run.json``
    existed gets it now.
    """
    out = Path(config.out)
    if not (config.resume and (out / RUN_FILE).is_file()):
        write_json(out / RUN_FILE, {
            "command": command,
            "config_hash": config.config_hash(),
            "env_id": config.env_id,
            "env_settings": {config.env_id: dict(env_settings)},
            "model": model,
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "identity": config.identity(),
            "config": config.to_dict(),
        })  # fmt: skip
    write_text(out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))


def append_metrics(path: Path, record: Mapping[str, Any]) -> None:
    """Append one JSON line (NaN as null) and sync it, so a kill loses at most the line being written."""
    line = json.dumps({k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()})
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def truncate_metrics(path: Path, keep_through: int, warn: Callable[[str], None] = print) -> None:
    """Keep the metric lines of updates <= ``keep_through`` (a resumed run rewrites what follows).

    A torn last line (a kill in the middle of :func:`append_metrics`) is dropped with a warning.

    Raises:
        SetupError: a line other than the last is not valid JSON (the message names file and line).
    """
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            update = int(record["update"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            if number == len(lines):
                warn(f"{path}: dropped a torn last line (the run stopped while writing it): {line[:80]!r}")
                continue
            message = f"{path}, line {number}: not a metrics record ({error}): {line[:80]!r}"
            raise SetupError(message) from None
        if update <= keep_through:
            kept.append(line)
    write_text(path, "".join(line + "\n" for line in kept))
