"""Read the UCB values an agent wrote inside ``<ucb_values>...</ucb_values>``, and the true ones.

The knowing-doing prompt (``render_bandit_prompt(..., prompt_style="ucb")``) asks for one
``NAME=VALUE`` line per arm inside the tags. Models rarely follow a format exactly, so the parser
is tolerant; what it accepts, for arms ``red, green, blue``:

==========================================================  ==================================
inside the block                                            parsed
==========================================================  ==================================
``red=1.04`` / ``red: 1.04`` / ``- **red**: 1.04``          red -> 1.04
``UCB(red) = 0.54 + sqrt(1/4) = 1.04``                      red -> 1.04 (value after the last
                                                            ``=`` / ``:`` / ``->``)
``red: 1.04 (pressed 4 times)``                             red -> 1.04 (first number after it)
``green = inf`` / ``infinity`` / ``∞`` / ``untried``        green -> +inf
``Red=1.0, GREEN=2.5; blue=-0.3`` (one line)                all three (case-insensitive)
``red=1.0 ... red=1.2`` (named twice)                       red -> 1.2 (last value wins)
mention without a value (``so red is best``)                ignored
==========================================================  ==================================

Numeric labels (the continuous variant, arms ``0..k-1``) are only recognised at the start of a line
or after ``arm``/``action``/``button``/``#``, because bare digits also appear in the arithmetic.

Several blocks: the last one that yields any value is used (a model may first echo the empty
format ``<ucb_values>...</ucb_values>``). A missing closing tag extends the block to the end of the
text. The result's ``status`` is ``"ok"`` (every arm has a value), ``"incomplete"`` (some arms
missing), ``"no_values"`` (a block but no value) or ``"no_block"``; anything but ``"ok"`` is
*unparsable*: the knowing-doing table counts it as an incorrect rationale and reports it apart.

True values follow the paper's expert rationales (SPEC): ``UCB_a = mean_a + sqrt(1 / n_a)``, an
untried arm has ``UCB = +inf``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "PARSE_STATUSES",
    "UCBParse",
    "parse_ucb_values",
    "paper_ucb_values",
    "top_set",
    "rationale_correct",
]

PARSE_STATUSES = ("ok", "incomplete", "no_values", "no_block")

_BLOCK = re.compile(
    r"<\s*ucb[ _-]?values\s*>(.*?)(?:<\s*/\s*ucb[ _-]?values\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_SEPARATOR = re.compile(r"=|:|->|\u2192|\u2248")  # =, :, ->, →, ≈
_VALUE = re.compile(
    r"(?P<inf>\+?(?:infinity|infinite|inf)\b|\+?\u221e|untried|not\s+(?:yet\s+)?(?:tried|pressed|pulled)|unexplored)"
    r"|(?P<num>[-+\u2212]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class UCBParse:
    """What :func:`parse_ucb_values` read.

    Attributes:
        values: arm name -> value for every arm that had one (``+inf`` allowed).
        status: one of ``PARSE_STATUSES`` (see the module docstring).
        missing: arm names without a value.
    """

    values: dict[str, float] = field(default_factory=dict)
    status: str = "no_block"
    missing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every arm has a value."""
        return self.status == "ok"


def _name_pattern(action_names: Sequence[str]) -> re.Pattern[str]:
    parts = []
    for name in sorted(action_names, key=len, reverse=True):  # longest first: "10" before "1"
        escaped = re.escape(name)
        if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", name):
            # a bare number is only a label at a line start (after bullets/emphasis) or after a keyword
            parts.append(
                rf"(?:(?:(?<=\n)|^)[ \t>*_`'\"#\-\u2022]*|(?:arm|action|button|#)\s*[*_`'\"]*)"
                rf"(?P<n{len(parts)}>{escaped})(?![\w.])"
            )
        else:
            parts.append(rf"(?<![\w])(?P<n{len(parts)}>{escaped})(?!\w)")
    return re.compile("|".join(parts), re.IGNORECASE)


def _segment_value(segment: str) -> float | None:
    """The value a segment (text after a name, before the next name) assigns, or None."""
    seps = list(_SEPARATOR.finditer(segment))
    tail = segment[seps[-1].end():] if seps else segment
    match = _VALUE.search(tail)
    if match is None:
        return None
    if match.group("inf"):
        return math.inf
    return float(match.group("num").replace("\u2212", "-"))


def _parse_block(block: str, action_names: Sequence[str], pattern: re.Pattern[str]) -> dict[str, float]:
    lower_to_name = {name.lower(): name for name in action_names}
    mentions = []
    for match in pattern.finditer(block):
        group = next(g for g, v in match.groupdict().items() if v is not None)
        mentions.append((lower_to_name[match.group(group).lower()], match.end(), match.start(group)))
    values: dict[str, float] = {}
    for i, (name, end, _) in enumerate(mentions):
        stop = mentions[i + 1][2] if i + 1 < len(mentions) else len(block)
        value = _segment_value(block[end:stop])
        if value is not None:
            values[name] = value  # a later mention with a value overrides an earlier one
    return values


def parse_ucb_values(text: str, action_names: Sequence[str]) -> UCBParse:
    """Parse the last ``<ucb_values>`` block of ``text`` that holds values (see module docstring).

    Raises:
        TypeError: ``text`` is not a str.
        ValueError: ``action_names`` is empty.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str (the agent's answer), got {type(text).__name__}")
    if len(action_names) == 0:
        raise ValueError("action_names must not be empty")
    blocks = [m.group(1) for m in _BLOCK.finditer(text)]
    if not blocks:
        return UCBParse({}, "no_block", tuple(action_names))
    pattern = _name_pattern(action_names)
    values: dict[str, float] = {}
    for block in reversed(blocks):
        values = _parse_block(block, action_names, pattern)
        if values:
            break
    missing = tuple(name for name in action_names if name not in values)
    if not values:
        return UCBParse({}, "no_values", missing)
    return UCBParse(values, "ok" if not missing else "incomplete", missing)


def paper_ucb_values(counts: Sequence[int], sums: Sequence[float]) -> np.ndarray:
    """``mean + sqrt(1 / n)`` per arm, ``+inf`` for untried arms. Returns a (k,) float array."""
    counts_arr = np.asarray(counts, dtype=float)  # (k,)
    sums_arr = np.asarray(sums, dtype=float)  # (k,)
    if counts_arr.shape != sums_arr.shape:
        raise ValueError(
            f"counts and sums must have the same shape, got {counts_arr.shape} and {sums_arr.shape}"
        )
    if (counts_arr < 0).any():
        raise ValueError("counts must be >= 0")
    safe = np.maximum(counts_arr, 1.0)
    return np.where(counts_arr > 0, sums_arr / safe + np.sqrt(1.0 / safe), np.inf)


def top_set(values: Sequence[float], tol: float = 1e-9) -> set[int]:
    """Indices whose value is within ``tol`` of the maximum (all tied ``+inf`` arms when any)."""
    arr = np.asarray(values, dtype=float)  # (k,)
    best = arr.max()
    if math.isinf(best):
        return {int(i) for i in np.flatnonzero(arr == best)}
    return {int(i) for i in np.flatnonzero(arr >= best - tol)}


def rationale_correct(parsed: UCBParse, action_names: Sequence[str], true_ucb: Sequence[float],
                      tol: float = 0.01) -> bool:
    """Is the arm the agent's own values rank highest the arm with the highest true UCB?

    Every arm tied at the top of the agent's values must have a true UCB within ``tol`` of the true
    maximum (``tol`` absorbs the 2-decimal rounding the prompt invites; ``+inf`` only matches
    ``+inf``). An unparsable rationale (``status != "ok"``) is incorrect.
    """
    if not parsed.ok:
        return False
    model = [parsed.values[name] for name in action_names]
    truth = np.asarray(true_ucb, dtype=float)  # (k,)
    near_best = top_set(truth, tol)
    return top_set(model, 0.0) <= near_best
