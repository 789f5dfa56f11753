"""Demonstrator policies whose answers the embedded base model is pretrained on.

Each demonstrator is a pure function of the history (per-arm counts and reward sums, or the board)
and a NumPy generator; it returns the chosen action and the *kind* of decision, from which
:func:`bandit_answer` / :func:`tictactoe_answer` write the answer text (a short worked rationale,
then ``ACTION=X``). The mixture that draws a demonstrator per episode is documented in
:mod:`agents.base_model` and drawn in :func:`sample_bandit_demonstrator` /
:func:`sample_tictactoe_demonstrator`.

Bandit decision kinds: ``"explore"`` (an untried arm: the first in label order, or a random one),
``"greedy"`` (the best
empirical mean among tried arms), ``"stay"`` (the most pulled arm, when its mean is close to the
best: a small frequency bias), ``"random"`` (uniform), ``"ucb"`` (highest mean + sqrt(1 / n), the
paper's rationale formula; untried arms first). Tic-tac-toe kinds: ``"win"`` (a move that wins at
once), ``"block"`` (a move that stops the opponent winning at once), ``"first"`` (the first free
cell), ``"move"`` (a random free cell).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from textrl_envs.bandit_text import format_reward

BANDIT_KINDS = ("explore", "greedy", "stay", "random", "ucb")
TICTACTOE_KINDS = ("win", "block", "first", "move")
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


def greedy_arm(counts: np.ndarray, sums: np.ndarray) -> int:
    """Arm with the highest empirical mean among tried arms (ties: the first in label order).

    Ties go to the first label, not a random one, so that the arm is a function of the history that
    a model can learn exactly (a random tie-break is learned as a spread-out distribution whose
    greedy decoding picks an arbitrary label).

    Raises:
        ValueError: if no arm has been tried yet.
    """
    means = empirical_means(counts, sums)
    if not (counts > 0).any():
        raise ValueError("greedy_arm needs at least one tried arm (all counts are 0)")
    return int(np.flatnonzero(means == np.nanmax(means))[0])


def most_pulled_arm(counts: np.ndarray, sums: np.ndarray) -> int:
    """Arm pulled most often so far; ties go to the higher mean, then to the first in label order."""
    means = empirical_means(counts, sums)
    if not (counts > 0).any():
        raise ValueError("most_pulled_arm needs at least one tried arm (all counts are 0)")
    top = np.flatnonzero(counts == counts.max())
    return int(top[np.flatnonzero(means[top] == means[top].max())[0]])


def ucb_values(counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """The paper's rationale UCB: mean + sqrt(1 / n); ``inf`` for untried arms. Shape ``(k,)``."""
    means = empirical_means(counts, sums)
    with np.errstate(divide="ignore"):
        return np.where(counts > 0, means + np.sqrt(1.0 / np.maximum(counts, 1)), np.inf)


@dataclass(frozen=True)
class BanditDemonstrator:
    """One episode's bandit demonstrator (parameters drawn per episode by the mixture).

    Attributes:
        rule: ``"greedy"`` (explore untried arms while fewer than ``min_explore`` arms are tried or the
            best empirical mean is below ``threshold``, else exploit the best mean),
            ``"random"`` (uniform), or ``"ucb_prompt"`` (used with the knowing-doing prompt: greedy /
            UCB / random with probabilities ``ucb_mix``).
        min_explore: distinct arms tried before the first exploiting step.
        threshold: keep exploring (while untried arms remain) as long as no tried arm has an empirical
            mean at or above this; ``-inf`` never explores past ``min_explore``. A *satisficer*.
        epsilon: probability of a uniformly random arm at each exploiting step.
        stickiness: when exploiting, stay on the most pulled arm if its mean is within this of the
            best mean (0: always the best mean).
        explore_in_order: explore the first untried arm in label order (red, green, blue, ...), a
            pattern a small model learns at once; else a uniformly random untried arm.
        ucb_mix: (greedy, ucb, random) probabilities of the ``"ucb_prompt"`` rule.
    """

    rule: str
    min_explore: int = 1
    threshold: float = -math.inf
    epsilon: float = 0.0
    stickiness: float = 0.0
    explore_in_order: bool = True
    ucb_mix: tuple[float, float, float] = (0.6, 0.25, 0.15)

    def __post_init__(self) -> None:
        allowed = ("greedy", "random", "ucb_prompt")
        if self.rule not in allowed:
            raise ValueError(f"rule must be one of {list(allowed)}, got {self.rule!r}")
        if self.min_explore < 1 or not 0.0 <= self.epsilon <= 1.0 or self.stickiness < 0:
            raise ValueError("min_explore must be >= 1, epsilon in [0, 1] and stickiness >= 0")

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
                return greedy_arm(counts, sums), "greedy"
            values = ucb_values(counts, sums)
            return int(np.flatnonzero(values == values.max())[0]), "ucb"
        if untried.size and (
            tried.size < self.min_explore or np.nanmax(empirical_means(counts, sums)) < self.threshold
        ):
            return int(untried[0] if self.explore_in_order else rng.choice(untried)), "explore"
        if rng.random() < self.epsilon:
            return int(rng.integers(k)), "random"
        best = greedy_arm(counts, sums)
        frequent = most_pulled_arm(counts, sums)
        means = empirical_means(counts, sums)
        if frequent != best and means[frequent] >= means[best] - self.stickiness:
            return frequent, "stay"
        return best, "greedy"


#: Share of the arms a default-prompt demonstrator explores before exploiting, and its probability.
#: The hazard (the chance that a demonstrator who has explored this far stops now) first passes 1/2
#: at 40 %, so a greedy decoder of the mixture explores 4 of 10 arms, while sampled answers stop
#: anywhere from 3 to 7: room for RL fine-tuning in both directions.
EXPLORE_SHARES = {0.3: 0.2, 0.4: 0.45, 0.5: 0.15, 0.6: 0.1, 0.7: 0.1}


def sample_bandit_demonstrator(
    rng: np.random.Generator, k: int, prompt_style: str, *, max_stickiness: float = 0.4
) -> BanditDemonstrator:
    """Draw one episode's demonstrator from the documented mixture (see :mod:`agents.base_model`).

    Default prompt: 70 % explore-then-exploit (``min_explore`` = a share of the arms drawn from
    :data:`EXPLORE_SHARES`), 20 % satisficers (``min_explore`` 20-40 % of the arms, then keep exploring
    while the best mean is below ``threshold ~ U(0, 1)``), 10 % uniform random. Exploiting steps
    take a random arm with ``epsilon`` 0 (half of the episodes) or ``~U(0.02, 0.08)``, and stay on
    the most pulled arm when its mean is within ``stickiness ~ U(0, max_stickiness)`` of the best (0:
    never, the exploit is always the best mean; the same draws either way). Untried arms
    are explored in label order in 80 % of the episodes and in random order in the others, so that
    a history that explored any arms is one the model has seen exploited greedily (a greedy decoder
    still explores in label order, the likelier choice).
    """
    if not max_stickiness >= 0:
        raise ValueError(f"max_stickiness must be >= 0, got {max_stickiness!r}")
    if prompt_style == "ucb":
        return BanditDemonstrator("ucb_prompt")
    u = rng.random()
    epsilon = 0.0 if rng.random() < 0.5 else float(rng.uniform(0.02, 0.08))
    stickiness = float(rng.uniform(0.0, 1.0)) * max_stickiness
    in_order = bool(rng.random() < 0.8)
    shares = list(EXPLORE_SHARES)
    if u < 0.7:
        share = shares[int(rng.choice(len(shares), p=list(EXPLORE_SHARES.values())))]
        n = max(1, int(share * k + 0.5))
        return BanditDemonstrator("greedy", min_explore=n, epsilon=epsilon, stickiness=stickiness,
                                  explore_in_order=in_order)
    if u < 0.9:
        n = int(rng.integers(max(1, int(0.2 * k + 0.5)), max(1, int(0.4 * k + 0.5)) + 1))
        return BanditDemonstrator("greedy", min_explore=n, threshold=float(rng.uniform(0.0, 1.0)),
                                  epsilon=epsilon, stickiness=stickiness, explore_in_order=in_order)
    return BanditDemonstrator("random")


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.2f}"


#: How the worked means of a CoT answer are written (``BaseModelConfig.means_format``).
MEANS_FORMATS = ("list", "running_max")


def means_block(
    action_names: Sequence[str], counts: np.ndarray, sums: np.ndarray, *, means_format: str = "list"
) -> str:
    """The worked part of a CoT answer: one ``NAME=MEAN`` line per tried arm, in label order.

    Means are printed like the history's rewards (:func:`textrl_envs.bandit_text.format_reward`), so
    a number the model writes is made of the same tokens as the numbers it reads. With no arm
    tried yet the block is ``"Means: none"``.

    ``means_format="running_max"`` appends the best arm so far and its mean to every line
    (``green=0.5 best "red"=0.54``), so that finding the best arm is one comparison per line, of the
    mean just written with the previous line's best, instead of one comparison of all the means at
    the decision; the last line's best is :func:`greedy_arm` (ties: the first in label order).
    """
    if means_format not in MEANS_FORMATS:
        raise ValueError(f"means_format must be one of {list(MEANS_FORMATS)}, got {means_format!r}")
    means = empirical_means(counts, sums)
    lines, best = [], None
    for arm, (name, m) in enumerate(zip(action_names, means, strict=True)):
        if math.isnan(m):
            continue
        line = f"{name}={format_reward(float(m))}"
        if means_format == "running_max":
            if best is None or m > means[best]:
                best = arm
            line += f' best "{action_names[best]}"={format_reward(float(means[best]))}'
        lines.append(line)
    return "Means:\n" + "\n".join(lines) if lines else "Means: none"


def bandit_answer(
    arm: int,
    kind: str,
    action_names: Sequence[str],
    *,
    cot: bool,
    prompt_style: str = "default",
    counts: np.ndarray | None = None,
    sums: np.ndarray | None = None,
    means_format: str = "list",
) -> str:
    """The answer text for a bandit decision: worked rationale (CoT / UCB prompt) then ``ACTION=<name>``.

    Action-only prompts (``cot=False``, default style) get just ``ACTION=<name>``. CoT answers first
    write the mean reward of every tried arm (:func:`means_block`), then one decision line that
    starts with the kind (``Explore`` / ``Exploit`` / ``Stay`` / ``Try`` / ``Follow``): a greedy decoder reads
    the means, then picks the likeliest kind, then the arm. The UCB prompt gets ``<ucb_values>`` with
    one ``NAME=VALUE`` line per arm (the prompt's format): the true mean + sqrt(1 / n) of every arm
    (``inf`` = untried), whatever ``kind`` the action was: the rationale is right, the action follows
    the demonstrator (mostly greedy), the knowing-doing gap the data teaches.
    The arm name in the decision line is quoted so it is the same token as in ``ACTION=name``.
    ``means_format`` is :func:`means_block`'s.
    The answer starts without a separator; the data module puts it on a new line after the prompt.
    """
    if kind not in BANDIT_KINDS:
        raise ValueError(f"kind must be one of {list(BANDIT_KINDS)}, got {kind!r}")
    if not 0 <= arm < len(action_names):
        raise ValueError(f"arm must be in [0, {len(action_names) - 1}], got {arm}")
    name = action_names[arm]
    if not cot and prompt_style != "ucb":
        return f"ACTION={name}"
    if counts is None or sums is None:
        raise ValueError("a CoT or UCB answer needs counts and sums")
    decision = {
        "explore": f'Explore "{name}": not tried yet.',
        "greedy": f'Exploit "{name}": highest mean.',
        "stay": f'Stay with "{name}": pulled most, mean close to the best.',
        "random": f'Try "{name}" at random.',
        "ucb": f'Follow "{name}": highest upper confidence bound.',
    }[kind]
    if prompt_style == "ucb":
        values = ucb_values(counts, sums)
        pairs = "\n".join(f"{n}={_fmt(v)}" for n, v in zip(action_names, values, strict=True))
        return (
            "UCB picks the arm with the highest mean + sqrt(1 / count); untried arms first.\n"
            f"<ucb_values>\n{pairs}\n</ucb_values>\n{decision} ACTION={name}"
        )
    return f"{means_block(action_names, counts, sums, means_format=means_format)}\n{decision} ACTION={name}"


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


@dataclass(frozen=True)
class TicTacToeDemonstrator:
    """One game's weak tic-tac-toe player (player 1; parameters drawn per game).

    Each move: a winning move with probability ``p_win`` when there is one; else a move that blocks
    the opponent's immediate win with probability ``p_block`` when there is one; else the first free
    cell with probability ``p_first``; else a uniformly random free cell. With ``p_win`` and
    ``p_block`` below 1/2 on average, a greedy decoder of the mixture neither takes wins nor blocks,
    and plays the first free cell: legal but weak, and RL fine-tuning has an obvious thing to learn.
    """

    p_win: float
    p_block: float
    p_first: float = 0.75

    def act(self, board: Sequence[int], rng: np.random.Generator) -> tuple[int, str]:
        """Choose a cell on ``board``; returns ``(cell, kind)``."""
        legal = [c for c in range(9) if board[c] == 0]
        if not legal:
            raise ValueError("no legal move: the board is full")
        wins = winning_moves(board, 1)
        if wins and rng.random() < self.p_win:
            return wins[0], "win"
        blocks = winning_moves(board, 2)
        if blocks and rng.random() < self.p_block:
            return blocks[0], "block"
        if rng.random() < self.p_first:
            return legal[0], "first"
        return int(rng.choice(legal)), "move"


def sample_tictactoe_demonstrator(rng: np.random.Generator) -> TicTacToeDemonstrator:
    """One game's player: ``p_win ~ U(0, 0.8)``, ``p_block ~ U(0, 0.6)``, first free cell 75 %."""
    return TicTacToeDemonstrator(p_win=float(rng.uniform(0.0, 0.8)), p_block=float(rng.uniform(0.0, 0.6)))


def tictactoe_answer(cell: int, kind: str, *, cot: bool, board: Sequence[int] | None = None) -> str:
    """Answer text for a tic-tac-toe move (positions 0-8).

    With CoT the rationale first lists the free cells of ``board`` (copying them is how a small model
    learns to play legal moves), then names the kind of move and the cell.
    """
    if kind not in TICTACTOE_KINDS:
        raise ValueError(f"kind must be one of {list(TICTACTOE_KINDS)}, got {kind!r}")
    if not cot:
        return f"ACTION={cell}"
    if board is None or len(board) != 9:
        raise ValueError("the CoT tic-tac-toe answer needs the 9-cell board")
    free = ", ".join(str(c) for c in range(9) if board[c] == 0)
    reason = {
        "win": f"Winning move: {cell} completes my line.",
        "block": f"Block: {cell} stops the opponent's line.",
        "first": f"First free cell: {cell}.",
        "move": f"Any free cell: {cell}.",
    }[kind]
    return f"Free cells: {free}. {reason} ACTION={cell}"
