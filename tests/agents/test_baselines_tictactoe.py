"""Minimax and MCTS players on hand-made boards and on games played with the pure game logic."""

from __future__ import annotations

import numpy as np
import pytest

from agents.baselines import MCTSAgent, MinimaxAgent, RandomAgent
from textrl_envs import tictactoe_logic as ttt

NAMES = [str(i) for i in range(9)]


def board_info(board):
    board = np.asarray(board, dtype=np.int8)
    return {"action_names": NAMES, "board": board, "legal_actions": [i for i in range(9) if board[i] == 0]}


def move_of(agent, board, slot=0):
    text = agent.act(["obs"], [board_info(board)], [slot])[0]
    return int(text.rsplit("ACTION=", 1)[1])


def play(agent, opponent_move, agent_first, rng):
    """One game between ``agent`` (stone 1) and ``opponent_move(board, rng)`` (stone 2); the winner."""
    board = [0] * 9
    agent.reset([board_info(board)])
    to_move = 1 if agent_first else 2
    while not ttt.is_over(board):
        move = move_of(agent, board) if to_move == 1 else opponent_move(board, rng)
        assert board[move] == 0, "illegal move"
        board[move] = to_move
        to_move = 3 - to_move
    return ttt.winner(board)


@pytest.mark.parametrize("agent_first", [True, False])
def test_minimax_never_loses_to_random_or_mcts(agent_first):
    rng = np.random.default_rng(0)
    agent = MinimaxAgent(seed=0, rationale=False)
    random_results = [play(agent, ttt.random_move, agent_first, rng) for _ in range(40)]
    mcts_results = [play(agent, lambda b, r: ttt.mcts_move(b, 2, r, 50), agent_first, rng) for _ in range(8)]
    assert 2 not in random_results + mcts_results
    assert random_results.count(1) >= 20  # random play loses most games to perfect play


def test_minimax_against_itself_always_draws():
    rng = np.random.default_rng(1)
    agent = MinimaxAgent(seed=1)
    for first in (True, False):
        assert play(agent, lambda b, r: ttt.minimax_move(b, 2, r), first, rng) == 0


@pytest.mark.parametrize("agent_cls", [MinimaxAgent, MCTSAgent])
def test_takes_immediate_win_over_blocking(agent_cls):
    # 1 1 . / 2 2 . / . . .  -> cell 2 wins (cell 5 would only block)
    agent = agent_cls(seed=0)
    board = [1, 1, 0, 2, 2, 0, 0, 0, 0]
    agent.reset([board_info(board)])
    assert move_of(agent, board) == 2


@pytest.mark.parametrize("agent_cls", [MinimaxAgent, MCTSAgent])
def test_blocks_immediate_loss(agent_cls):
    # 2 2 . / 1 . . / . . 1  -> only cell 2 avoids losing
    agent = agent_cls(seed=0)
    board = [2, 2, 0, 1, 0, 0, 0, 0, 1]
    agent.reset([board_info(board)])
    assert move_of(agent, board) == 2


def test_minimax_rationale_lists_values():
    agent = MinimaxAgent(seed=0)
    board = [1, 1, 0, 2, 2, 0, 0, 0, 0]
    agent.reset([board_info(board)])
    text = agent.act(["o"], [board_info(board)], [0])[0]
    # 2 wins at once; 5 blocks, after which both sides can only draw; 6, 7, 8 let the opponent play 5
    assert text == "Minimax values: 2 = win, 5 = draw, 6 = loss, 7 = loss, 8 = loss.\nACTION=2"


def test_random_agent_only_legal_moves_and_seeded():
    board = [1, 2, 0, 0, 1, 2, 0, 0, 0]

    def moves(seed):
        agent = RandomAgent(seed=seed)
        agent.reset([board_info(board)])
        return [move_of(agent, board) for _ in range(300)]

    assert set(moves(3)) == {2, 3, 6, 7, 8}
    assert moves(3) == moves(3)


def test_errors():
    with pytest.raises(ValueError, match="simulations must be an int >= 1"):
        MCTSAgent(simulations=0)
    agent = MinimaxAgent(seed=0)
    agent.reset([board_info([0] * 9)])
    bad = {"action_names": NAMES, "board": np.zeros(8, dtype=np.int8), "legal_actions": list(range(8))}
    with pytest.raises(ValueError, match=r"board'\] must have shape \(9,\)"):
        agent.act(["o"], [bad], [0])
    with pytest.raises(KeyError, match=r"agent 'minimax' needs info\['board'\]"):
        agent.act(["o"], [{"action_names": NAMES}], [0])
