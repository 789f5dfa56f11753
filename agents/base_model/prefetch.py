"""The training batches of a run of steps, made ahead in worker processes (for fast devices).

On a GPU the model trains a step of the reader recipe in a few milliseconds, while writing and
tokenising its ~6k tokens of episodes takes ~45 ms of one CPU core: the data, not the device, sets
the pace. Because the batch of step ``s`` is a pure function of ``(seed, s)``
(:func:`agents.base_model.data.training_sequences`), workers can make the batches of later steps in
any order and the trainer gets exactly the sequences it would have made itself: the weights do not
depend on the number of workers.

``workers=0`` makes every batch in the calling process (the CPU recipes: no process start-up, and
the two cores are busy training anyway).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.base_model.data import training_sequences
from agents.rlft.packing import PackedSequence

_TOKENIZER: Any = None  # one per worker process, loaded by _init_worker


def _init_worker(tokenizer_dir: str) -> None:
    global _TOKENIZER
    from transformers import AutoTokenizer

    torch.set_num_threads(1)  # the workers share the machine's cores with each other and the trainer
    _TOKENIZER = AutoTokenizer.from_pretrained(tokenizer_dir)


def _to_arrays(seq: PackedSequence) -> dict[str, Any]:
    # numpy arrays pickle as bytes; torch tensors would travel as shared-memory file descriptors,
    # thousands of which can be in flight at once
    return {f.name: (v.numpy() if torch.is_tensor(v) else v)
            for f in dataclasses.fields(seq) for v in [getattr(seq, f.name)]}


def _from_arrays(fields: dict[str, Any]) -> PackedSequence:
    return PackedSequence(**{k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v)
                             for k, v in fields.items()})


def _make_step(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    return [_to_arrays(seq) for seq in training_sequences(_TOKENIZER, **kwargs)]


def step_batches(
    tokenizer: Any,
    tokenizer_dir: str | Path,
    step_kwargs: Any,
    start: int,
    stop: int,
    *,
    workers: int = 0,
) -> Iterator[list[PackedSequence]]:
    """Yield the packed sequences of steps ``start, ..., stop - 1`` in order.

    Args:
        tokenizer: the run's tokenizer (used in-process when ``workers == 0``).
        tokenizer_dir: the folder it was saved to (each worker loads it from there).
        step_kwargs: ``step -> dict`` of keyword arguments for
            :func:`~agents.base_model.data.training_sequences` (everything but the tokenizer).
        workers: worker processes (0: none); up to ``2 * workers`` steps are made ahead.
    """
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if workers == 0:
        for step in range(start, stop):
            yield training_sequences(tokenizer, **step_kwargs(step))
        return
    # spawn: the parent may already hold a CUDA context, which a forked child must not inherit
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(str(tokenizer_dir),)) as pool:
        pending: deque[Future] = deque()
        next_step = start
        while next_step < stop or pending:
            while next_step < stop and len(pending) < 2 * workers:
                pending.append(pool.submit(_make_step, step_kwargs(next_step)))
                next_step += 1
            yield [_from_arrays(fields) for fields in pending.popleft().result()]
