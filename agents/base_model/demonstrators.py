"""Demonstrator policies whose answers the embedded base model is pretrained on.

Each demonstrator is a pure function of the history (per-arm counts and reward sums, or the board)
and a NumPy generator; it returns the chosen action and the *kind* of decision, from which
:func:`bandit_answer` / :func:`tictactoe_answer` write the answer text (a short rationale, then
``ACTION=X``). The mixture that picks a demonstrator per episode is documented in
:mod:`agents.base_model` and drawn in :func:`sample_bandit_demonstrator`.

Decision kinds: ``"explore"`` (an untried arm), ``"greedy"`` (best empirical mean among tried arms),
``"frequent"`` (the arm chosen most often so far), ``"random"`` (uniform), ``"ucb"`` (highest
mean + sqrt(1 / n), the paper's rationale formula; untried arms first), ``"win"`` (tic-tac-toe: a
move that wins at once), ``"move"`` (tic-tac-toe: a random legal move).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BANDIT_KINDS = ("explore", "greedy", "frequent", "random", "ucb")
WIN_LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


def _check_history(counts: np.ndarray, sums: np.ndarray) -> None:
    if counts.ndim != 1 or counts.shape != sums.shape or counts.size < 2:
        raise ValueError(
            f"counts and sums must be 1-D arrays of the same length >= 2, got {counts.shape} and {sums.shape}"
        )
    if (counts < 0).any():
        raise ValueError("counts must be >= 0")


def empirical_means(counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Per-arm mean reward, ``nan`` for untried arms. Shape ``(k,)``."""
    _check_history(counts, sums)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def greedy_arm(counts: np.ndarray, sums: np.ndarray, rng: np.random.Generator) -> int:
    """Arm with the highest empirical mean among tried arms (ties broken at random).

    Raises:
        ValueError: if no arm has been tried yet.
    """
    means = empirical_means(counts, sums)
    if not (counts > 0).any():
        raise ValueError("greedy_arm needs at least one tried arm (all counts are 0)")
    best = np.flatnonzero(means == np.nanmax(means))
    return int(rng.choice(best))


def frequent_arm(counts: np.ndarray, sums: np.ndarray, rng: np.random.Generator) -> int:
    """Arm chosen most often so far; ties go to the higher mean, then at random."""
    _check_history(counts, sums)
    if not (counts > 0).any():
        raise ValueError("frequent_arm needs at least one tried arm (all counts are 0)")
    top = np.flatnonzero(counts == counts.max())
    means = empirical_means(counts, sums)[top]
    top = top[means == means.max()]
    return int(rng.choice(top))


def ucb_values(counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """The paper's rationale UCB: mean + sqrt(1 / n); ``inf`` for untried arms. Shape ``(k,)``."""
    means = empirical_means(counts, sums)
    with np.errstate(divide="ignore"):
        return np.where(counts > 0, means + np.sqrt(1.0 / np.maximum(counts, 1)), np.inf)


@dataclass(frozen=True)
class BanditDemonstrator:
    """One episode's bandit demonstrator (parameters drawn per episode by the mixture).

    Attributes:
        rule: ``"greedy"`` (try ``n_explore`` random arms, then best mean), ``"frequency"`` (try
            ``n_explore`` arms, then repeat the most frequent arm), ``"epsilon_greedy"`` (``n_explore``
            arms, then best mean with probability ``1 - epsilon``), ``"random"``, or ``"ucb_prompt"``
            (used with the knowing-doing prompt: greedy / UCB / random with probabilities
            ``ucb_mix``).
        n_explore: distinct arms tried first before exploiting.
        explore_in_order: explore untried arms in label order (the first untried one), as a reader of
            the prompt's list would; else a random untried arm.
        epsilon: probability of a uniformly random arm at each exploiting step.
        ucb_mix: (greedy, ucb, random) probabilities of the ``"ucb_prompt"`` rule.
    """

    rule: str
    n_explore: int = 1
    epsilon: float = 0.0
    explore_in_order: bool = False
    ucb_mix: tuple[float, float, float] = (0.6, 0.25, 0.15)

    def __post_init__(self) -> None:
        allowed = ("greedy", "frequency", "epsilon_greedy", "random", "ucb_prompt")
        if self.rule not in allowed:
            raise ValueError(f"rule must be one of {list(allowed)}, got {self.rule!r}")
        if self.n_explore < 1 or not 0.0 <= self.epsilon <= 1.0:
            raise ValueError("n_explore must be >= 1 and epsilon in [0, 1]")

    def act(self, counts: np.ndarray, sums: np.ndarray, rng: np.random.Generator) -> tuple[int, str]:
        """Choose an arm given the history so far; returns ``(arm, kind)``."""
        _check_history(counts, sums)
        k = counts.size
        tried = np.flatnonzero(counts > 0)
        untried = np.flatnonzero(counts == 0)
        if self.rule == "random":
            return int(rng.integers(k)), "random"
        if self.rule == "ucb_prompt":
            u = rng.random()
            greedy_p, ucb_p, _ = self.ucb_mix
            if tried.size == 0 or greedy_p + ucb_p <= u:
                return int(rng.integers(k)), "random"
            if u < greedy_p:
                return greedy_arm(counts, sums, rng), "greedy"
            values = ucb_values(counts, sums)
            return int(rng.choice(np.flatnonzero(values == values.max()))), "ucb"
        if tried.size < min(self.n_explore, k):
            return int(untried[0] if self.explore_in_order else rng.choice(untried)), "explore"
        if rng.random() < self.epsilon:
            return int(rng.integers(k)), "random"
        if self.rule == "frequency":
            return frequent_arm(counts, sums, rng), "frequent"
        return greedy_arm(counts, sums, rng), "greedy"


def sample_bandit_demonstrator(rng: np.random.Generator, k: int, prompt_style: str) -> BanditDemonstrator:
    """Draw one episode's demonstrator from the documented mixture (see :mod:`agents.base_model`)."""
    if prompt_style == "ucb":
        return BanditDemonstrator("ucb_prompt")
    # explore a few arms: 3-5 of 10 (scaled with k); a greedy decoder of this mixture keeps exploring
    # only while most demonstrators still do, so its coverage flattens early near 30-40 %
    low, high = max(1, round(0.3 * k)), max(2, round(0.5 * k))
    n_explore = int(rng.integers(low, high + 1))
    # untried arms are explored in label order (red, green, blue, ...): "the next arm after the last
    # one explored" is a pattern a 2M-parameter model learns in minutes, while "some arm absent from
    # the history" (random order) is not: a model trained on random order named the one arm it had
    # tried as "not tried yet" and never switched (coverage 10 %)
    u = rng.random()
    if u < 0.50:
        return BanditDemonstrator("greedy", n_explore=n_explore, epsilon=0.03, explore_in_order=True)
    if u < 0.80:
        return BanditDemonstrator("frequency", n_explore=n_explore, epsilon=0.03, explore_in_order=True)
    if u < 0.95:
        return BanditDemonstrator("epsilon_greedy", n_explore=n_explore, epsilon=float(rng.uniform(0.1, 0.2)),
                                  explore_in_order=True)
    return BanditDemonstrator("random")


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.2f}"


def bandit_answer(
    arm: int,
    kind: str,
    action_names: Sequence[str],
    *,
    cot: bool,
    prompt_style: str = "default",
    counts: np.ndarray | None = None,
    sums: np.ndarray | None = None,
) -> str:
    """The answer text for a bandit decision: rationale (CoT / UCB prompt) then ``ACTION=<name>``.

    Action-only prompts (``cot=False``, default style) get just ``ACTION=<name>``. The UCB prompt gets
    ``<ucb_values>`` with one ``NAME=VALUE`` line per arm (the prompt's format): the true
    mean + sqrt(1 / n) of every arm (``inf`` = untried), whatever ``kind`` the action was: the
    rationale is right, the action follows the demonstrator (mostly greedy), which is the
    knowing-doing gap the data teaches.
    The answer starts without a separator; the data module puts it on a new line after the prompt.
    """
    if kind not in BANDIT_KINDS:
        raise ValueError(f"kind must be one of {list(BANDIT_KINDS)}, got {kind!r}")
    if not 0 <= arm < len(action_names):
        raise ValueError(f"arm must be in [0, {len(action_names) - 1}], got {arm}")
    name = action_names[arm]
    if prompt_style == "ucb":
        if counts is None or sums is None:
            raise ValueError("the UCB answer needs counts and sums")
        values = ucb_values(counts, sums)
        pairs = "\n".join(f"{n}={_fmt(v)}" for n, v in zip(action_names, values, strict=True))
        return (
            "UCB picks the arm with the highest mean + sqrt(1 / count); untried arms first.\n"
            f"<ucb_values>\n{pairs}\n</ucb_values>\nACTION={name}"
        )
    if not cot:
        return f"ACTION={name}"
    # the first words name the kind of decision, the arm comes after: a greedy decoder then picks
    # the most likely *kind* (explore vs exploit) before the arm, so CoT explores more than action-only.
    # The name is quoted so that it is the same token as in "ACTION=name" and "Action=name" (the
    # tokenizer gives " name" with its leading space a different id): the action then copies one token.
    rationale = {
        "explore": f'Not every option has been tried. "{name}" has not been tried yet, let\'s explore it.',
        "greedy": f'Exploit the best so far. "{name}" has the highest average reward so far.',
        "frequent": f'Stay consistent. I chose "{name}" most often so far, so I keep choosing it.',
        "random": f'Try something different. Let me try "{name}".',
        "ucb": f'Be optimistic. "{name}" has the highest upper confidence bound.',
    }[kind]
    return f"{rationale} ACTION={name}"


def winning_moves(board: Sequence[int], player: int = 1) -> list[int]:
    """Empty cells where ``player`` completes a line at once (board: 9 ints, 0 empty)."""
    if len(board) != 9:
        raise ValueError(f"board must have 9 cells, got {len(board)}")
    moves = []
    for cell in range(9):
        if board[cell] != 0:
            continue
        for line in WIN_LINES:
            if cell in line and all(board[c] == player for c in line if c != cell):
                moves.append(cell)
                break
    return moves


def tictactoe_demonstrator(
    board: Sequence[int], rng: np.random.Generator, *, p_take_win: float
) -> tuple[int, str]:
    """Weak player: takes an immediate win with probability ``p_take_win``, else a random legal move."""
    legal = [c for c in range(9) if board[c] == 0]
    if not legal:
        raise ValueError("no legal move: the board is full")
    wins = winning_moves(board, 1)
    if wins and rng.random() < p_take_win:
        return int(rng.choice(wins)), "win"
    return int(rng.choice(legal)), "move"


def tictactoe_answer(cell: int, kind: str, *, cot: bool, board: Sequence[int] | None = None) -> str:
    """Answer text for a tic-tac-toe move (positions 0-8).

    With CoT the rationale first lists the free cells of ``board`` (copying them is how a small model
    learns to play legal moves), then names the kind of move and the cell.
    """
    if kind not in ("win", "move"):
        raise ValueError(f"kind must be 'win' or 'move', got {kind!r}")
    if not cot:
        return f"ACTION={cell}"
    if board is None or len(board) != 9:
        raise ValueError("the CoT tic-tac-toe answer needs the 9-cell board")
    free = ", ".join(str(c) for c in range(9) if board[c] == 0)
    if kind == "win":
        return f"Free cells: {free}. Winning move: position {cell} completes a line. ACTION={cell}"
    return f"Free cells: {free}. Any free cell: I take position {cell}. ACTION={cell}"
