"""Tic-tac-toe: rules, minimax values, opponents, the env's accounting and its prompt."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

import textrl_envs  # noqa: F401
from textrl_envs import tictactoe_logic as ttt
from textrl_envs.tictactoe import OPPONENTS, TextTicTacToeEnv
from textrl_envs.tictactoe_text import render_tictactoe_prompt

# Written out by hand, independently of ttt.LINES.
HAND_LINES = [{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {0, 3, 6}, {1, 4, 7}, {2, 5, 8}, {0, 4, 8}, {2, 4, 6}]


def _brute_winner(board):
    """Second implementation: a player wins iff some 3 of their cells are a hand-listed line."""
    for player in (1, 2):
        cells = {i for i in range(9) if board[i] == player}
        if any(set(c) in HAND_LINES for c in itertools.combinations(sorted(cells), 3)):
            return player
    return 0


@pytest.mark.parametrize("line", HAND_LINES)
@pytest.mark.parametrize("player", [1, 2])
def test_every_line_of_three_wins(line, player):
    board = [player if i in line else 0 for i in range(9)]
    assert ttt.winner(board) == player
    assert ttt.legal_moves(board) == [] and ttt.is_over(board)


def test_winner_matches_brute_force_on_random_boards():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        board = rng.integers(0, 3, size=9)
        if _brute_winner(board) and all(_brute_winner([c if c == p else 0 for c in board]) for p in (1, 2)):
            continue  # both players have a line: not a reachable position, winner() picks either
        assert ttt.winner(board) == _brute_winner(board)


def test_draw_and_legal_moves():
    draw = [1, 2, 1, 1, 2, 2, 2, 1, 1]
    assert ttt.winner(draw) == 0 and ttt.is_over(draw)
    assert ttt.legal_moves([1, 0, 2, 0, 0, 0, 0, 0, 0]) == [1, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize(
    ("board", "player", "expected"),
    [
        # empty board: every opening draws with perfect play
        ([0] * 9, 1, [0] * 9),
        # 1 to move, completes the top row at 2 (+1); 5 blocks 2's middle row (0); else 2 wins (-1)
        ([1, 1, 0, 2, 2, 0, 0, 0, 0], 1, [np.nan, np.nan, 1, np.nan, np.nan, 0, -1, -1, -1]),
        # 2 to move on the same board: 5 wins; blocking at 2 creates the 2-4-6 and 3-4-5 fork (+1)
        ([1, 1, 0, 2, 2, 0, 0, 0, 0], 2, [np.nan, np.nan, 1, np.nan, np.nan, 1, -1, -1, -1]),
        # corner opening by 1: the centre is the only reply that does not lose
        ([1, 0, 0, 0, 0, 0, 0, 0, 0], 2, [np.nan, -1, -1, -1, 0, -1, -1, -1, -1]),
    ],
)
def test_minimax_values_hand_checked(board, player, expected):
    np.testing.assert_array_equal(ttt.minimax_values(board, player), np.array(expected, dtype=float))


def test_mcts_takes_wins_and_blocks():
    rng = np.random.default_rng(0)
    for _ in range(10):
        assert ttt.mcts_move([2, 2, 0, 1, 1, 0, 0, 0, 0], 2, rng) == 2  # win now
        assert ttt.mcts_move([1, 1, 0, 0, 2, 0, 0, 0, 0], 2, rng) == 2  # block


@pytest.mark.parametrize("opponent", OPPONENTS)
@pytest.mark.parametrize("agent_first", [True, False])
def test_opponents_only_play_legal_moves(opponent, agent_first):
    env = TextTicTacToeEnv(opponent=opponent, agent_first=agent_first, mcts_simulations=50)
    rng = np.random.default_rng(1)
    for game in range(15):
        _, info = env.reset(seed=game)
        assert (info["board"] == 2).sum() == (0 if agent_first else 1)
        done = False
        while not done:
            before = info["board"].copy()
            _, _, done, _, info = env.step(f"ACTION={rng.integers(9)}")
            after = info["board"]
            assert before[info["action_index"]] == 0 and after[info["action_index"]] == 1
            if info["opponent_action"] >= 0:
                assert before[info["opponent_action"]] == 0 and after[info["opponent_action"]] == 2
                assert info["opponent_action"] != info["action_index"]
            assert (after != before).sum() == (1 if info["opponent_action"] < 0 else 2)
            assert info["legal_actions"] == [i for i in range(9) if after[i] == 0] or done


def _play(env, policy, seed):
    _, info = env.reset(seed=seed)
    done = False
    while not done:
        _, _, done, _, info = env.step(f"ACTION={policy(info)}")
    return info["outcome"]


@pytest.mark.parametrize("opponent", OPPONENTS)
def test_minimax_agent_never_loses(opponent):
    env = TextTicTacToeEnv(opponent=opponent, agent_first=False, mcts_simulations=50)
    # (info["optimal_action"] after a step refers to the decision just taken, so read the board.)
    outcomes = {_play(env, lambda info: ttt.minimax_move(info["board"], 1), s) for s in range(20)}
    assert "loss" not in outcomes


def test_random_agent_never_beats_minimax():
    env = TextTicTacToeEnv(opponent="minimax")
    rng = np.random.default_rng(0)
    outcomes = [_play(env, lambda info: rng.choice(info["legal_actions"]), s) for s in range(60)]
    assert "win" not in outcomes and "loss" in outcomes


def test_step_accounting_win_illegal_invalid():
    env = TextTicTacToeEnv(opponent="random")
    env.reset(seed=0)
    # Force a known position: agent at 0 and 1, opponent at 3 and 4 (agent to move).
    env._board[:] = [1, 1, 0, 2, 2, 0, 0, 0, 0]
    _, reward, terminated, _, info = env.step("ACTION=2")
    assert (reward, terminated, info["outcome"], info["regret"], info["valid_action"]) == (
        1.0,
        True,
        "win",
        0.0,
        True,
    )
    assert info["opponent_action"] == -1 and info["legal_actions"] == []

    env.reset(seed=0)
    env._board[:] = [1, 1, 0, 2, 2, 0, 0, 0, 0]
    _, reward, _, _, info = env.step("ACTION=0")  # occupied: illegal, a random legal move instead
    assert info["illegal_move"] is True and info["valid_action"] is False
    assert info["action_index"] in (2, 5, 6, 7, 8)
    values = {2: 1, 5: 0, 6: -1, 7: -1, 8: -1}
    assert info["regret"] == 1 - values[info["action_index"]]
    assert reward == pytest.approx(info["env_reward"] - 5.0)

    env.reset(seed=0)
    _, reward, _, _, info = env.step("I resign")
    assert info["illegal_move"] is False and info["valid_action"] is False and reward == -5.0
    assert info["extracted"] is None and info["optimal_action"] == 0


def test_loss_reward():
    env = TextTicTacToeEnv(opponent="minimax")
    env.reset(seed=0)
    env._board[:] = [1, 0, 0, 2, 2, 0, 1, 0, 0]  # opponent threatens 5; agent plays elsewhere
    _, reward, terminated, _, info = env.step("ACTION=1")
    assert (reward, terminated, info["outcome"], info["env_reward"]) == (-1.0, True, "loss", -1.0)
    assert info["regret"] == 1.0  # blocking at 5 draws (0); playing 1 loses (-1)


@pytest.mark.parametrize("options", [{}, {"show_legal_actions": False, "cot": False}, {"history_window": 2}])
def test_incremental_rendering_equals_pure_renderer(options):
    env = TextTicTacToeEnv(opponent="random", agent_first=False, **options)
    obs, info = env.reset(seed=4)
    history = []
    assert obs == render_tictactoe_prompt(info["board"], history, **options)
    done = False
    while not done:
        board = info["board"].copy()
        obs, _, done, _, info = env.step(f"ACTION={info['legal_actions'][-1]}")
        history.append((board, info["action_index"], info["env_reward"]))
        assert obs == render_tictactoe_prompt(info["board"], history, **options)


def test_prompt_text():
    text = render_tictactoe_prompt([1, 0, 2, 0, 2, 0, 0, 0, 1], [("000000000", 0, 0), ("102000000", 8, 0)])
    assert (
        "So far you have tried/seen:\nStep=0 State=000000000 Action=0 Reward=0\n"
        "Step=1 State=102000000 Action=8 Reward=0\nCurrent state: State=102020001\n"
        "Legal actions: 1, 3, 5, 6, 7\nWhat do you predict next?\nThink step-by-step"
    ) in text
    hidden = render_tictactoe_prompt([0] * 9, show_legal_actions=False)
    assert "Legal actions" not in hidden and "the position (0-8) of an empty cell" in hidden


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: ttt.winner([0] * 8), ValueError, "board must be 9 cells"),
        (lambda: ttt.winner([3] + [0] * 8), ValueError, "board must be 9 cells with values 0"),
        (lambda: ttt.minimax_values([0] * 9, 3), ValueError, "player must be 1 or 2, got 3"),
        (lambda: ttt.random_move([1] * 9, np.random.default_rng()), ValueError, "no legal move"),
        (lambda: ttt.minimax_move([1, 1, 1] + [0] * 6, 2), ValueError, "no legal move"),
        (
            lambda: ttt.mcts_move([0] * 9, 1, np.random.default_rng(), 0),
            ValueError,
            "simulations must be an int",
        ),
        (lambda: ttt.mcts_move([1] * 9, 1, np.random.default_rng()), ValueError, "no legal move"),
        (
            lambda: render_tictactoe_prompt([0] * 9, history_window=-1),
            ValueError,
            "history_window must be None",
        ),
        (
            lambda: gym.make("TextTicTacToe-v0", opponent="alphazero"),
            ValueError,
            r"opponent must be one of \['random', 'mcts', 'noisy-mcts', 'minimax'\]",
        ),
        (lambda: gym.make("TextTicTacToe-v0", agent_first="no"), TypeError, "agent_first must be a bool"),
        (
            lambda: gym.make("TextTicTacToe-v0", mcts_simulations=0),
            ValueError,
            "mcts_simulations must be an integer",
        ),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
