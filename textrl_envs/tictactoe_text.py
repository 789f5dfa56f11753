"""The tic-tac-toe prompt, as a pure function (the env renders the same text incrementally).

Layout (paper/LMAct style: 9-digit boards, one history line per past move)::

    You are playing tic-tac-toe ... (rules; 1 = your stones, 2 = the opponent's, 0 = empty)

    So far you have tried/seen:
    Step=0 State=000000000 Action=0 Reward=0
    Step=1 State=102000000 Action=4 Reward=0
    Current state: State=102020001
    Legal actions: 1, 3, 5, 6, 7              <- show_legal_actions=True (default)
    What do you predict next?
    Think step-by-step ... ACTION=X where X is one of the legal actions listed above. ...

``State`` in a history line is the board the agent saw when it chose ``Action`` (0-based step).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textrl_envs.tictactoe_logic import board_string, legal_moves

HISTORY_HEADER = "So far you have tried/seen:"
QUESTION = "What do you predict next?"

INSTRUCTION = (
    "You are playing tic-tac-toe as player 1 against an opponent (player 2). The board is written as "
    "9 digits for the positions 0 to 8, read row by row (012 / 345 / 678): 1 marks your stones, 2 the "
    "opponent's stones and 0 an empty cell. On each turn you MUST place a stone on an empty position; "
    "the opponent replies right after your move. A player wins with three stones in a row, column or "
    "diagonal. You receive reward +1 for a win, 0 for a draw and -1 for a loss."
)


def history_line(step: int, board: Sequence[int] | np.ndarray | str, action: int, reward: float) -> str:
    """One history line, ``Step=1 State=102000000 Action=4 Reward=0``."""
    state = board if isinstance(board, str) else board_string(board)
    return f"Step={step} State={state} Action={int(action)} Reward={int(round(reward))}"


def prompt_prefix() -> str:
    """Instruction, a blank line, then the history header."""
    return f"{INSTRUCTION}\n\n{HISTORY_HEADER}"


def prompt_suffix(board: Sequence[int] | np.ndarray, *, show_legal_actions: bool, cot: bool) -> str:
    """Current board, legal actions (optional), question and output instruction."""
    parts = [f"Current state: State={board_string(board)}"]
    if show_legal_actions:
        parts.append("Legal actions: " + ", ".join(str(m) for m in legal_moves(board)))
        target = "one of the legal actions listed above"
    else:
        target = "the position (0-8) of an empty cell"
    parts.append(QUESTION)
    if cot:
        parts.append(
            f"Think step-by-step and output your final answer in the format ACTION=X where X is {target}. "
            "IMPORTANT: Provide your (SHORT!) thinking process and your answer ACTION=X"
        )
    else:
        parts.append(f"Output ONLY your final answer in the format ACTION=X where X is {target}.")
    return "\n".join(parts)


def assemble_prompt(prefix: str, lines: Sequence[str] | str, suffix: str) -> str:
    """Join prefix, history lines (a list or pre-joined string) and suffix."""
    history = lines if isinstance(lines, str) else "\n".join(lines)
    return "\n".join([prefix, history, suffix] if history else [prefix, suffix])


def render_tictactoe_prompt(
    board: Sequence[int] | np.ndarray,
    history: Sequence[tuple[Sequence[int] | np.ndarray | str, int, float]] = (),
    *,
    show_legal_actions: bool = True,
    cot: bool = True,
    history_window: int | None = None,
) -> str:
    """The prompt ``TextTicTacToe-v0`` shows for ``board`` after ``history``.

    Args:
        board: the current board (9 cells, 1 = agent, 2 = opponent, 0 = empty).
        history: past ``(board_seen, action, reward)`` triples of the agent, step ``t`` at position ``t``.
        show_legal_actions: list the empty positions in the prompt.
        cot: chain-of-thought output instruction (True) or action only (False).
        history_window: show only the last this-many history lines (None: all).

    Raises:
        ValueError: a board is not 9 cells of 0/1/2, or ``history_window`` is below 1.
    """
    if history_window is not None and history_window < 1:
        raise ValueError(
            f"history_window must be None or >= 1 (0 would hide the whole history), got {history_window}"
        )
    lines = [history_line(t, b, a, r) for t, (b, a, r) in enumerate(history)]
    if history_window is not None:
        lines = lines[max(0, len(lines) - history_window) :]
    return assemble_prompt(
        prompt_prefix(), lines, prompt_suffix(board, show_legal_actions=show_legal_actions, cot=cot)
    )
