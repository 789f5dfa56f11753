from __future__ import annotations

import math

import numpy as np
import pytest

from agents.base_model.demonstrators import (
    BanditDemonstrator,
    bandit_answer,
    empirical_means,
    frequent_arm,
    greedy_arm,
    sample_bandit_demonstrator,
    tictactoe_answer,
    tictactoe_demonstrator,
    ucb_values,
    winning_moves,
)
from textrl_envs.bandit_text import arm_names
from textrl_envs.extraction import extract_action

NAMES = ["red", "green", "blue", "yellow"]
# hand-made history: red pulled twice (sum 1.0), green once (0.9), blue 3 times (sum 0.6), yellow never
COUNTS = np.array([2, 1, 3, 0])
SUMS = np.array([1.0, 0.9, 0.6, 0.0])


def test_empirical_means_and_ucb_values_by_hand() -> None:
    means = empirical_means(COUNTS, SUMS)
    np.testing.assert_allclose(means[:3], [0.5, 0.9, 0.2])
    assert math.isnan(means[3])
    ucb = ucb_values(COUNTS, SUMS)
    np.testing.assert_allclose(ucb[:3], [0.5 + math.sqrt(0.5), 0.9 + 1.0, 0.2 + math.sqrt(1 / 3)])
    assert ucb[3] == math.inf


def test_greedy_picks_argmax_mean_and_frequent_picks_most_pulled() -> None:
    rng = np.random.default_rng(0)
    assert greedy_arm(COUNTS, SUMS, rng) == 1  # green: mean 0.9
    assert frequent_arm(COUNTS, SUMS, rng) == 2  # blue: 3 pulls, despite the lowest mean
    # tie in counts -> the higher mean wins
    assert frequent_arm(np.array([2, 2, 0]), np.array([0.2, 1.0, 0.0]), rng) == 1


def test_demonstrator_rules_follow_their_definition() -> None:
    rng = np.random.default_rng(1)
    greedy = BanditDemonstrator("greedy", n_explore=3, epsilon=0.0)
    # 3 arms already tried -> exploit the best mean
    assert greedy.act(COUNTS, SUMS, rng) == (1, "greedy")
    # only 1 arm tried, n_explore=3 -> explores an untried arm
    arm, kind = greedy.act(np.array([1, 0, 0, 0]), np.array([0.3, 0, 0, 0]), rng)
    assert kind == "explore" and arm in (1, 2, 3)
    assert BanditDemonstrator("frequency", n_explore=1).act(COUNTS, SUMS, rng) == (2, "frequent")
    # in label order: the first untried arm
    ordered = BanditDemonstrator("greedy", n_explore=3, explore_in_order=True)
    assert ordered.act(np.array([1, 0, 0, 0]), np.array([0.3, 0, 0, 0]), rng) == (1, "explore")
    assert ordered.act(np.array([0, 1, 0, 0]), np.array([0, 0.3, 0, 0]), rng) == (0, "explore")
    kinds = {BanditDemonstrator("random").act(COUNTS, SUMS, rng)[1] for _ in range(5)}
    assert kinds == {"random"}


def test_ucb_prompt_mixture_shares() -> None:
    # greedy 60 %, ucb 25 %, random 15 %: check the shares over 4000 draws (binomial sd ~0.8 %)
    rng = np.random.default_rng(2)
    demo = BanditDemonstrator("ucb_prompt")
    kinds = [demo.act(COUNTS, SUMS, rng)[1] for _ in range(4000)]
    assert abs(kinds.count("greedy") / 4000 - 0.60) < 0.04
    assert abs(kinds.count("ucb") / 4000 - 0.25) < 0.04
    # the UCB arm is the untried one (inf)
    ucb_arms = {demo.act(COUNTS, SUMS, np.random.default_rng(s)) for s in range(200)}
    assert {a for a, k in ucb_arms if k == "ucb"} == {3}


@pytest.mark.parametrize("k,variant", [(5, "button"), (10, "button"), (20, "button"), (10, "continuous")])
def test_answers_parse_to_the_chosen_arm(k: int, variant: str) -> None:
    names = arm_names(k, variant)
    rng = np.random.default_rng(k)
    counts = rng.integers(0, 4, size=k)
    sums = rng.normal(size=k) * counts
    for arm in range(k):
        for kind in ("explore", "greedy", "frequent", "random", "ucb"):
            for cot, style in ((True, "default"), (False, "default"), (True, "ucb")):
                text = bandit_answer(arm, kind, names, cot=cot, prompt_style=style, counts=counts, sums=sums)
                assert extract_action(text, names).index == arm
    assert bandit_answer(0, "greedy", names, cot=False) == f"ACTION={names[0]}"


def test_ucb_answer_lists_true_values() -> None:
    text = bandit_answer(1, "greedy", NAMES, cot=True, prompt_style="ucb", counts=COUNTS, sums=SUMS)
    block = text.split("<ucb_values>\n")[1].split("\n</ucb_values>")[0]
    assert block.splitlines() == ["red=1.21", "green=1.90", "blue=0.78", "yellow=inf"]


def test_sampled_demonstrators_explore_a_few_arms() -> None:
    rng = np.random.default_rng(3)
    demos = [sample_bandit_demonstrator(rng, 10, "default") for _ in range(400)]
    assert all(3 <= d.n_explore <= 5 or d.rule == "random" for d in demos)
    rules = [d.rule for d in demos]
    assert abs(rules.count("greedy") / 400 - 0.5) < 0.1
    # exploration follows label order: the first untried arm
    assert all(d.explore_in_order for d in demos if d.rule != "random")
    counts, sums = np.array([1, 0, 0, 1] + [0] * 6), np.zeros(10)  # 2 tried < n_explore (3-5)
    greedy = next(d for d in demos if d.rule == "greedy")
    assert greedy.act(counts, sums, rng) == (1, "explore")
    assert sample_bandit_demonstrator(rng, 10, "ucb").rule == "ucb_prompt"


def test_tictactoe_demonstrator() -> None:
    board = [1, 1, 0, 2, 2, 0, 0, 0, 0]  # agent wins at 2; opponent threatens 5
    assert winning_moves(board, 1) == [2]
    assert winning_moves(board, 2) == [5]
    rng = np.random.default_rng(4)
    assert tictactoe_demonstrator(board, rng, p_take_win=1.0) == (2, "win")
    moves = [tictactoe_demonstrator(board, rng, p_take_win=0.0)[0] for _ in range(1000)]
    assert set(moves) == {2, 5, 6, 7, 8}  # legal moves only, uniformly (binomial sd 1.3 %)
    assert all(abs(moves.count(c) / 1000 - 0.2) < 0.05 for c in (2, 5, 6, 7, 8))
    for cell in range(9):
        for cot in (True, False):
            text = tictactoe_answer(cell, "move", cot=cot, board=[0] * 9)
            assert extract_action(text, [str(i) for i in range(9)]).index == cell
    assert tictactoe_answer(2, "win", cot=True, board=board) == (
        "Free cells: 2, 5, 6, 7, 8. Winning move: position 2 completes a line. ACTION=2"
    )


def test_error_paths() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rule must be one of"):
        BanditDemonstrator("optimistic")
    with pytest.raises(ValueError, match="at least one tried arm"):
        greedy_arm(np.zeros(3, int), np.zeros(3), rng)
    with pytest.raises(ValueError, match="at least one tried arm"):
        frequent_arm(np.zeros(3, int), np.zeros(3), rng)
    with pytest.raises(ValueError, match="same length"):
        empirical_means(np.zeros(3, int), np.zeros(4))
    with pytest.raises(ValueError, match="kind must be one of"):
        bandit_answer(0, "lucky", NAMES, cot=True)
    with pytest.raises(ValueError, match="arm must be in"):
        bandit_answer(7, "greedy", NAMES, cot=True)
    with pytest.raises(ValueError, match="needs counts and sums"):
        bandit_answer(0, "greedy", NAMES, cot=True, prompt_style="ucb")
    with pytest.raises(ValueError, match="no legal move"):
        tictactoe_demonstrator([1, 2] * 4 + [1], rng, p_take_win=0.5)
    with pytest.raises(ValueError, match="9 cells"):
        winning_moves([0] * 8)
    with pytest.raises(ValueError, match="kind must be 'win' or 'move'"):
        tictactoe_answer(0, "greedy", cot=True)
    with pytest.raises(ValueError, match="needs the 9-cell board"):
        tictactoe_answer(0, "move", cot=True)
