"""Pure tic-tac-toe rules and opponents (no environment state; randomness passed in).

A board is a sequence of 9 ints (a tuple, list or ``np.ndarray``), positions 0-8 row by row
(``012 / 345 / 678``); 0 = empty, 1 and 2 = the two players' stones. Used by ``TextTicTacToe-v0``'s
opponents and by the agents' minimax / MCTS baselines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import numpy as np

#: The 8 lines of three (rows, columns, diagonals).
LINES: tuple[tuple[int, int, int], ...] = (
    (0, 1, 2), (3, 4, 5), (6, 7, 8),
    (0, 3, 6), (1, 4, 7), (2, 5, 8),
    (0, 4, 8), (2, 4, 6),
)  # fmt: skip

#: Default MCTS budget: 500 simulations per move (the paper does not state its budget). Measured
#: with this implementation, as player 2: it wins 93/100 games against a random first player, and
#: loses 6/40 to a perfect (minimax) first player (200 simulations: 20/40, 1000: 3/40), i.e. a
#: strong but beatable opponent, as the paper's RLFT result (-0.95 -> 0.0 return) implies. Cost:
#: ~15 ms per move in pure Python.
DEFAULT_MCTS_SIMULATIONS = 500
_UCT_C = math.sqrt(2.0)  # exploration constant of UCT (the textbook value for rewards in [0, 1])


def _as_board(board: Sequence[int] | np.ndarray) -> tuple[int, ...]:
    b = tuple(int(x) for x in board)
    if len(b) != 9 or any(x not in (0, 1, 2) for x in b):
        raise ValueError(f"board must be 9 cells with values 0 (empty), 1 or 2, got {list(b)}")
    return b


def other(player: int) -> int:
    """The opponent of ``player`` (1 <-> 2)."""
    if player not in (1, 2):
        raise ValueError(f"player must be 1 or 2, got {player!r}")
    return 3 - player


def winner(board: Sequence[int] | np.ndarray) -> int:
    """1 or 2 if that player has a line of three, else 0 (no winner yet, or a draw)."""
    b = _as_board(board)
    for i, j, k in LINES:
        if b[i] != 0 and b[i] == b[j] == b[k]:
            return b[i]
    return 0


def legal_moves(board: Sequence[int] | np.ndarray) -> list[int]:
    """Empty positions, ascending; empty list once the game is over (a win or a full board)."""
    b = _as_board(board)
    if winner(b):
        return []
    return [i for i in range(9) if b[i] == 0]


def is_over(board: Sequence[int] | np.ndarray) -> bool:
    """True when someone won or the board is full."""
    return not legal_moves(board)


@cache
def _value(board: tuple[int, ...], to_move: int) -> int:
    """Game value for ``to_move`` (+1 win, 0 draw, -1 loss) under perfect play; memoised."""
    w = winner(board)
    if w:
        return 1 if w == to_move else -1
    moves = [i for i in range(9) if board[i] == 0]
    if not moves:
        return 0
    best = -2
    for m in moves:
        child = board[:m] + (to_move,) + board[m + 1 :]
        best = max(best, -_value(child, 3 - to_move))
        if best == 1:
            break
    return best


def minimax_values(board: Sequence[int] | np.ndarray, player: int) -> np.ndarray:
    """Perfect-play value of each move for ``player`` to move, shape (9,).

    Entry ``m`` is +1 (forced win), 0 (draw) or -1 (loss) after ``player`` plays ``m``; ``nan``
    for occupied cells (and all cells once the game is over). Memoised over positions.
    """
    b = _as_board(board)
    other(player)  # validates player
    values = np.full(9, np.nan)
    for m in legal_moves(b):
        child = b[:m] + (player,) + b[m + 1 :]
        values[m] = -_value(child, 3 - player)
    return values


def minimax_move(
    board: Sequence[int] | np.ndarray, player: int, rng: np.random.Generator | None = None
) -> int:
    """A best move for ``player``; ties broken uniformly with ``rng`` (lowest index without one)."""
    values = minimax_values(board, player)
    if np.all(np.isnan(values)):
        raise ValueError("no legal move: the game is over")
    best = np.flatnonzero(values == np.nanmax(values))
    return int(best[0] if rng is None else rng.choice(best))


def random_move(board: Sequence[int] | np.ndarray, rng: np.random.Generator) -> int:
    """A uniformly random legal move."""
    moves = legal_moves(board)
    if not moves:
        raise ValueError("no legal move: the game is over")
    return int(moves[int(rng.integers(len(moves)))])


class _Node:
    __slots__ = ("board", "to_move", "parent", "move", "children", "untried", "visits", "wins")

    def __init__(
        self,
        board: tuple[int, ...],
        to_move: int,
        parent: _Node | None,
        move: int | None,
        rng: np.random.Generator,
    ) -> None:
        self.board, self.to_move, self.parent, self.move = board, to_move, parent, move
        self.children: list[_Node] = []
        untried = legal_moves(board)
        self.untried = [untried[i] for i in rng.permutation(len(untried))]
        self.visits = 0
        self.wins = 0.0  # from the view of the player who moved INTO this node


def mcts_move(
    board: Sequence[int] | np.ndarray,
    player: int,
    rng: np.random.Generator,
    simulations: int = DEFAULT_MCTS_SIMULATIONS,
) -> int:
    """Monte Carlo tree search (UCT, random rollouts) for ``player`` to move.

    Each simulation selects by UCB1 (``c = sqrt(2)``), expands one untried move, plays uniformly
    random moves to the end, and backs up 1 / 0.5 / 0 for win / draw / loss. Returns the most
    visited root move. All randomness comes from ``rng``.
    """
    b = _as_board(board)
    other(player)
    if isinstance(simulations, bool) or not isinstance(simulations, int) or simulations < 1:
        raise ValueError(f"simulations must be an int >= 1, got {simulations!r}")
    if not legal_moves(b):
        raise ValueError("no legal move: the game is over")
    root = _Node(b, player, None, None, rng)
    for _ in range(simulations):
        node = root
        # Selection: descend fully expanded nodes by UCB1.
        while not node.untried and node.children:
            log_n = math.log(node.visits)
            node = max(node.children, key=lambda c: c.wins / c.visits + _UCT_C * math.sqrt(log_n / c.visits))
        # Expansion.
        if node.untried:
            m = node.untried.pop()
            child_board = node.board[:m] + (node.to_move,) + node.board[m + 1 :]
            child = _Node(child_board, 3 - node.to_move, node, m, rng)
            node.children.append(child)
            node = child
        # Rollout: uniformly random play to the end.
        rollout = list(node.board)
        to_move = node.to_move
        w = winner(rollout)
        while not w and 0 in rollout:
            empties = [i for i in range(9) if rollout[i] == 0]
            rollout[empties[int(rng.integers(len(empties)))]] = to_move
            to_move = 3 - to_move
            w = winner(rollout)
        # Backpropagation: credit each node from the view of the player who moved into it.
        while node is not None:
            node.visits += 1
            mover = 3 - node.to_move
            node.wins += 0.5 if w == 0 else float(w == mover)
            node = node.parent
    return max(root.children, key=lambda c: c.visits).move


def board_string(board: Sequence[int] | np.ndarray) -> str:
    """The paper's 9-digit board text, e.g. ``"102000000"``."""
    return "".join(str(x) for x in _as_board(board))
