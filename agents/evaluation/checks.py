"""Sanity checks of the classic baselines, run through the real harness (``scripts/check_baselines.py``).

- :func:`bandit_regret_summary`: cumulative regret (mean, 95% CI) of several agents on one bandit.
- :func:`tictactoe_record`: wins / draws / losses of an agent against each opponent, half the games
  with the agent moving first and half second.

They are also run, with fewer episodes, by the tests (``tests/agents/test_evaluation_checks.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from agents.evaluation.harness import evaluate
from agents.registry import make_agent

TICTACTOE_OPPONENTS = ("random", "mcts", "noisy-mcts", "minimax")


def bandit_regret_summary(
    env_id: str,
    agents: Sequence[str],
    *,
    num_envs: int,
    seeds: Sequence[int],
    env_kwargs: Mapping[str, Any] | None = None,
    agent_seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """``analysis.summary.summarize_steps`` of each named agent on the same seeded episodes."""
    from analysis.summary import summarize_steps

    frames = [
        evaluate(
            env_id,
            make_agent(name, seed=agent_seed),
            num_envs=num_envs,
            seeds=seeds,
            env_kwargs=env_kwargs,
            progress=progress,
        )
        for name in agents
    ]
    return summarize_steps(pd.concat(frames, ignore_index=True))


def tictactoe_record(
    agent: str,
    *,
    games: int,
    opponents: Sequence[str] = TICTACTOE_OPPONENTS,
    agent_seed: int = 0,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Play ``games`` games of ``agent`` against each opponent; one row per opponent.

    Half the games (rounded up) start with the agent's move, the rest with the opponent's.

    Returns:
        Columns ``agent, opponent, games, wins, draws, losses, invalid`` (counts from the agent's
        side; ``invalid`` counts decisions whose text named no legal move).
    """
    if games < 2:
        raise ValueError(f"games must be >= 2 (half move first, half second), got {games}")
    rows = []
    for opponent in opponents:
        outcomes: list[str] = []
        invalid = 0
        for agent_first, n in ((True, (games + 1) // 2), (False, games // 2)):
            steps = evaluate(
                "TextTicTacToe-v0",
                make_agent(agent, seed=agent_seed),
                num_envs=n,
                seeds=[seed],
                env_kwargs={"opponent": opponent, "agent_first": agent_first},
                progress=progress,
            )
            last = steps.groupby(["seed", "episode"]).tail(1)
            outcomes.extend(last.outcome.tolist())
            invalid += int((~steps.valid_action).sum())
        rows.append(
            {
                "agent": agent,
                "opponent": opponent,
                "games": len(outcomes),
                "wins": outcomes.count("win"),
                "draws": outcomes.count("draw"),
                "losses": outcomes.count("loss"),
                "invalid": invalid,
            }
        )
    return pd.DataFrame(rows)
