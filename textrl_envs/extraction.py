"""Action extraction: which action, if any, does an agent's free-form answer name?

The paper uses a permissive stack of patterns for ``ACTION=X`` and takes the LAST match in the
generated text (a model often restates the format, "answer in the format ACTION=X", before its
final answer). This module implements that as one pass of one regular expression whose
quantifiers are all bounded (no catastrophic backtracking), so its cost is linear in the length
of the text (a 1 MB adversarial string takes 0.01-0.1 s).

What is tolerated, for names ``["red", "green", "star_wars_(1977)", "3"]``:

* ``ACTION=red`` -> red
* ``action = Red`` -> red (case, spaces)
* ``ACTION="red"``, ``ACTION='red'`` -> red (quotes)
* ``**ACTION=red**``, ``ACTION=**red**``, ``**ACTION**=red`` -> red (markdown emphasis)
* ``ACTION=`red`.``, ``(ACTION=red)``, ``ACTION=[red]`` -> red (ticks, brackets, punctuation)
* ``ACTION=star_wars_(1977).`` -> star_wars_(1977)
* ``ACTION=red ... ACTION=green`` -> green (last match wins)
* ``ACTION=redish`` -> none (a name must end at a word boundary)
* ``ACTION=12`` with names 0..9 -> none (out of range); ``ACTION=3.5`` -> none
* ``reaction=red`` -> none (``action`` must start a word)
* ``ACTION: red`` -> none (the target pattern is ``ACTION=X``)

Matching is case-insensitive, so names must be distinct ignoring case.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

# Characters skipped between "=" and the value: spaces, quotes, emphasis, opening brackets.
_LEAD_CLASS = r"[ \t*_`'\"\[(<{\u201c\u2018]"
# Characters that end the raw value (``Extraction.matched``).
_RAW_STOP = frozenset(" \t\r\n*`'\"[]<>{},;!?\u201d\u2019")
_LEAD_CHARS = frozenset(" \t*_`'\"[(<{\u201c\u2018")
_RAW_TRAIL = ".:_"  # stripped from the end of ``matched`` ("ACTION=_red_." -> "red")
_MAX_RAW = 200  # longest raw value recorded; keeps pathological inputs cheap


class Extraction(NamedTuple):
    """Result of :func:`extract_action`.

    Attributes:
        index: position in ``action_names`` of the last ``ACTION=X`` whose X names an action, or
            ``None`` when no match names one (the env then executes a random valid action).
        matched: the raw X (as written, decorations stripped) of the last ``ACTION=`` occurrence,
            whether or not it names an action; ``None`` when the text has no ``ACTION=`` at all.
    """

    index: int | None
    matched: str | None


def _check_names(action_names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(action_names, str) or not isinstance(action_names, Sequence):
        raise TypeError(f"action_names must be a sequence of str, got {type(action_names).__name__}")
    if len(action_names) == 0:
        raise ValueError("action_names must not be empty")
    seen: dict[str, str] = {}
    for i, name in enumerate(action_names):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"action_names[{i}] must be a non-empty str, got {name!r}")
        if name.lower() in seen:
            raise ValueError(
                f"action_names must be distinct ignoring case; {name!r} repeats {seen[name.lower()]!r}"
            )
        seen[name.lower()] = name
    return tuple(action_names)


@lru_cache(maxsize=256)
def _compile(names: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, int]]:
    """One pattern per name list: key, bounded decorations, then optionally a whole name.

    Every quantifier is bounded or runs over a class that cannot match the letters of "action",
    and the name alternation is bounded by the longest name, so backtracking per match is
    constant and ``finditer`` is linear in the text length.
    """
    # Longest first, so "star_wars_(1977)" wins over a shorter name that prefixes it.
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    # A name must end a word: not followed by a letter/digit ("redish", "12" for name "1"),
    # nor by a decimal part ("3.5" is not arm 3, though "3." at a sentence end is).
    pattern = (
        r"\baction[ \t*_`]{0,16}=" + _LEAD_CLASS + r"{0,16}"
        r"(?:(" + alternation + r")(?![^\W_]|[.,]\d))?"
    )
    lookup = {n.lower(): i for i, n in enumerate(names)}
    return re.compile(pattern, re.IGNORECASE), lookup


def _raw_value(text: str, start: int) -> str:
    """The value as written, from ``start`` up to the first stop character (capped)."""
    lead_limit = min(len(text), start + 16)  # bounded, like the pattern's decoration run
    while start < lead_limit and text[start] in _LEAD_CHARS:
        start += 1
    end = start
    limit = min(len(text), start + _MAX_RAW)
    while end < limit and text[end] not in _RAW_STOP:
        end += 1
    raw = text[start:end].rstrip(_RAW_TRAIL)
    # A closing parenthesis belongs to the value only if the value opened one: "(ACTION=red)".
    while raw.endswith(")") and raw.count(")") > raw.count("("):
        raw = raw[:-1].rstrip(_RAW_TRAIL)
    return raw


def extract_action(text: str, action_names: Sequence[str]) -> Extraction:
    """Find the action an answer names; see the module docstring for what is tolerated.

    Args:
        text: the agent's whole answer.
        action_names: the labels of the actions, index = action index (e.g. colours, "0".."8",
            movie names). Compared case-insensitively.

    Returns:
        :class:`Extraction` with the index of the last valid ``ACTION=X`` and the raw last X.

    Raises:
        TypeError: ``text`` is not a ``str`` or ``action_names`` is not a sequence of ``str``.
        ValueError: ``action_names`` is empty, has an empty name, or repeats a name ignoring case.

    Example:
        >>> extract_action("I'd explore. ACTION=**Blue**.", ["red", "blue"])
        Extraction(index=1, matched='Blue')
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    pattern, lookup = _compile(_check_names(action_names))
    last_name: str | None = None
    last_key_end = -1
    for m in pattern.finditer(text):
        last_key_end = m.start(1) if m.group(1) is not None else m.end()
        if m.group(1) is not None:
            last_name = m.group(1)
    if last_key_end < 0:
        return Extraction(None, None)
    index = None if last_name is None else lookup[last_name.lower()]
    return Extraction(index, _raw_value(text, last_key_end))
