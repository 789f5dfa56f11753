"""Tic-tac-toe players for ``TextTicTacToe-v0``: perfect minimax play and Monte Carlo tree search.

Both read the board from ``info["board"]`` ((9,) int8: 0 empty, 1 the agent, 2 the opponent, cells
numbered 012 / 345 / 678) and answer ``ACTION=<cell>`` with the cell's name from
``info["action_names"]``. The game logic is shared with the environment's opponents
(:mod:`textrl_envs.tictactoe_logic`), so the agent and the env agree on what a win is.
"""

from __future__ import annotations

import numpy as np

from agents.baselines.common import ScriptedAgent, action_text, legal_indices, require_key
from agents.protocol import Info
from textrl_envs import tictactoe_logic

AGENT_PLAYER = 1  # the agent's stones are always 1 on the board the env shows it
_OUTCOME = {1: "win", 0: "draw", -1: "loss"}  # minimax value -> word for the rationale


def _board(info: Info, agent: str) -> np.ndarray:
    board = np.asarray(require_key(info, "board", agent), dtype=np.int8)
    if board.shape != (9,):
        raise ValueError(f"{agent}: info['board'] must have shape (9,), got {board.shape}")
    return board


def minimax_move_values(board: np.ndarray) -> dict[int, int]:
    """Game value (+1 win, 0 draw, -1 loss, perfect play after) of every legal move for the agent."""
    values = tictactoe_logic.minimax_values(board, AGENT_PLAYER)  # (9,), NaN on occupied cells
    return {int(move): int(values[move]) for move in np.flatnonzero(~np.isnan(values))}


class MinimaxAgent(ScriptedAgent):
    """Perfect play: a move of the highest minimax value (ties broken at random, seeded).

    Never loses; wins whenever the opponent's mistakes allow it.

    Args:
        seed: randomness of the tie-breaking between equally good moves.
        rationale: name the move values before ``ACTION=``.
    """

    name = "minimax"

    def __init__(self, seed: int | None = None, *, rationale: bool = True) -> None:
        super().__init__(seed)
        self.rationale = bool(rationale)

    def decide(self, observation: str, info: Info, slot: int) -> str:
        names = require_key(info, "action_names", self.name)
        values = minimax_move_values(_board(info, self.name))
        legal = [m for m in legal_indices(info) if m in values]
        best = max(values[m] for m in legal)
        candidates = [m for m in legal if values[m] == best]
        move = candidates[int(self._rng(slot).integers(len(candidates)))]
        why = "Minimax values: " + ", ".join(f"{names[m]} = {_OUTCOME[values[m]]}" for m in legal) + "."
        return action_text(names[move], why if self.rationale else "")


class MCTSAgent(ScriptedAgent):
    """Monte Carlo tree search (``textrl_envs.tictactoe_logic.mcts_move``) with a seeded generator.

    Args:
        seed: randomness of the rollouts.
        simulations: rollouts per move (more: stronger and slower; 200 is near perfect on 3x3).
    """

    name = "mcts"

    def __init__(self, seed: int | None = None, *, simulations: int = 200) -> None:
        super().__init__(seed)
        if isinstance(simulations, bool) or not isinstance(simulations, (int, np.integer)) or simulations < 1:
            raise ValueError(f"simulations must be an int >= 1, got {simulations!r}")
        self.simulations = int(simulations)

    def decide(self, observation: str, info: Info, slot: int) -> str:
        names = require_key(info, "action_names", self.name)
        board = _board(info, self.name)
        move = int(tictactoe_logic.mcts_move(board, AGENT_PLAYER, self._rng(slot), self.simulations))
        return action_text(names[move])
