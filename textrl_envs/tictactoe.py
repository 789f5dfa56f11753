"""``TextTicTacToe-v0``: tic-tac-toe against a scripted opponent, in the paper's text format."""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from textrl_envs import tictactoe_logic as ttt
from textrl_envs import tictactoe_text as tt
from textrl_envs._common import (
    ACTION_MAX_LENGTH,
    DEFAULT_INVALID_ACTION_PENALTY,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_render_mode,
    check_step_input,
    text_space,
)
from textrl_envs.extraction import extract_action

OPPONENTS = ("random", "mcts", "noisy-mcts", "minimax")
#: Share of random moves of the "noisy-mcts" opponent (SPEC: 50%).
NOISY_MCTS_RANDOM_PROB = 0.5
AGENT, OPPONENT = 1, 2
POSITION_NAMES: tuple[str, ...] = tuple(str(i) for i in range(9))


def opponent_move(board: np.ndarray, opponent: str, rng: np.random.Generator, simulations: int) -> int:
    """The scripted opponent's move (player 2) on ``board``; only ever a legal move."""
    if opponent == "random" or (opponent == "noisy-mcts" and rng.random() < NOISY_MCTS_RANDOM_PROB):
        return ttt.random_move(board, rng)
    if opponent == "minimax":
        return ttt.minimax_move(board, OPPONENT, rng)
    return ttt.mcts_move(board, OPPONENT, rng, simulations)


class TextTicTacToeEnv(gym.Env[str, str]):
    """Tic-tac-toe against a scripted opponent; observation = prompt text, action = the answer.

    ## Description
    The agent plays stones ``1`` and the opponent ``2`` on the paper's 9-digit board (positions
    0-8 read row by row, 012 / 345 / 678). Each step the agent names a position with
    ``ACTION=X``; the opponent replies at once, so every observation is the agent's turn.
    Follows the paper (Schmied et al. 2025), itself after LMAct (Ruoss et al. 2024).

    ## Action Space
    ``Text``: any ``str``. Positions are named ``"0"``..``"8"``. An answer without a parseable
    position, or naming an occupied cell (an *illegal move*, counted apart in
    ``info["illegal_move"]``), executes a uniformly random legal move and adds the penalty.

    ## Observation Space
    ``Text`` over all printable characters: the prompt of
    ``tictactoe_text.render_tictactoe_prompt`` (rules, history lines
    ``Step=1 State=102000000 Action=4 Reward=0``, current state, legal actions unless hidden,
    output instruction).

    ## Starting State
    An empty board; with ``agent_first=False`` the opponent has already placed one stone.

    ## Rewards
    ``env_reward`` is +1 on a win, -1 on a loss, 0 on a draw and on every non-final move. The
    returned reward is ``env_reward / reward_scale + (invalid_action_penalty if invalid)`` with
    ``reward_scale = 1``: game outcomes already lie in [-1, 1], so the -5 penalty is 2.5 times the
    whole win-loss range (never worth making) while a won game still pays back a penalised move.

    ## Episode End
    ``terminated=True`` when a player has three in a row or the board is full (at most 5 agent moves).

    ## Information
    Reset and step: ``action_names`` ("0".."8"), ``step`` (agent moves so far), ``optimal_action``
    (a minimax-best move for the decision just taken at step / about to be taken at reset;
    lowest index among ties; -1 once the game is over), ``board`` (9,) int8 after the opponent's
    reply, ``legal_actions`` (list[int]). Step only: ``action_index`` (move executed),
    ``valid_action`` (bool: a parseable AND legal move), ``illegal_move`` (bool: parsed to an
    occupied cell), ``env_reward``, ``regret`` (minimax value of the best move minus that of the
    executed move, in {0, 1, 2}), ``outcome`` ("win" / "draw" / "loss" at the end, else None),
    ``opponent_action`` (the reply, or -1 if none), ``extracted`` (raw ``ACTION=`` value or None).

    ## Arguments
    ``gym.make("TextTicTacToe-v0", opponent="mcts", show_legal_actions=True)``

    ======================  ==========  ==========================================================
    opponent                "random"    "random", "mcts", "noisy-mcts" (50% random), "minimax"
    show_legal_actions      True        list the empty positions in the prompt
    agent_first             True        the agent places the first stone
    cot                     True        chain-of-thought output instruction, else action only
    history_window          None        past moves shown in the prompt (None: all, at most 5)
    mcts_simulations        500         MCTS budget per opponent move (``DEFAULT_MCTS_SIMULATIONS``)
    invalid_action_penalty  -5.0        added to the reward for an invalid or illegal answer
    render_mode             None        "ansi": ``render()`` returns the observation
    ======================  ==========  ==========================================================

    Vector envs: games have different lengths, so with Gymnasium's default ``NEXT_STEP``
    autoreset a finished slot's next ``step`` is a reset step (reward 0, action ignored): mask it
    (the evaluation harness drops such slots from ``env_ids``), or use ``AutoresetMode.DISABLED``.
    ``AsyncVectorEnv`` needs ``shared_memory=False`` (see ``TextBanditEnv``: Gymnasium 1.4 returns
    stale text from a ``Text`` shared-memory buffer).

    ## References
    Schmied et al. 2025, arXiv 2504.16078; Ruoss et al. 2024 (LMAct).

    ## Version History
    v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        opponent: str = "random",
        show_legal_actions: bool = True,
        agent_first: bool = True,
        cot: bool = True,
        history_window: int | None = None,
        mcts_simulations: int = ttt.DEFAULT_MCTS_SIMULATIONS,
        invalid_action_penalty: float = DEFAULT_INVALID_ACTION_PENALTY,
        render_mode: str | None = None,
    ) -> None:
        check_choice("opponent", opponent, OPPONENTS)
        self.opponent = opponent
        self.show_legal_actions = check_bool("show_legal_actions", show_legal_actions)
        self.agent_first = check_bool("agent_first", agent_first)
        self.cot = check_bool("cot", cot)
        if history_window is not None:
            history_window = check_int("history_window", history_window, 1)  # 0 would hide the history
        self.history_window = history_window
        self.mcts_simulations = check_int("mcts_simulations", mcts_simulations, 1)
        self.reward_scale = 1.0
        self.invalid_action_penalty = check_float(
            "invalid_action_penalty", invalid_action_penalty, non_positive=True
        )
        self.render_mode = check_render_mode(render_mode)
        self.action_names = list(POSITION_NAMES)
        self._prefix = tt.prompt_prefix()
        # Bound: prefix + 5 history lines + the longest suffix; plus slack.
        longest_suffix = len(tt.prompt_suffix([0] * 9, show_legal_actions=True, cot=True))
        self.observation_space = text_space(len(self._prefix) + 5 * 48 + longest_suffix + 64)
        self.action_space = text_space(ACTION_MAX_LENGTH)
        self._board = np.zeros(9, dtype=np.int8)
        self._lines: deque[str] = deque(maxlen=history_window)
        self._t = 0
        self._done = False
        self._started = False
        self._obs = ""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        self._board = np.zeros(9, dtype=np.int8)
        if not self.agent_first:
            self._board[self._opponent_move()] = OPPONENT
        self._lines = deque(maxlen=self.history_window)
        self._t = 0
        self._done = False
        self._started = True
        self._obs = self._render_obs()
        return self._obs, self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        check_step_input(action, self._done, self._started)
        board_before = self._board.copy()
        legal = ttt.legal_moves(board_before)
        extraction = extract_action(action, self.action_names)
        illegal = extraction.index is not None and extraction.index not in legal
        valid = extraction.index is not None and not illegal
        move = extraction.index if valid else legal[int(self.np_random.integers(len(legal)))]
        values = ttt.minimax_values(board_before, AGENT)
        best = int(np.nanargmax(values))

        self._board[move] = AGENT
        reply = -1
        if not ttt.is_over(self._board):
            reply = self._opponent_move()
            self._board[reply] = OPPONENT
        win = ttt.winner(self._board)
        over = ttt.is_over(self._board)
        env_reward = 0.0 if not over else {AGENT: 1.0, OPPONENT: -1.0, 0: 0.0}[win]
        outcome = None if not over else {AGENT: "win", OPPONENT: "loss", 0: "draw"}[win]
        reward = env_reward / self.reward_scale + (0.0 if valid else self.invalid_action_penalty)

        self._lines.append(tt.history_line(self._t, board_before, move, env_reward))
        self._t += 1
        self._done = over
        self._obs = self._render_obs()
        info = self._info()
        info.update(
            optimal_action=best,
            action_index=int(move),
            valid_action=bool(valid),
            illegal_move=bool(illegal),
            env_reward=float(env_reward),
            regret=float(values[best] - values[move]),
            outcome=outcome,
            opponent_action=int(reply),
            extracted=extraction.matched,
        )
        return self._obs, float(reward), bool(over), False, info

    def render(self) -> str | None:
        return self._obs if self.render_mode == "ansi" else None

    def _opponent_move(self) -> int:
        return opponent_move(self._board, self.opponent, self.np_random, self.mcts_simulations)

    def _render_obs(self) -> str:
        suffix = tt.prompt_suffix(self._board, show_legal_actions=self.show_legal_actions, cot=self.cot)
        return tt.assemble_prompt(self._prefix, "\n".join(self._lines), suffix)

    def _info(self) -> dict[str, Any]:
        legal = ttt.legal_moves(self._board)
        optimal = int(np.nanargmax(ttt.minimax_values(self._board, AGENT))) if legal else -1
        return {
            "action_names": list(self.action_names),
            "step": int(self._t),
            "optimal_action": optimal,
            "board": self._board.copy(),
            "legal_actions": legal,
        }
