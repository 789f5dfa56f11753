"""Atomic training checkpoints: model, optimizer, scheduler, RNG states and the update counter.

Layout of ``<out>/checkpoints/step_XXXXXX/`` (XXXXXX = updates completed)::

    model.safetensors      every parameter of the trained module (LM + value head), safetensors only
    optimizer.pt           optimizer.state_dict() (tensors and plain values: loads with weights_only=True)
    scheduler.pt           scheduler.state_dict()
    rng_rank{R}.pt         Python, NumPy and torch RNG states of process R
    state.json             {"update": N, "nonfinite_in_a_row": K, ...}; written last

A checkpoint is built in a hidden temporary folder, synced to disk (every file, then the folder),
and moved into place with one ``os.replace`` (the parent folder is synced after it), so
``step_XXXXXX`` either exists complete or not at all, even after a power loss;
:func:`complete_checkpoints` also ignores any folder without ``state.json``. Nothing is ever
unpickled: ``torch.load(..., weights_only=True)``.

:func:`load_latest_checkpoint` restores the newest checkpoint that loads; one that does not (a
corrupt file, or a ``config_hash`` in ``state.json`` that is not this run's) is reported by path and
file, and the previous one is tried.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model, save_model

from agents.evaluation.io import fsync_path, fsync_tree

PREFIX = "step_"


def checkpoint_dir(out: str | Path, update: int) -> Path:
    return Path(out) / "checkpoints" / f"{PREFIX}{update:06d}"


def _step(path: Path) -> int | None:
    digits = path.name[len(PREFIX) :]
    return int(digits) if path.name.startswith(PREFIX) and digits.isdigit() else None


def complete_checkpoints(out: str | Path) -> list[Path]:
    """The checkpoints under ``<out>/checkpoints`` that hold ``state.json``, newest first."""
    root = Path(out) / "checkpoints"
    if not root.is_dir():
        return []
    done = [p for p in root.iterdir() if _step(p) is not None and (p / "state.json").is_file()]
    return sorted(done, key=lambda p: _step(p) or 0, reverse=True)


def latest_checkpoint(out: str | Path) -> Path | None:
    """The complete checkpoint with the most updates under ``<out>/checkpoints``, or None."""
    done = complete_checkpoints(out)
    return done[0] if done else None


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch RNG states as tensors / plain values (safe for weights_only loading)."""
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_rest": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_as_tuple(state["python"]))
    name, pos, has_gauss, cached = state["numpy_rest"]
    np.random.set_state((name, state["numpy_keys"].numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def save_checkpoint(
    out: str | Path,
    update: int,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: dict[str, Any],
    *,
    rank: int = 0,
    is_main: bool = True,
    barrier: Any = None,
) -> Path:
    """Write ``checkpoints/step_{update:06d}`` atomically and return its path.

    Under several processes every rank calls this: each writes its RNG state into the temporary
    folder, then the main process writes the rest and moves the folder into place. ``barrier`` is
    a callable that waits for all processes (``accelerator.wait_for_everyone``).
    """
    final = checkpoint_dir(out, update)
    tmp = final.parent / f".tmp_{final.name}"
    wait = barrier or (lambda: None)
    if is_main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    wait()
    torch.save(rng_state(), tmp / f"rng_rank{rank}.pt")
    wait()
    if is_main:
        save_model(module, str(tmp / "model.safetensors"))
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        (tmp / "state.json").write_text(json.dumps({"update": update, **state}, indent=2))
        fsync_tree(tmp)  # every file (the other ranks' RNG files too) is on disk before the rename
        if final.exists():
            shutil.rmtree(final)  # a stale or corrupt checkpoint of the same step (a resumed run redoing it)
        os.replace(tmp, final)
        fsync_path(final.parent)
    wait()
    return final


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be restored; the message names the folder and the file."""


def _read(path: Path, read: Any) -> Any:
    try:
        return read(path)
    except Exception as error:  # safetensors, torch and json raise their own types; name the file
        raise CheckpointError(f"{path}: {type(error).__name__}: {error}") from error


def read_state(path: str | Path) -> dict[str, Any]:
    """``state.json`` of a checkpoint, checked: a mapping whose ``update`` matches the folder name."""
    path = Path(path)
    state = _read(path / "state.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
    if not isinstance(state, dict) or not isinstance(state.get("update"), int):
        raise CheckpointError(f"{path / 'state.json'}: expected {{\"update\": N, ...}}, got {state!r:.80}")
    if _step(path) is not None and state["update"] != _step(path):
        message = f"{path / 'state.json'}: says update {state['update']}, its folder {_step(path)}"
        raise CheckpointError(message)
    return state


def load_checkpoint(
    path: str | Path,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    rank: int = 0,
    config_hash: str | None = None,
) -> dict[str, Any]:
    """Restore a checkpoint written by :func:`save_checkpoint`; return its ``state.json``.

    ``config_hash``, when given, must match the one the checkpoint recorded (if it recorded one).

    Raises:
        FileNotFoundError: ``path`` is not a complete checkpoint.
        CheckpointError: a file cannot be read or restored, or the checkpoint is another run's (the
            message names the file). Restoring may have begun: load another checkpoint after it.
    """
    path = Path(path)
    if not (path / "state.json").is_file():
        raise FileNotFoundError(f"no complete checkpoint (state.json) in {path}")
    state = read_state(path)
    recorded = state.get("config_hash")
    if config_hash is not None and recorded is not None and recorded != config_hash:
        raise CheckpointError(
            f"{path / 'state.json'}: written by another run (config hash {recorded}, this run {config_hash})"
        )
    _read(path / "model.safetensors", lambda p: load_model(module, str(p)))
    optimizer.load_state_dict(_read(path / "optimizer.pt", lambda p: torch.load(p, weights_only=True)))
    scheduler.load_state_dict(_read(path / "scheduler.pt", lambda p: torch.load(p, weights_only=True)))
    rng_file = path / f"rng_rank{rank}.pt"
    if rng_file.is_file():
        set_rng_state(_read(rng_file, lambda p: torch.load(p, weights_only=True)))
    return state


def load_latest_checkpoint(
    out: str | Path,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    rank: int = 0,
    config_hash: str | None = None,
    warn: Any = print,
    at_most: int | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Restore the newest checkpoint of ``out`` that loads (with at most ``at_most`` updates).

    Each one that fails is reported through ``warn`` by its path and file, and the previous one is
    tried; the module, optimizer and scheduler then hold the checkpoint returned (every part is
    overwritten by the load that succeeds).

    Raises:
        FileNotFoundError: ``out`` holds no complete checkpoint.
        CheckpointError: none of them loads (the message lists each one's problem).
    """
    candidates = [p for p in complete_checkpoints(out) if at_most is None or (_step(p) or 0) <= at_most]
    if not candidates:
        raise FileNotFoundError(f"{Path(out) / 'checkpoints'} holds no complete checkpoint")
    problems = []
    for path in candidates:
        try:
            return path, load_checkpoint(
                path, module, optimizer, scheduler, rank=rank, config_hash=config_hash
            )
        except CheckpointError as error:
            problems.append(str(error))
            warn(f"checkpoint {path} cannot be restored ({error}); trying the previous one")
    raise CheckpointError("no checkpoint of this run can be restored: " + "; ".join(problems))
