"""The action extractor: a table of answers, error paths, and linear time on adversarial input."""

from __future__ import annotations

import time

import pytest

from textrl_envs.extraction import Extraction, extract_action

NAMES = ["red", "green", "blue", "star_wars_(1977)", "3"]
DIGITS = [str(i) for i in range(10)]


@pytest.mark.parametrize(
    ("text", "names", "index", "matched"),
    [
        # valid, with the tolerated decorations
        ("ACTION=red", NAMES, 0, "red"),
        ("action=RED", NAMES, 0, "RED"),
        ("ACTION = green", NAMES, 1, "green"),
        ("Action  =\tblue", NAMES, 2, "blue"),
        ('ACTION="blue"', NAMES, 2, "blue"),
        ("ACTION='blue'", NAMES, 2, "blue"),
        ("**ACTION=blue**", NAMES, 2, "blue"),
        ("ACTION=**blue**", NAMES, 2, "blue"),
        ("**ACTION**=blue", NAMES, 2, "blue"),
        ("ACTION=_blue_", NAMES, 2, "blue"),
        ("ACTION=`blue`.", NAMES, 2, "blue"),
        ("ACTION=blue.", NAMES, 2, "blue"),
        ("ACTION=blue!", NAMES, 2, "blue"),
        ("(ACTION=blue)", NAMES, 2, "blue"),
        ("ACTION=[blue]", NAMES, 2, "blue"),
        ("ACTION=star_wars_(1977)", NAMES, 3, "star_wars_(1977)"),
        ("ACTION=Star_Wars_(1977).", NAMES, 3, "Star_Wars_(1977)"),
        ("ACTION=3", NAMES, 4, "3"),
        ("ACTION=3.", NAMES, 4, "3"),
        ("Thinking... so ACTION=red\n", NAMES, 0, "red"),
        # last match wins
        ("ACTION=red then ACTION=green", NAMES, 1, "green"),
        ("format ACTION=X. I pick ACTION=blue", NAMES, 2, "blue"),
        ("ACTION=green ... restating the format ACTION=X", NAMES, 1, "X"),
        ("ACTION=9 ACTION=7", DIGITS, 7, "7"),
        # invalid
        ("red", NAMES, None, None),
        ("", NAMES, None, None),
        ("ACTION=", NAMES, None, ""),
        ("ACTION=purple", NAMES, None, "purple"),
        ("ACTION=redish", NAMES, None, "redish"),
        ("ACTION=3.5", NAMES, None, "3.5"),
        ("reaction=red", NAMES, None, None),
        ("ACTION: red", NAMES, None, None),
        # out of range
        ("ACTION=12", DIGITS, None, "12"),
        ("ACTION=-1", DIGITS, None, "-1"),
        ("ACTION=10", ["0", "1"], None, "10"),
    ],
)
def test_extraction_table(text, names, index, matched):
    assert extract_action(text, names) == Extraction(index, matched)


@pytest.mark.parametrize(
    "text",
    [
        "ACTION=" * 150_000,  # many keys, none with a value
        "a" * 1_000_000,
        "action" + " " * 1_000_000,  # key without "="
        "ACTION=" + "r" * 1_000_000,  # a value that never ends
        "ACTION=" + "*" * 1_000_000,  # decorations that never end
        "**ACTION**=(" * 100_000,
        "action*" * 150_000,
        "ACTION=red " * 91_000,  # many valid matches
    ],
)
def test_adversarial_megabyte_is_fast(text):
    assert len(text) >= 1_000_000
    start = time.perf_counter()
    extract_action(text, NAMES)
    assert time.perf_counter() - start < 0.5  # linear scan: ~0.01-0.1 s on a slow core


def test_many_valid_matches_last_wins():
    text = "ACTION=red " * 90_000 + "ACTION=green"
    assert extract_action(text, NAMES).index == 1


@pytest.mark.parametrize(
    ("text", "names", "error", "match"),
    [
        (b"ACTION=red", NAMES, TypeError, "text must be a str, got bytes"),
        ("ACTION=red", "red", TypeError, "action_names must be a sequence of str, got str"),
        ("ACTION=red", [], ValueError, "action_names must not be empty"),
        ("ACTION=red", ["red", ""], ValueError, r"action_names\[1\] must be a non-empty str"),
        ("ACTION=red", ["red", 3], ValueError, r"action_names\[1\] must be a non-empty str"),
        ("ACTION=red", ["red", "Red"], ValueError, "distinct ignoring case"),
    ],
)
def test_extraction_errors(text, names, error, match):
    with pytest.raises(error, match=match):
        extract_action(text, names)
