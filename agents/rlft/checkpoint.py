"""Atomic training checkpoints: model, optimizer, scheduler, RNG states and the update counter.

Layout of ``<out>/checkpoints/step_XXXXXX/`` (XXXXXX = updates completed)::

    model.safetensors      every parameter of the trained module (LM + value head), safetensors only
    optimizer.pt           optimizer.state_dict() (tensors and plain values: loads with weights_only=True)
    scheduler.pt           scheduler.state_dict()
    rng_rank{R}.pt         Python, NumPy and torch RNG states of process R
    state.json             {"update": N, "nonfinite_in_a_row": K, ...}; written last

A checkpoint is built in a hidden temporary folder and moved into place with one ``os.replace``, so
``step_XXXXXX`` either exists complete or not at all; :func:`latest_checkpoint` also ignores any
folder without ``state.json``. Nothing is ever unpickled: ``torch.load(..., weights_only=True)``.
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

PREFIX = "step_"


def checkpoint_dir(out: str | Path, update: int) -> Path:
    return Path(out) / "checkpoints" / f"{PREFIX}{update:06d}"


def latest_checkpoint(out: str | Path) -> Path | None:
    """The complete checkpoint with the most updates under ``<out>/checkpoints``, or None."""
    root = Path(out) / "checkpoints"
    if not root.is_dir():
        return None
    done = [p for p in root.iterdir() if p.name.startswith(PREFIX) and (p / "state.json").is_file()]
    return max(done, key=lambda p: int(p.name[len(PREFIX) :])) if done else None


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
        if final.exists():
            shutil.rmtree(final)  # a stale checkpoint of the same step (re-run into the same folder)
        os.replace(tmp, final)
    wait()
    return final


def load_checkpoint(
    path: str | Path,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    rank: int = 0,
) -> dict[str, Any]:
    """Restore a checkpoint written by :func:`save_checkpoint`; return its ``state.json``.

    Raises:
        FileNotFoundError: ``path`` is not a complete checkpoint.
    """
    path = Path(path)
    if not (path / "state.json").is_file():
        raise FileNotFoundError(f"no complete checkpoint (state.json) in {path}")
    load_model(module, str(path / "model.safetensors"))
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    rng_file = path / f"rng_rank{rank}.pt"
    if rng_file.is_file():
        set_rng_state(torch.load(rng_file, weights_only=True))
    return json.loads((path / "state.json").read_text())
