"""The one-row-per-agent summary table that ``textrl evaluate`` prints and the report shows.

:func:`summarize_steps` reduces a tidy step log to one row per ``(agent, env_id)``:

| column | meaning |
|---|---|
| ``episodes`` | number of episodes ``(seed, episode)`` |
| ``cum_regret_mean`` | mean over episodes of the episode's summed ``regret`` |
| ``cum_regret_ci_low`` / ``_high`` | Student-t 95% interval over episodes (NaN with one episode) |
| ``coverage_last`` | mean final action coverage ``C_T`` (distinct actions executed / k) |
| ``invalid_rate`` | share of decisions whose text named no valid action |
| ``return_mean`` | mean summed raw ``env_reward`` per episode |
| ``win_rate``, ``draw_rate``, ``loss_rate`` | tic-tac-toe games (see ``metrics.tictactoe_outcomes``) |
| ``illegal_move_rate`` | tic-tac-toe: share of moves naming an occupied cell |

The four tic-tac-toe columns exist only when the log holds a tic-tac-toe env; other envs get NaN.

:func:`paired_difference` compares two agents played on the same seeded episodes: the interval of
the mean per-episode difference, far narrower than two separate intervals when the episodes (arm
means, reward draws) are shared.

Example::

    steps = evaluate("TextBandit-v0", make_agent("ucb"), num_envs=8, seeds=[0, 1])
    print(format_summary(summarize_steps(steps)))
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.metrics import (
    EPISODE_KEYS,
    GROUP_KEYS,
    episode_stats,
    is_tictactoe,
    tictactoe_outcomes,
    validate_steps,
)
from analysis.stats import mean_ci
from analysis.tables import format_cell, to_text

__all__ = [
    "BANDIT_SHOWN", "SUMMARY_COLUMNS", "TICTACTOE_COLUMNS", "TICTACTOE_SHOWN", "format_summary",
    "paired_difference", "same_episodes", "summarize_steps", "summary_views",
]

SUMMARY_COLUMNS = [
    "agent", "env_id", "episodes", "cum_regret_mean", "cum_regret_ci_low", "cum_regret_ci_high",
    "coverage_last", "invalid_rate", "return_mean",
]
TICTACTOE_COLUMNS = ["win_rate", "draw_rate", "loss_rate", "illegal_move_rate"]
_REQUIRED = [
    "agent", "env_id", "seed", "episode", "step", "action_index", "valid_action", "env_reward", "regret",
    "n_actions",
]


def summarize_steps(steps: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Summarise a tidy step log, one row per ``(agent, env_id)`` (columns in the module docstring).

    Raises:
        TypeError: ``steps`` is not a DataFrame.
        ValueError: empty log, or a required column is missing (tic-tac-toe rows also need
            ``outcome`` and ``illegal_move``).
    """
    validate_steps(steps, _REQUIRED)
    per_episode = episode_stats(steps)
    rows = []
    for (agent, env_id), group in per_episode.groupby(GROUP_KEYS, sort=True):
        mean, low, high = mean_ci(group["cum_regret"], confidence)
        rows.append(
            (
                agent, env_id, len(group), mean, low, high, float(group["coverage_last"].mean()),
                float(group["invalid_actions"].sum() / group["length"].sum()), float(group["return"].mean()),
            )
        )
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    ttt_mask = steps["env_id"].map(is_tictactoe)
    if ttt_mask.any():
        outcomes = tictactoe_outcomes(steps[ttt_mask])[[*GROUP_KEYS, *TICTACTOE_COLUMNS]]
        summary = summary.merge(outcomes, on=GROUP_KEYS, how="left")
    return summary.reset_index(drop=True)


def same_episodes(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two step logs hold the same episodes ``(seed, episode)``: the condition for
    :func:`paired_difference` (with the same env settings, the same arm means and reward draws)."""
    keys = ["seed", "episode"]
    return set(map(tuple, a[keys].drop_duplicates().to_numpy().tolist())) == set(
        map(tuple, b[keys].drop_duplicates().to_numpy().tolist())
    )


def paired_difference(
    after: pd.DataFrame, before: pd.DataFrame, value: str = "cum_regret", confidence: float = 0.95
) -> tuple[float, float, float, int]:
    """Mean and Student-t interval of ``after - before`` per episode, on the episodes both logs hold.

    Both step logs must come from the same evaluation plan (the same env, ``num_envs`` and seeds):
    an episode ``(seed, episode)`` then has the same arm means and reward draws in both, so the
    difference removes what the two runs share (how hard each bandit is) and a smaller change is
    resolved than by comparing the two runs' own intervals.

    Args:
        after, before: tidy step logs of one agent each (e.g. RL-fine-tuned and base).
        value: a column of :func:`analysis.metrics.episode_stats` (``cum_regret``, ``return``,
            ``coverage_last``).
        confidence: interval level.

    Returns:
        ``(mean, ci_low, ci_high, n_episodes)``.

    Raises:
        ValueError: a log holds several agents or envs, the episodes differ, or ``value`` is unknown.

    Example: per-episode regrets (10, 12) before and (7, 10) after: differences (-3, -2), mean -2.5.
    """
    per = []
    for name, steps in (("after", after), ("before", before)):
        validate_steps(steps, _REQUIRED)
        stats = episode_stats(steps)
        groups = stats[GROUP_KEYS].drop_duplicates().values.tolist()
        if len(groups) != 1:
            raise ValueError(f"{name} must hold one agent on one env, got (agent, env_id) {groups}")
        allowed = [c for c in stats.columns if c not in EPISODE_KEYS]
        if value not in allowed:
            raise ValueError(f"value must be a per-episode statistic, one of {allowed}; got {value!r}")
        per.append(stats.set_index(["seed", "episode"])[value])
    if not same_episodes(after, before) or per[0].shape != per[1].shape:
        raise ValueError(
            f"the two logs must hold the same episodes (seed, episode): after has {len(per[0])}, before "
            f"{len(per[1])}, {len(set(per[0].index) ^ set(per[1].index))} in only one of them"
        )
    diff = per[0] - per[1].reindex(per[0].index)
    mean, low, high = mean_ci(diff.to_numpy(dtype=float), confidence)
    return mean, low, high, int(diff.size)


#: Columns shown beside the regret for bandit rows, and instead of it for tic-tac-toe rows (a game's
#: coverage and minimax regret are not what its table is read for).
BANDIT_SHOWN = ["coverage_last", "invalid_rate", "return_mean"]
TICTACTOE_SHOWN = ["return_mean", "win_rate", "draw_rate", "loss_rate", "invalid_rate", "illegal_move_rate"]


def _check_summary(df: object) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"format_summary expects the DataFrame from summarize_steps, got {type(df).__name__}")
    missing = [c for c in SUMMARY_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"format_summary: missing columns {missing}; pass the output of summarize_steps")
    return df


def summary_views(df: pd.DataFrame, decimals: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary as shown: ``(bandit_rows, tictactoe_rows)``, each with its own columns.

    Bandit rows: the id columns (``run`` when present, ``agent, env_id, episodes``), the regret as
    ``"mean [low, high]"`` text, then :data:`BANDIT_SHOWN`. Tic-tac-toe rows: the id columns with
    ``games`` for ``episodes``, then :data:`TICTACTOE_SHOWN`. Either frame may be empty.
    """
    df = _check_summary(df)
    ids = [c for c in ("run", "agent", "env_id", "episodes") if c in df.columns]
    ttt = df["env_id"].map(is_tictactoe).to_numpy(dtype=bool)
    bandit = df.loc[~ttt, ids].copy()
    rows = df.loc[~ttt, ["cum_regret_mean", "cum_regret_ci_low", "cum_regret_ci_high"]]
    bandit["cum_regret (95% CI)"] = [
        f"{format_cell(m, decimals)} [{format_cell(lo, decimals)}, {format_cell(hi, decimals)}]"
        for m, lo, hi in rows.itertuples(index=False, name=None)
    ]
    for column in BANDIT_SHOWN:
        bandit[column] = df.loc[~ttt, column].astype(float).to_numpy()
    games = df.loc[ttt, ids].rename(columns={"episodes": "games"})
    for column in TICTACTOE_SHOWN:
        values = df.loc[ttt, column] if column in df.columns else pd.Series(np.nan, index=games.index)
        games[column] = values.astype(float).to_numpy()
    for frame, count in ((bandit, "episodes"), (games, "games")):
        frame[count] = frame[count].astype(np.int64)
    return bandit.reset_index(drop=True), games.reset_index(drop=True)


def format_summary(df: pd.DataFrame, decimals: int = 3) -> str:
    """Plain-text tables of a :func:`summarize_steps` frame (:func:`summary_views`): bandit rows with
    the regret as ``mean [low, high]`` and coverage; tic-tac-toe rows, below, with game outcomes."""
    bandit, games = summary_views(df, decimals)
    return "\n\n".join(to_text(frame, decimals) for frame in (bandit, games) if not frame.empty)
