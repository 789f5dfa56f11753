"""Find the embedded base model: the shipped one, or one built once into a cache folder and reused.

Sizes in :data:`~agents.base_model.shipped.SHIPPED_SIZES` (``default``) come with the package
(``agents/base_model/weights/<size>``, checked against their manifest); the others (``quick`` for
tests and ``demo --quick``, ``reader``, ``gpu``) are pretrained on first use. Cache layout:
``<cache>/base-model-<size>-v3/`` holds the ``save_pretrained`` files; the marker file
``COMPLETE`` is written last, so a folder without it (an interrupted build) is resumed from its
checkpoint, never used half-built. The cache root is ``$TEXTRL_CACHE`` or ``~/.cache/textrl``.
Bump ``CACHE_VERSION`` whenever the data mixture or the training recipe changes.

The cache is shared by every process on the machine (two ``textrl`` commands, the ranks of an
``accelerate launch``): a build holds an exclusive lock on ``base-model-<size>-v3.lock`` next to the
folder (``fcntl.flock``, released by the system if the process dies), and a process that finds it
held waits, then uses the model the other one built. Without ``fcntl`` (Windows) there is no lock.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agents.base_model.config import BASE_MODEL_SIZES, resolve_config
from agents.base_model.pretrain import pretrain
from agents.base_model.shipped import SHIPPED_SIZES, shipped_model_dir
from agents.evaluation.io import write_json

CACHE_VERSION = "v3"
COMPLETE_MARKER = "COMPLETE"
CACHE_ENV_VAR = "TEXTRL_CACHE"


def default_cache_dir() -> Path:
    """``$TEXTRL_CACHE`` if set (and non-empty), else ``~/.cache/textrl``."""
    value = os.environ.get(CACHE_ENV_VAR)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "textrl"


def base_model_dir(size: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the model of ``size`` (a built size, not a shipped one) lives (or will live) in the cache."""
    if size in SHIPPED_SIZES:
        raise ValueError(f"base model size {size!r} ships with the package ({shipped_model_dir.__module__}); "
                         "it has no cache folder")
    try:
        resolve_config(size)
    except ValueError:
        raise ValueError(
            f"unknown base model size {size!r}; allowed: {sorted([*SHIPPED_SIZES, *BASE_MODEL_SIZES])}"
        ) from None
    root = default_cache_dir() if cache_dir is None else Path(cache_dir)
    return root / f"base-model-{size}-{CACHE_VERSION}"


def ensure_base_model(
    size: str = "default", cache_dir: str | os.PathLike[str] | None = None, progress: bool = True
) -> Path:
    """Return the folder of the embedded base model of ``size``, pretraining it first if needed.

    Args:
        size: ``"default"`` (shipped with the package: nothing to build), ``"quick"`` (<= 1 min on
            2 CPU cores, the format only), ``"reader"`` (the recipe of issue 12, hours on 2 CPU
            cores) or ``"gpu"`` (pretrained on first use; a GPU recommended).
        cache_dir: cache root (default :func:`default_cache_dir`).
        progress: show the pretraining progress bar.

    Returns:
        A folder that ``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer.from_pretrained`` load.

    Raises:
        ValueError: ``size`` is not a known size (the message lists them).
    """
    if not isinstance(size, str):
        raise TypeError(f"size must be a str naming a base model size, got {type(size).__name__}")
    if size in SHIPPED_SIZES:
        return shipped_model_dir(size)
    folder = base_model_dir(size, cache_dir)
    marker = folder / COMPLETE_MARKER
    if marker.is_file():
        return folder
    with build_lock(folder, progress=progress):
        if marker.is_file():  # another process built it while this one waited
            return folder
        pretrain(size, folder, seed=0, resume=True, progress=progress)
        write_json(marker, {"size": size, "version": CACHE_VERSION})  # atomic, written last
    return folder


@contextmanager
def build_lock(folder: Path, *, progress: bool = True) -> Iterator[None]:
    """Hold the exclusive build lock of a cache folder (see the module docstring)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if progress:
                print(f"[base model] another process is building {folder}; waiting for it", file=sys.stderr)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
