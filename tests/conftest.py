"""Suite-wide fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """Each test starts with no accelerate state: on a GPU machine one test's trainer (CUDA, bf16) and
    the next test's ``Accelerator(cpu=True)`` would otherwise clash in the process-wide singleton."""
    yield
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
