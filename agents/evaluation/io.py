"""Reading and writing an evaluation run folder, atomically.

A run folder holds:

- ``steps.parquet`` (or ``steps.csv``): the tidy step log (docs/ARCHITECTURE.md section 2);
- ``summary.json``: :func:`analysis.summary.summarize_steps` of that log, as a list of records;
- ``run.json``: how the run was made (the command's arguments, or whatever ``meta`` the caller gives).

When the environment keywords are known (``env_kwargs``, or ``meta["env_kwargs"]``), ``run.json``
gets ``env_settings`` (env id -> every keyword with the value used, defaults included:
:func:`textrl_envs.env_settings`) and each ``summary.json`` record the settings of its env, so a
report can tell a horizon-10 run from a horizon-50 one.

Every file is written to a temporary file in the same folder, flushed to disk (``fsync``), and then
moved into place with ``os.replace`` (the folder is synced too), so a reader never sees a
half-written file, even if the writer is killed or the machine loses power.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas and numpy are imported where used: `textrl --help` imports this module
    import pandas as pd

STEP_FORMATS = ("parquet", "csv")

#: Column dtypes of the tidy step log (``illegal_move`` and ``outcome`` only for tic-tac-toe).
#: ``"str"`` is pandas' default text dtype (``object`` in pandas 2, the ``str`` dtype in pandas 3).
STEP_DTYPES: dict[str, str] = {
    "agent": "str",
    "env_id": "str",
    "seed": "int64",
    "episode": "int64",
    "step": "int64",
    "action_text": "str",
    "action_index": "int64",
    "valid_action": "bool",
    "reward": "float64",
    "env_reward": "float64",
    "regret": "float64",
    "optimal_action": "int64",
    "n_actions": "int64",
    "terminated": "bool",
    "illegal_move": "bool",
    "outcome": "str",
}
_TEXT_COLUMNS = ("agent", "env_id", "action_text", "outcome")


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a file, or a folder's entries, to disk (a no-op where folders cannot be opened)."""
    path = Path(path)
    if path.is_dir():
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:  # Windows cannot open a folder; its renames need no folder sync
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return
    with path.open("rb") as f:
        os.fsync(f.fileno())


def fsync_tree(folder: str | os.PathLike[str]) -> None:
    """:func:`fsync_path` every file under ``folder``, then the folders themselves (deepest first)."""
    folder = Path(folder)
    paths = sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True)
    for path in [*paths, folder]:
        fsync_path(path)


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, sync it, then move it onto ``path``.

    The temporary file is removed if ``write`` raises, so a failed write leaves nothing behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        fsync_path(tmp)  # the data is on disk before the name points at it
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)  # ... and so is the rename
    return path


def _json_ready(value: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, NaN/inf to None (JSON has no NaN), paths to str."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically (NaN becomes ``null``)."""
    return write_text(path, json.dumps(_json_ready(data), indent=2, sort_keys=False) + "\n")


def write_run(
    steps: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    fmt: str = "parquet",
    meta: Mapping[str, Any] | None = None,
    summary: pd.DataFrame | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> Path:
    """Write a run folder: the step log, ``summary.json`` and ``run.json`` (see the module docstring).

    Args:
        steps: the tidy step log from :func:`agents.evaluation.evaluate`.
        out_dir: the folder (created if missing). A step file of the other format left there by an
            earlier run is removed, so :func:`load_steps` never reads a stale log.
        fmt: ``"parquet"`` or ``"csv"``.
        meta: JSON-able description of the run (written as ``run.json``; ``{}`` when None).
        summary: the summary table; computed with ``analysis.summary.summarize_steps`` when None.
        env_kwargs: the keyword arguments the environment was made with (default:
            ``meta["env_kwargs"]``); with them ``run.json`` and ``summary.json`` record the resolved
            ``env_settings``. When neither is given, no settings are recorded (rather than guessed).

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`.
    """
    if fmt not in STEP_FORMATS:
        raise ValueError(f"fmt must be one of {STEP_FORMATS}, got {fmt!r}")
    import pandas as pd

    if not isinstance(steps, pd.DataFrame):
        raise TypeError(f"steps must be a pandas DataFrame (the tidy step log), got {type(steps).__name__}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir {str(out)!r} exists and is not a folder")
    if summary is None:
        from analysis.summary import summarize_steps

        summary = summarize_steps(steps)
    if fmt == "parquet":
        atomic_write(out / "steps.parquet", lambda tmp: steps.to_parquet(tmp, index=False))
    else:
        atomic_write(out / "steps.csv", lambda tmp: steps.to_csv(tmp, index=False))
    stale = out / ("steps.csv" if fmt == "parquet" else "steps.parquet")
    stale.unlink(missing_ok=True)
    meta = dict(meta or {})
    records = summary.to_dict(orient="records")
    if env_kwargs is None and isinstance(meta.get("env_kwargs"), Mapping):
        env_kwargs = meta["env_kwargs"]
    if env_kwargs is not None:
        from textrl_envs import env_settings

        settings = {str(e): env_settings(str(e), env_kwargs) for e in pd.unique(steps["env_id"])}
        meta["env_settings"] = settings
        for record in records:
            record["env_settings"] = settings.get(str(record.get("env_id")))
    write_json(out / "summary.json", records)
    write_json(out / "run.json", meta)
    return out


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: files up to this size are hashed for :func:`model_fingerprint`; larger ones are named by size and mtime
FINGERPRINT_HASH_LIMIT = 64 << 20


def model_fingerprint(model: str) -> dict[str, Any]:
    """What identifies a model's weights, for reusing a finished stage only when they are the same.

    A path alone is not enough: the shipped default model keeps its folder when a new one ships, and an
    RL stage writes its ``final_model`` to the same folder each time it runs.

    Args:
        model: a hub id or a local folder.

    Returns:
        ``{"model": model}`` for a hub id (its weights are the hub's to name), and for a folder also
        ``files``: per top-level ``.json`` / ``.safetensors`` / ``.model`` / ``.txt`` file, its sha256
        (files up to :data:`FINGERPRINT_HASH_LIMIT`) or ``"size:mtime_ns"`` (larger ones: hashing
        gigabytes on every run would cost more than the stage check is worth).
    """
    path = Path(model)
    if not path.is_dir():
        return {"model": model}
    files: dict[str, str] = {}
    for item in sorted(path.iterdir()):
        if not item.is_file() or item.suffix not in (".json", ".safetensors", ".model", ".txt"):
            continue
        stat = item.stat()
        if stat.st_size > FINGERPRINT_HASH_LIMIT:
            files[item.name] = f"{stat.st_size}:{stat.st_mtime_ns}"
            continue
        files[item.name] = sha256_file(item)
    return {"model": model, "files": files}


def load_steps(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the tidy step log of a run folder (``steps.parquet`` or ``steps.csv``).

    CSV loses types, so the known columns are restored to :data:`STEP_DTYPES` (empty text cells,
    which CSV reads as missing, become ``""``): a parquet and a CSV copy of a log load equal.
    ``run_dir`` may also be the path of a step file itself.
    """
    import pandas as pd

    path = Path(run_dir)
    if path.is_file():
        candidates = [path]
    elif path.is_dir():
        candidates = [p for p in (path / "steps.parquet", path / "steps.csv") if p.is_file()]
    else:
        raise FileNotFoundError(f"run folder {str(path)!r} does not exist")
    if not candidates:
        raise FileNotFoundError(f"no steps.parquet or steps.csv in run folder {str(path)!r}")
    step_file = candidates[0]
    if step_file.suffix == ".parquet":
        steps = pd.read_parquet(step_file)
        for column in _TEXT_COLUMNS:  # pandas 2 reads parquet strings as object: same either way
            if column in steps.columns:
                steps[column] = steps[column].astype(STEP_DTYPES[column])
        return steps
    if step_file.suffix != ".csv":
        raise ValueError(f"a step log is a .parquet or .csv file, got {str(step_file)!r}")
    text_columns = {c: str for c in _TEXT_COLUMNS}
    # text cells are kept verbatim (an answer "NA" stays "NA"); only float cells may be missing
    missing = {c: ["", "nan", "NaN"] for c, dtype in STEP_DTYPES.items() if dtype == "float64"}
    steps = pd.read_csv(step_file, dtype=text_columns, keep_default_na=False, na_values=missing)
    for column, dtype in STEP_DTYPES.items():
        if column in steps.columns:
            steps[column] = steps[column].astype(dtype)
    return steps
