"""Suite-wide fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """Each test starts with no accelerate state: tests that build an ``Accelerator(cpu=True)`` themselves
    (not through the trainer, which resets it) would otherwise clash on a GPU machine with an earlier
    test's CUDA / bf16 state in the process-wide singleton."""
    yield
    from agents.rlft.trainer import forget_single_process_state

    forget_single_process_state()


SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` as a module (the scripts folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_script():
    """``load_script("bench_env")``: the module of ``scripts/bench_env.py``, for tests of a script."""
    return _load_script


class Interrupt(Exception):
    """Raised by :func:`_interrupt_at`'s callback: a run stopped as if killed mid-way."""


def _interrupt_at(n: int):
    """A training callback (``on_update`` of ``train``, ``on_step`` of ``train_sft``) that raises
    :class:`Interrupt` when called for update / step ``n``, after that step's checkpoint is written."""

    def callback(step: int, metrics: dict) -> None:
        if step == n:
            raise Interrupt

    return callback


@pytest.fixture(scope="session")
def interrupt():
    """``interrupt.at(2)`` is a callback that stops a run after update 2 by raising ``interrupt.Error``."""
    return SimpleNamespace(Error=Interrupt, at=_interrupt_at)
