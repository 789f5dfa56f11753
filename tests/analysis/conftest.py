"""Hand-built step logs shared by the analysis tests (answers computed by hand in the tests)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest


def make_rows(agent, env_id, seed, episode, actions, rewards, optimal, k, valid=None, regrets=None, **extra):
    """One episode of the tidy step log; ``extra`` columns are given per step as lists."""
    rows = []
    for t, (a, r) in enumerate(zip(actions, rewards, strict=True)):
        row = {
            "agent": agent,
            "env_id": env_id,
            "seed": seed,
            "episode": episode,
            "step": t,
            "action_text": f"ACTION={a}",
            "action_index": a,
            "valid_action": True if valid is None else valid[t],
            "reward": r,
            "env_reward": r,
            "regret": 0.0 if regrets is None else regrets[t],
            "optimal_action": optimal,
            "n_actions": k,
            "terminated": t == len(actions) - 1,
        }
        for name, values in extra.items():
            row[name] = values[t]
        rows.append(row)
    return rows


def bandit_frame(agent: str = "a") -> pd.DataFrame:
    """Two 4-step episodes of a 3-armed bandit with arm means [0.2, 0.5, 0.9] (optimal arm 2).

    Episode A (seed 0): actions 0,1,0,2 rewards 1.0,0.0,0.5,0.3, step 1 invalid;
    regrets 0.7,0.4,0.7,0.0.
    Episode B (seed 1): actions 1,1,0,1 rewards 0.2,0.4,0.9,0.1; regrets 0.4,0.4,0.7,0.4.
    """
    means = [0.2, 0.5, 0.9]
    a_actions, b_actions = [0, 1, 0, 2], [1, 1, 0, 1]
    rows = make_rows(
        agent,
        "TextBandit-v0",
        0,
        0,
        a_actions,
        [1.0, 0.0, 0.5, 0.3],
        2,
        3,
        valid=[True, False, True, True],
        regrets=[0.9 - means[a] for a in a_actions],
    )
    rows += make_rows(
        agent,
        "TextBandit-v0",
        1,
        0,
        b_actions,
        [0.2, 0.4, 0.9, 0.1],
        2,
        3,
        regrets=[0.9 - means[a] for a in b_actions],
    )
    return pd.DataFrame(rows)


def tictactoe_frame() -> pd.DataFrame:
    """Three games: a 3-move win (move 2 illegal), a 2-move loss, a 1-move unfinished game."""
    env = "TextTicTacToe-v0"
    rows = make_rows(
        "m",
        env,
        0,
        0,
        [4, 4, 8],
        [0.0, 0.0, 1.0],
        4,
        9,
        valid=[True, False, True],
        regrets=[0.0, 1.0, 0.0],
        illegal_move=[False, True, False],
        outcome=["", "", "win"],
    )
    rows += make_rows(
        "m",
        env,
        0,
        1,
        [0, 1],
        [0.0, -1.0],
        4,
        9,
        regrets=[1.0, 0.0],
        illegal_move=[False, False],
        outcome=["", "loss"],
    )
    rows += make_rows("m", env, 0, 2, [4], [0.0], 4, 9, illegal_move=[False], outcome=[""])
    return pd.DataFrame(rows)


@pytest.fixture
def frames():
    """The hand-built logs: ``frames.bandit(agent="a")`` and ``frames.tictactoe()``."""
    return SimpleNamespace(bandit=bandit_frame, tictactoe=tictactoe_frame)
