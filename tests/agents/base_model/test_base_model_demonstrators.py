from __future__ import annotations

import math

import numpy as np
import pytest

from agents.base_model.demonstrators import (
    EXPLORE_SHARES,
    BanditDemonstrator,
    TicTacToeDemonstrator,
    bandit_answer,
    empirical_means,
    greedy_arm,
    means_block,
    most_pulled_arm,
    sample_bandit_demonstrator,
    sample_tictactoe_demonstrator,
    tictactoe_answer,
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


def test_greedy_and_most_pulled_arms_with_their_tie_breaks() -> None:
    assert greedy_arm(COUNTS, SUMS) == 1  # green: mean 0.9
    assert most_pulled_arm(COUNTS, SUMS) == 2  # blue: 3 pulls, despite the lowest mean
    # ties: the first label among equal means; among equal counts the higher mean, then the first
    assert greedy_arm(np.array([1, 1, 1]), np.array([0.4, 0.7, 0.7])) == 1
    assert most_pulled_arm(np.array([2, 2, 0]), np.array([0.2, 1.0, 0.0])) == 1
    assert most_pulled_arm(np.array([2, 2, 2]), np.array([0.6, 0.2, 0.6])) == 0


def test_explore_then_exploit_in_label_order() -> None:
    rng = np.random.default_rng(1)
    demo = BanditDemonstrator("greedy", min_explore=3)
    # fewer than 3 tried -> the first untried label, whatever was tried
    assert demo.act(np.array([1, 0, 0, 0]), np.array([0.3, 0, 0, 0]), rng) == (1, "explore")
    assert demo.act(np.array([0, 1, 0, 0]), np.array([0, 0.3, 0, 0]), rng) == (0, "explore")
    assert demo.act(np.zeros(4, int), np.zeros(4), rng) == (0, "explore")
    # 3 tried -> exploit the best mean (green, 0.9)
    assert demo.act(COUNTS, SUMS, rng) == (1, "greedy")
    assert {BanditDemonstrator("random").act(COUNTS, SUMS, rng)[1] for _ in range(5)} == {"random"}
    # in random order: any untried arm, uniformly (sd of a share over 3000 draws: 0.9 %)
    shuffled = BanditDemonstrator("greedy", min_explore=3, explore_in_order=False)
    arms = [shuffled.act(np.array([0, 1, 0, 0]), np.array([0, 0.3, 0, 0]), rng)[0] for _ in range(3000)]
    assert set(arms) == {0, 2, 3} and all(abs(arms.count(a) / 3000 - 1 / 3) < 0.04 for a in (0, 2, 3))


def test_satisficer_explores_until_a_mean_reaches_its_threshold() -> None:
    rng = np.random.default_rng(2)
    # best mean so far 0.9 (green): below 1.0 -> keep exploring (yellow); at or above 0.9 -> exploit
    assert BanditDemonstrator("greedy", threshold=1.0).act(COUNTS, SUMS, rng) == (3, "explore")
    assert BanditDemonstrator("greedy", threshold=0.9).act(COUNTS, SUMS, rng) == (1, "greedy")
    # nothing left to explore: exploits whatever the threshold
    all_tried = np.array([2, 1, 3, 1])
    assert BanditDemonstrator("greedy", threshold=5.0).act(all_tried, SUMS, rng) == (1, "greedy")


def test_stickiness_stays_on_the_most_pulled_arm_when_its_mean_is_close() -> None:
    rng = np.random.default_rng(3)
    counts, sums = np.array([1, 3, 0]), np.array([0.8, 1.8, 0.0])  # means 0.8 and 0.6 (most pulled)
    assert BanditDemonstrator("greedy", stickiness=0.25).act(counts, sums, rng) == (1, "stay")
    assert BanditDemonstrator("greedy", stickiness=0.15).act(counts, sums, rng) == (0, "greedy")


def test_epsilon_share_is_binomial() -> None:
    rng = np.random.default_rng(4)
    demo = BanditDemonstrator("greedy", epsilon=0.2)
    kinds = [demo.act(COUNTS, SUMS, rng)[1] for _ in range(4000)]
    # sd of the share: sqrt(0.2 * 0.8 / 4000) = 0.63 %
    assert abs(kinds.count("random") / 4000 - 0.2) < 0.03


def test_ucb_prompt_mixture_shares() -> None:
    # greedy 60 %, ucb 25 %, random 15 %: check the shares over 4000 draws (binomial sd ~0.8 %)
    rng = np.random.default_rng(2)
    demo = BanditDemonstrator("ucb_prompt")
    draws = [demo.act(COUNTS, SUMS, rng) for _ in range(4000)]
    kinds = [kind for _, kind in draws]
    assert abs(kinds.count("greedy") / 4000 - 0.60) < 0.04
    assert abs(kinds.count("ucb") / 4000 - 0.25) < 0.04
    assert {arm for arm, kind in draws if kind == "ucb"} == {3}  # the untried arm (inf)


def test_sampled_mixture_matches_its_documentation() -> None:
    rng = np.random.default_rng(3)
    demos = [sample_bandit_demonstrator(rng, 10, "default") for _ in range(2000)]
    random_share = sum(d.rule == "random" for d in demos) / 2000
    satisficers = [d for d in demos if d.rule == "greedy" and math.isfinite(d.threshold)]
    fixed = [d for d in demos if d.rule == "greedy" and not math.isfinite(d.threshold)]
    # 10 % / 20 % / 70 %; binomial sd <= 1.1 %
    assert abs(random_share - 0.1) < 0.035 and abs(len(satisficers) / 2000 - 0.2) < 0.04
    for share, p in EXPLORE_SHARES.items():
        n = int(share * 10 + 0.5)
        assert abs(sum(d.min_explore == n for d in fixed) / len(fixed) - p) < 0.05, n
    assert all(2 <= d.min_explore <= 4 and 0 <= d.threshold <= 1 for d in satisficers)
    assert all(0 <= d.stickiness <= 0.4 for d in fixed + satisficers)
    in_order = sum(d.explore_in_order for d in fixed + satisficers) / len(fixed + satisficers)
    assert abs(in_order - 0.8) < 0.04
    assert sample_bandit_demonstrator(rng, 10, "ucb").rule == "ucb_prompt"


def test_greedy_decoder_of_the_mixture_explores_four_of_ten() -> None:
    # the share of demonstrators that still explore, among those that explored this far (1 - the
    # hazard of stopping), first falls below 1/2 after 4 arms: the mode of the mixture stops there
    n = {int(s * 10 + 0.5): p for s, p in EXPLORE_SHARES.items()}
    still = [sum(p for m, p in n.items() if m > tried) / sum(p for m, p in n.items() if m >= tried)
             for tried in range(1, 8)]
    assert [s > 0.5 for s in still][:4] == [True, True, True, False]


def test_means_block_and_answers_by_hand() -> None:
    assert means_block(NAMES, COUNTS, SUMS) == "Means:\nred=0.5\ngreen=0.9\nblue=0.2"
    assert means_block(NAMES, np.zeros(4, int), np.zeros(4)) == "Means: none"
    assert bandit_answer(3, "explore", NAMES, cot=True, counts=COUNTS, sums=SUMS) == (
        'Means:\nred=0.5\ngreen=0.9\nblue=0.2\nExplore "yellow": not tried yet. ACTION=yellow'
    )
    assert bandit_answer(1, "greedy", NAMES, cot=False) == "ACTION=green"
    text = bandit_answer(1, "greedy", NAMES, cot=True, prompt_style="ucb", counts=COUNTS, sums=SUMS)
    block = text.split("<ucb_values>\n")[1].split("\n</ucb_values>")[0]
    assert block.splitlines() == ["red=1.21", "green=1.90", "blue=0.78", "yellow=inf"]
    assert text.endswith('Exploit "green": highest mean. ACTION=green')


@pytest.mark.parametrize("k,variant", [(5, "button"), (10, "button"), (20, "button"), (10, "continuous")])
def test_answers_parse_to_the_chosen_arm(k: int, variant: str) -> None:
    names = arm_names(k, variant)
    rng = np.random.default_rng(k)
    counts = rng.integers(0, 4, size=k)
    sums = rng.normal(size=k) * counts
    for arm in range(k):
        for kind in ("explore", "greedy", "stay", "random", "ucb"):
            for cot, style in ((True, "default"), (False, "default"), (True, "ucb")):
                text = bandit_answer(arm, kind, names, cot=cot, prompt_style=style, counts=counts, sums=sums)
                assert extract_action(text, names).index == arm


def test_tictactoe_demonstrator_kinds() -> None:
    board = [1, 1, 0, 2, 2, 0, 0, 0, 0]  # agent wins at 2; opponent threatens 5
    assert winning_moves(board, 1) == [2]
    assert winning_moves(board, 2) == [5]
    rng = np.random.default_rng(4)
    assert TicTacToeDemonstrator(p_win=1.0, p_block=0.0).act(board, rng) == (2, "win")
    assert TicTacToeDemonstrator(p_win=0.0, p_block=1.0).act(board, rng) == (5, "block")
    assert TicTacToeDemonstrator(p_win=0.0, p_block=0.0, p_first=1.0).act(board, rng) == (2, "first")
    moves = [TicTacToeDemonstrator(0.0, 0.0, p_first=0.0).act(board, rng)[0] for _ in range(1000)]
    assert set(moves) == {2, 5, 6, 7, 8}  # legal moves only, uniformly (binomial sd 1.3 %)
    assert all(abs(moves.count(c) / 1000 - 0.2) < 0.05 for c in (2, 5, 6, 7, 8))
    # p_win ~ U(0, 0.8): on average below 1/2, so a greedy decoder of the mixture passes up wins
    draws = [sample_tictactoe_demonstrator(rng) for _ in range(2000)]
    assert abs(np.mean([d.p_win for d in draws]) - 0.4) < 0.02
    assert abs(np.mean([d.p_block for d in draws]) - 0.3) < 0.02


def test_tictactoe_answers() -> None:
    board = [1, 1, 0, 2, 2, 0, 0, 0, 0]
    assert tictactoe_answer(2, "win", cot=True, board=board) == (
        "Free cells: 2, 5, 6, 7, 8. Winning move: 2 completes my line. ACTION=2"
    )
    assert tictactoe_answer(5, "block", cot=True, board=board).endswith(
        "Block: 5 stops the opponent's line. ACTION=5"
    )
    for cell in range(9):
        for cot in (True, False):
            text = tictactoe_answer(cell, "move", cot=cot, board=[0] * 9)
            assert extract_action(text, [str(i) for i in range(9)]).index == cell


def test_error_paths() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rule must be one of"):
        BanditDemonstrator("optimistic")
    with pytest.raises(ValueError, match="stickiness >= 0"):
        BanditDemonstrator("greedy", stickiness=-1.0)
    with pytest.raises(ValueError, match="at least one tried arm"):
        greedy_arm(np.zeros(3, int), np.zeros(3))
    with pytest.raises(ValueError, match="at least one tried arm"):
        most_pulled_arm(np.zeros(3, int), np.zeros(3))
    with pytest.raises(ValueError, match="same length"):
        empirical_means(np.zeros(3, int), np.zeros(4))
    with pytest.raises(ValueError, match="kind must be one of"):
        bandit_answer(0, "lucky", NAMES, cot=True)
    with pytest.raises(ValueError, match="arm must be in"):
        bandit_answer(7, "greedy", NAMES, cot=True)
    with pytest.raises(ValueError, match="needs counts and sums"):
        bandit_answer(0, "greedy", NAMES, cot=True, prompt_style="ucb")
    with pytest.raises(ValueError, match="no legal move"):
        TicTacToeDemonstrator(0.5, 0.5).act([1, 2] * 4 + [1], rng)
    with pytest.raises(ValueError, match="9 cells"):
        winning_moves([0] * 8)
    with pytest.raises(ValueError, match="kind must be one of"):
        tictactoe_answer(0, "greedy", cot=True)
    with pytest.raises(ValueError, match="needs the 9-cell board"):
        tictactoe_answer(0, "move", cot=True)
