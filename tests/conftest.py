"""Suite-wide fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """Each test starts with no accelerate state: tests that build an ``Accelerator(cpu=True)`` themselves
    (not through the trainer, which resets it) would otherwise clash on a GPU machine with an earlier
    test's CUDA / bf16 state in the process-wide singleton."""
    yield
    from agents.rlft.trainer import forget_single_process_state

    forget_single_process_state()
