"""Small helpers shared by the environments: the text spaces, argument checks, the step guard.

Kept free of any environment logic so each env module stays one readable page.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

#: Every printable ASCII character plus whitespace (``string.printable``: letters, digits,
#: punctuation, space, tab, newline, ...). ``spaces.Text``'s default charset has no space or
#: punctuation, so a prompt would not be "in" the observation space without this.
PRINTABLE_CHARSET: str = string.printable

#: Upper bound on the length of an answer sampled from ``action_space`` (the paper's largest
#: generation budget is 2,048 tokens; a token is a few characters). ``step`` accepts longer strings.
ACTION_MAX_LENGTH = 8192

#: The reward added when the answer names no valid action (SPEC: r_valid = -5).
DEFAULT_INVALID_ACTION_PENALTY = -5.0


def text_space(max_length: int, min_length: int = 0) -> spaces.Text:
    """A ``spaces.Text`` over :data:`PRINTABLE_CHARSET`."""
    return spaces.Text(max_length=max_length, min_length=min_length, charset=PRINTABLE_CHARSET)


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed`` (naming the allowed values)."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[low, high]``, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {bound}, got {value}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool``, else raise ``TypeError``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool (True or False), got {value!r}")
    return value


def check_float(name: str, value: Any, *, positive: bool = False, non_positive: bool = False) -> float:
    """Return ``value`` as a finite ``float``; optionally require > 0 or <= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if non_positive and value > 0:
        raise ValueError(f"{name} must be <= 0 (it is added to the reward as a penalty), got {value}")
    return value


def check_step_input(action: Any, done: bool, started: bool) -> None:
    """The guard at the top of every ``step``: a ``str`` answer, in a running episode."""
    if not isinstance(action, str):
        raise TypeError(f"step() expects the agent's answer as a str, got {type(action).__name__}")
    if not started:
        raise RuntimeError("step() called before reset(); call reset() first")
    if done:
        raise RuntimeError("step() called after the episode ended; call reset() to start a new one")


def check_render_mode(render_mode: str | None) -> str | None:
    """Only ``None`` and ``"ansi"`` are supported (the observation is text)."""
    check_choice("render_mode", render_mode, [None, "ansi"])
    return render_mode
