"""The tolerant <ucb_values> parser, the paper's UCB values and the correctness rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.probes.ucb_parsing import paper_ucb_values, parse_ucb_values, rationale_correct, top_set

NAMES = ["red", "green", "blue"]
INF = math.inf

GOOD_ODD_GARBAGE = [
    # (answer, status, values)
    (
        "<ucb_values>\nred=1.04\ngreen=inf\nblue=0.3\n</ucb_values>\nACTION=green",
        "ok",
        {"red": 1.04, "green": INF, "blue": 0.3},
    ),
    (
        "<ucb_values>red: 1.04, green: 2, blue: -0.5</ucb_values>",
        "ok",
        {"red": 1.04, "green": 2.0, "blue": -0.5},
    ),
    (
        "<UCB_VALUES>\n- **Red**: 0.54 + sqrt(1/4) = 1.04\n- GREEN -> ∞\n"
        "- blue ≈ 0.71 (pressed 2 times)\n</ucb_values>",
        "ok",
        {"red": 1.04, "green": INF, "blue": 0.71},
    ),
    (
        "<ucb_values>UCB(red) = 1.5; UCB(green) = infinity; UCB(blue) = untried</ucb_values>",
        "ok",
        {"red": 1.5, "green": INF, "blue": INF},
    ),
    (
        "First the format <ucb_values>...</ucb_values>. Now: <ucb_values>red=1\ngreen=2\nblue=3</ucb_values>",
        "ok",
        {"red": 1.0, "green": 2.0, "blue": 3.0},
    ),  # the echoed empty block is skipped
    (
        "<ucb_values>red=1.0\nred=1.2\ngreen=0\nblue=0</ucb_values>",
        "ok",
        {"red": 1.2, "green": 0.0, "blue": 0.0},
    ),
    (
        "<ucb_values>red=1.0\ngreen=2.0\nblue=3.0",
        "ok",
        {"red": 1.0, "green": 2.0, "blue": 3.0},
    ),  # no close tag
    (
        "<ucb_values>red=1.0\ngreen = not tried yet\nblue=−0.25</ucb_values>",
        "ok",
        {"red": 1.0, "green": INF, "blue": -0.25},
    ),  # unicode minus
    ("<ucb_values>red=1.0, green=2.0</ucb_values>", "incomplete", {"red": 1.0, "green": 2.0}),
    ("<ucb_values>so red is the best</ucb_values>", "no_values", {}),
    ("red=1.0 green=2.0 blue=3.0 ACTION=blue", "no_block", {}),
    ("", "no_block", {}),
    ("<ucb_values>\x00\x01 ### ??? </ucb_values>", "no_values", {}),
]


@pytest.mark.parametrize("answer, status, values", GOOD_ODD_GARBAGE)
def test_parser_table(answer, status, values):
    parsed = parse_ucb_values(answer, NAMES)
    assert parsed.status == status
    assert parsed.values == values
    assert parsed.ok == (status == "ok")
    assert set(parsed.missing) == set(NAMES) - set(values)


def test_numeric_labels_only_at_line_start_or_after_keyword():
    names = [str(i) for i in range(12)]
    text = (
        "<ucb_values>\n"
        + "\n".join(f"{i}={i + 0.5}" for i in range(11))
        + "\narm 11: 0.54 + 1/4 = 9\n</ucb_values>"
    )
    parsed = parse_ucb_values(text, names)
    assert parsed.ok
    assert parsed.values["10"] == 10.5 and parsed.values["1"] == 1.5 and parsed.values["11"] == 9.0
    # digits inside arithmetic are not labels: "1/4" does not give arm 1 or 4 a value
    partial = parse_ucb_values("<ucb_values>0 = 0.5 + sqrt(1/4) = 1.0</ucb_values>", names)
    assert partial.values == {"0": 1.0} and partial.status == "incomplete"


def test_parser_errors():
    with pytest.raises(TypeError, match="text must be a str"):
        parse_ucb_values(None, NAMES)
    with pytest.raises(ValueError, match="action_names must not be empty"):
        parse_ucb_values("<ucb_values>red=1</ucb_values>", [])


def test_paper_ucb_values_by_hand():
    # red: mean 0.5, n 2 -> 0.5 + sqrt(1/2) = 1.2071; green: n 0 -> inf; blue: mean -0.3, n 4 -> 0.2
    values = paper_ucb_values([2, 0, 4], [1.0, 0.0, -1.2])
    np.testing.assert_allclose(values, [0.5 + math.sqrt(0.5), INF, 0.2])
    with pytest.raises(ValueError, match="same shape"):
        paper_ucb_values([1, 2], [1.0])
    with pytest.raises(ValueError, match="counts must be >= 0"):
        paper_ucb_values([-1], [1.0])


def test_top_set():
    assert top_set([1.0, INF, INF]) == {1, 2}
    assert top_set([1.0, 2.0, 2.0 - 1e-12]) == {1, 2}
    assert top_set([1.0, 2.0, 1.99], tol=0.02) == {1, 2}


@pytest.mark.parametrize(
    "values, truth, expected",
    [
        ({"red": 1.0, "green": 2.0, "blue": 0.0}, [0.9, 2.1, 0.0], True),
        ({"red": 1.0, "green": 2.0, "blue": 0.0}, [2.1, 0.9, 0.0], False),
        ({"red": 1.04, "green": 1.03, "blue": 0.0}, [1.035, 1.04, 0.0], True),  # within tol 0.01
        ({"red": INF, "green": 1.0, "blue": INF}, [INF, 1.0, INF], True),
        ({"red": INF, "green": INF, "blue": INF}, [INF, 1.0, INF], False),  # claims green untried
        ({"red": 5.0, "green": 1.0, "blue": 1.0}, [1.0, 1.0, INF], False),  # missed the untried arm
    ],
)
def test_rationale_correct(values, truth, expected):
    text = "<ucb_values>" + "\n".join(f"{k}={v}" for k, v in values.items()) + "</ucb_values>"
    assert rationale_correct(parse_ucb_values(text, NAMES), NAMES, truth) is expected


def test_unparsable_is_incorrect():
    assert not rationale_correct(parse_ucb_values("ACTION=red", NAMES), NAMES, [1.0, 0.0, 0.0])
