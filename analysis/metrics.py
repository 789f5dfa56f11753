"""Decision-making metrics on the tidy step log: pure functions, DataFrame in, DataFrame out.

The step log has one row per decision (schema in ``docs/ARCHITECTURE.md`` section 2);
``(agent, env_id, seed, episode)`` names an episode and ``step`` (0-based) orders it. Every function
here validates its input (``TypeError`` for a non-DataFrame, ``ValueError`` for an empty log or
missing columns), never mutates it, and returns one row per ``(agent, env_id)`` (or per step / arm
where said). No file I/O: :mod:`analysis.report` does that.

Measurements (SPEC "Measurements"; Krishnamurthy et al. 2024 for the last three):

- cumulative regret ``R_t = sum_{s<=t} regret_s`` per episode; :func:`regret_curve` averages it
  across episodes (or seeds) with a Student-t 95% interval at every step.
- action coverage ``C_t = |{a : N_t(a) > 0}| / k`` (this step's action included).
- suffix-failure frequency: share of episodes whose optimal action is never executed in steps
  ``[t0, T)``, ``t0 = T // 2`` by default.
- MinFrac: ``min_a N_T(a) / T``, the smallest share of the episode's pulls given to any arm (also
  reported multiplied by ``k``, so 1.0 means perfectly uniform).
- greedy fraction: share of steps whose executed arm has the best empirical mean among the arms tried
  so far (see :func:`greedy_fraction` for ties and the first step).
- top-arm share: the share of all pulls, pooled over episodes, that go to the single most-pulled arm
  label (:func:`top_arm_share`). Each episode draws its arm means afresh, so an agent that chooses by
  reward spreads its pulls over the labels; one label taking most pulls means it chooses by name.

The executed action (``action_index``) is used throughout, so an invalid answer counts as the random
action the environment executed in its place; :func:`invalid_action_rate` reports how often that was.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.stats import grouped_mean_ci, wilson_interval

__all__ = [
    "EPISODE_KEYS",
    "GROUP_KEYS",
    "STEP_COLUMNS",
    "FINITE_COLUMNS",
    "validate_steps",
    "cumulative_regret",
    "episode_stats",
    "regret_curve",
    "coverage_curve",
    "suffix_failure_frequency",
    "min_frac",
    "greedy_flags",
    "greedy_fraction",
    "pulls_per_arm",
    "top_arm_share",
    "tictactoe_outcomes",
    "invalid_action_rate",
    "is_tictactoe",
]

EPISODE_KEYS = ["agent", "env_id", "seed", "episode"]
GROUP_KEYS = ["agent", "env_id"]
STEP_COLUMNS = [
    "agent", "env_id", "seed", "episode", "step", "action_text", "action_index", "valid_action",
    "reward", "env_reward", "regret", "optimal_action", "n_actions", "terminated",
]
_UNITS = ("episode", "seed")


#: Numeric columns of the step log that must be finite (a NaN regret once summed to "0.000").
FINITE_COLUMNS = (
    "seed", "episode", "step", "action_index", "reward", "env_reward", "regret", "optimal_action",
    "n_actions",
)  # fmt: skip


def validate_steps(
    steps: object, required: Sequence[str] = ("agent", "env_id", "seed", "episode", "step")
) -> None:
    """Raise a clear error unless ``steps`` is a non-empty DataFrame holding the ``required`` columns,
    with finite numbers in every :data:`FINITE_COLUMNS` column it has (the error names the column and
    the rows, 0-based positions in the log)."""
    if not isinstance(steps, pd.DataFrame):
        raise TypeError(f"steps must be a pandas DataFrame (the tidy step log), got {type(steps).__name__}")
    if steps.empty:
        raise ValueError("steps is empty: the step log holds no decisions")
    missing = [c for c in required if c not in steps.columns]
    if missing:
        raise ValueError(
            f"steps is missing columns {missing}; the tidy step log needs {list(required)} "
            f"(see docs/ARCHITECTURE.md section 2), got {list(steps.columns)}"
        )
    for column in FINITE_COLUMNS:
        if column in steps.columns:
            _check_finite(steps[column], column)


def _rows(positions: np.ndarray, shown: int = 10) -> str:
    return ", ".join(str(int(p)) for p in positions[:shown]) + (", ..." if len(positions) > shown else "")


def _check_finite(series: pd.Series, column: str) -> None:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    nan, inf = np.flatnonzero(np.isnan(values)), np.flatnonzero(np.isinf(values))
    if len(nan) == 0 and len(inf) == 0:
        return
    parts = [f"{kind} in row{'s' if len(rows) > 1 else ''} {_rows(rows)}"
             for kind, rows in (("NaN", nan), ("inf", inf)) if len(rows)]
    raise ValueError(
        f"column {column!r} must hold finite numbers, but has {' and '.join(parts)} (0-based rows of the "
        f"step log; {len(nan) + len(inf)} of {len(values)} rows; text that is not a number counts as NaN)"
    )


def is_tictactoe(env_id: str) -> bool:
    """True for tic-tac-toe env ids (``TextTicTacToe-v0``, with or without a ``module:`` prefix)."""
    return "tictactoe" in str(env_id).lower()


def _as_bool(series: pd.Series) -> pd.Series:
    """Booleans from a bool column or from its CSV spelling ("True"/"False"/"1"/"0")."""
    if series.dtype == bool:
        return series
    mapping = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
    return series.map(lambda v: mapping.get(str(v).strip().lower(), bool(v) if not pd.isna(v) else False))


def _sorted(steps: pd.DataFrame, required: Sequence[str]) -> pd.DataFrame:
    validate_steps(steps, ["agent", "env_id", "seed", "episode", "step", *required])
    return steps.sort_values([*EPISODE_KEYS, "step"], kind="stable").reset_index(drop=True)


def _check_unit(unit: str) -> None:
    if unit not in _UNITS:
        raise ValueError(f"unit must be one of {_UNITS}, got {unit!r}")


def cumulative_regret(steps: pd.DataFrame) -> pd.DataFrame:
    """Running sum of ``regret`` within each episode.

    Returns the episode keys, ``step`` and ``cum_regret``, one row per decision, sorted by episode
    then step.
    """
    df = _sorted(steps, ["regret"])
    out = df[[*EPISODE_KEYS, "step"]].copy()
    out["cum_regret"] = df.groupby(EPISODE_KEYS, sort=False)["regret"].cumsum().astype(float)
    return out


def _coverage_per_step(df: pd.DataFrame) -> pd.Series:
    """C_t per row of a sorted log: distinct actions executed so far over k."""
    first = ~df.duplicated([*EPISODE_KEYS, "action_index"])  # first time this arm appears in the episode
    distinct = first.astype(int).groupby([df[k] for k in EPISODE_KEYS], sort=False).cumsum()
    k = df.groupby(EPISODE_KEYS, sort=False)["n_actions"].transform("max").astype(float)
    return distinct / k


def episode_stats(steps: pd.DataFrame) -> pd.DataFrame:
    """One row per episode: ``length, cum_regret, return, coverage_last, invalid_actions``.

    ``return`` sums the raw ``env_reward`` (the task's reward, before normalisation and the invalid
    action penalty); ``coverage_last`` is ``C_T`` after the episode's last step.
    """
    df = _sorted(steps, ["regret", "env_reward", "action_index", "n_actions", "valid_action"])
    df = df.assign(_coverage=_coverage_per_step(df), _invalid=~_as_bool(df["valid_action"]))
    grouped = df.groupby(EPISODE_KEYS, sort=True)
    return pd.DataFrame(
        {
            "length": grouped.size(),
            "cum_regret": grouped["regret"].sum().astype(float),
            "return": grouped["env_reward"].sum().astype(float),
            "coverage_last": grouped["_coverage"].last(),
            "invalid_actions": grouped["_invalid"].sum().astype(int),
        }
    ).reset_index()


def _curve(df: pd.DataFrame, value: str, unit: str, confidence: float) -> pd.DataFrame:
    if unit == "seed":  # average the episodes of a seed first, then the CI is over seeds
        df = df.groupby([*GROUP_KEYS, "seed", "step"], as_index=False)[value].mean()
    return grouped_mean_ci(df, [*GROUP_KEYS, "step"], value, confidence)


def regret_curve(steps: pd.DataFrame, *, unit: str = "episode", confidence: float = 0.95) -> pd.DataFrame:
    """Cumulative regret per step, averaged with a Student-t interval.

    Args:
        steps: tidy step log.
        unit: ``"episode"`` (every episode is one sample) or ``"seed"`` (episodes of a seed are
            averaged first; the paper's 3-seed CIs).
        confidence: interval level.

    Returns:
        ``agent, env_id, step, mean, ci_low, ci_high, n``; at step ``t`` only episodes that reached
        ``t`` contribute (matters for tic-tac-toe, whose games end early).
    """
    _check_unit(unit)
    return _curve(cumulative_regret(steps), "cum_regret", unit, confidence)


def coverage_curve(steps: pd.DataFrame, *, unit: str = "episode", confidence: float = 0.95) -> pd.DataFrame:
    """Action coverage ``C_t`` per step (mean and t interval), columns as :func:`regret_curve`."""
    _check_unit(unit)
    df = _sorted(steps, ["action_index", "n_actions"])
    df = df.assign(coverage=_coverage_per_step(df))
    return _curve(df, "coverage", unit, confidence)


def _share_table(flags: pd.DataFrame, value: str, confidence: float, count_name: str) -> pd.DataFrame:
    rows = []
    for (agent, env_id), group in flags.groupby(GROUP_KEYS, sort=True):
        n = len(group)
        hits = float(group[value].sum())
        low, high = wilson_interval(hits, n, confidence)
        rows.append((agent, env_id, n, hits / n, low, high))
    return pd.DataFrame(rows, columns=[*GROUP_KEYS, count_name, value, "ci_low", "ci_high"])


def suffix_failure_frequency(
    steps: pd.DataFrame, *, start: int | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """Share of episodes that never execute the optimal action in steps ``[start, T)``.

    ``start`` defaults to ``T // 2`` of each episode. The optimal action is read per step from
    ``optimal_action`` (constant in a multi-armed bandit, context dependent in the contextual one), so a
    step "hits" when ``action_index == optimal_action``.

    Returns ``agent, env_id, episodes, suffix_failure, ci_low, ci_high`` (Wilson interval).

    Raises:
        ValueError: ``start`` is negative, or not before the end of some episode (empty suffix).
    """
    if start is not None and start < 0:
        raise ValueError(f"start must be >= 0 (a step index), got {start}")
    df = _sorted(steps, ["action_index", "optimal_action"])
    length = df.groupby(EPISODE_KEYS, sort=False)["step"].transform("size")
    t0 = length // 2 if start is None else pd.Series(start, index=df.index)
    if (t0 >= length).any():
        raise ValueError(
            f"start={start} leaves an empty suffix: some episodes have only {int(length.min())} steps"
        )
    position = df.groupby(EPISODE_KEYS, sort=False).cumcount()  # 0-based position within the episode
    in_suffix = position >= t0
    hit = in_suffix & (df["action_index"] == df["optimal_action"])
    per_episode = hit.groupby([df[k] for k in EPISODE_KEYS], sort=True).any()
    flags = (~per_episode).rename("suffix_failure").astype(float).reset_index()
    return _share_table(flags, "suffix_failure", confidence, "episodes")


def min_frac(steps: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """MinFrac: per episode ``min_a N_T(a) / T`` (arms never pulled count with N = 0).

    Returns ``agent, env_id, episodes, min_frac, ci_low, ci_high, min_frac_normalized`` where the
    normalised value is ``k * min_frac`` (1.0 = every arm pulled equally often).
    """
    df = _sorted(steps, ["action_index", "n_actions"])
    rows = []
    for key, ep in df.groupby(EPISODE_KEYS, sort=True):
        k = int(ep["n_actions"].max())
        counts = np.bincount(ep["action_index"].to_numpy(dtype=int), minlength=k)  # (k,)
        rows.append((*key, counts.min() / len(ep), k))
    per_episode = pd.DataFrame(rows, columns=[*EPISODE_KEYS, "min_frac", "k"])
    out = grouped_mean_ci(per_episode, GROUP_KEYS, "min_frac", confidence)
    out = out.rename(columns={"mean": "min_frac", "n": "episodes"})
    k = per_episode.groupby(GROUP_KEYS, sort=True)["k"].max().to_numpy()
    out["min_frac_normalized"] = out["min_frac"].to_numpy() * k
    return out[[*GROUP_KEYS, "episodes", "min_frac", "ci_low", "ci_high", "min_frac_normalized"]]


def greedy_flags(actions: np.ndarray, rewards: np.ndarray, k: int) -> np.ndarray:
    """Per step of one episode: 1.0 greedy, 0.0 not, NaN undefined (nothing tried yet).

    A step is greedy when its arm is among the arms with the highest empirical mean reward over the
    earlier steps of the episode, among arms tried at least once. Ties: every tied arm is greedy.
    Choosing an untried arm is never greedy (it is exploration). The first step has no tried arm, so
    it is undefined and left out of the fraction.
    """
    counts = np.zeros(k)  # (k,)
    sums = np.zeros(k)  # (k,)
    flags = np.full(len(actions), np.nan)  # (T,)
    for t, (a, r) in enumerate(zip(actions, rewards, strict=True)):
        tried = counts > 0
        if tried.any():
            means = np.where(tried, sums / np.maximum(counts, 1), -np.inf)
            flags[t] = float(tried[a] and means[a] >= means.max() - 1e-12)
        counts[a] += 1
        sums[a] += r
    return flags


def greedy_fraction(steps: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Share of steps choosing the best empirical mean among tried arms (see :func:`greedy_flags`).

    Empirical means use the raw ``env_reward`` of the episode's earlier executed actions and ignore
    any context, so in a contextual bandit this measures context-free greediness. The per-episode
    fraction (over steps 1..T-1) is averaged across episodes with a t interval.

    Returns ``agent, env_id, episodes, greedy_fraction, ci_low, ci_high``.
    """
    df = _sorted(steps, ["action_index", "env_reward", "n_actions"])
    rows = []
    for key, ep in df.groupby(EPISODE_KEYS, sort=True):
        actions = ep["action_index"].to_numpy(dtype=int)  # (T,)
        rewards = ep["env_reward"].to_numpy(dtype=float)  # (T,)
        flags = greedy_flags(actions, rewards, int(ep["n_actions"].max()))
        rows.append((*key, np.nanmean(flags) if np.isfinite(flags).any() else np.nan))
    per_episode = pd.DataFrame(rows, columns=[*EPISODE_KEYS, "greedy_fraction"])
    out = grouped_mean_ci(per_episode, GROUP_KEYS, "greedy_fraction", confidence)
    out = out.rename(columns={"mean": "greedy_fraction", "n": "episodes"})
    return out[[*GROUP_KEYS, "episodes", "greedy_fraction", "ci_low", "ci_high"]]


def pulls_per_arm(steps: pd.DataFrame) -> pd.DataFrame:
    """Mean pulls of each arm per episode, and its share of all pulls.

    Returns ``agent, env_id, action_index, pulls_mean, share`` with every arm ``0..k-1`` listed (zero
    pulls included). Arm indices are labels: which arm is best changes from episode to episode.
    """
    df = _sorted(steps, ["action_index", "n_actions"])
    rows = []
    for (agent, env_id), group in df.groupby(GROUP_KEYS, sort=True):
        k = int(group["n_actions"].max())
        episodes = group.groupby(EPISODE_KEYS[2:]).ngroups
        counts = np.bincount(group["action_index"].to_numpy(dtype=int), minlength=k)  # (k,)
        for arm in range(k):
            rows.append((agent, env_id, arm, counts[arm] / episodes, counts[arm] / counts.sum()))
    return pd.DataFrame(rows, columns=[*GROUP_KEYS, "action_index", "pulls_mean", "share"])


def top_arm_share(steps: pd.DataFrame) -> pd.DataFrame:
    """The most-pulled arm label and its share of all pulls, pooled over episodes.

    In ``TextBandit-v0`` every episode draws each arm's mean independently, so the best arm is a
    different label from one episode to the next: UCB's top label gets a small share (about 1 / k plus
    noise), while an agent whose choices ignore the rewards (an LLM that always exploits the same
    arm name, say) puts most of its pulls on one label. Read it beside :func:`greedy_fraction`. In
    ``TextContextualBandit-v0`` the best arm follows the context, so there a high share means the
    agent ignores the context.

    Returns ``agent, env_id, top_arm, top_arm_share`` (``top_arm`` is an ``action_index``; ties go to
    the lowest index).
    """
    shares = pulls_per_arm(steps)
    top = shares.loc[shares.groupby(GROUP_KEYS, sort=True)["share"].idxmax()]
    top = top.rename(columns={"action_index": "top_arm", "share": "top_arm_share"})
    return top[[*GROUP_KEYS, "top_arm", "top_arm_share"]].reset_index(drop=True)


def tictactoe_outcomes(steps: pd.DataFrame) -> pd.DataFrame:
    """Win / draw / loss rates per game and the illegal-move rate per move.

    The outcome is read from the ``outcome`` column of each game's last row ("win", "draw", "loss");
    a game without one (cut short) counts as ``unfinished``, so the three rates sum to
    ``1 - unfinished_rate``. ``return_mean`` is the mean summed ``env_reward`` per game (+1/0/-1).

    Returns ``agent, env_id, games, win_rate, draw_rate, loss_rate, unfinished_rate,
    illegal_move_rate, return_mean``.
    """
    df = _sorted(steps, ["outcome", "illegal_move", "env_reward"])
    outcome = df["outcome"].fillna("").astype(str).str.strip().str.lower()
    df = df.assign(_outcome=outcome, _illegal=_as_bool(df["illegal_move"]))
    games = df.groupby(EPISODE_KEYS, sort=True).agg(
        outcome=("_outcome", "last"), ret=("env_reward", "sum")
    ).reset_index()
    rows = []
    for (agent, env_id), g in games.groupby(GROUP_KEYS, sort=True):
        moves = df[(df["agent"] == agent) & (df["env_id"] == env_id)]
        n = len(g)
        known = g["outcome"].isin(["win", "draw", "loss"])
        rows.append(
            (
                agent, env_id, n,
                float((g["outcome"] == "win").mean()), float((g["outcome"] == "draw").mean()),
                float((g["outcome"] == "loss").mean()), float((~known).mean()),
                float(moves["_illegal"].mean()), float(g["ret"].mean()),
            )
        )
    return pd.DataFrame(
        rows,
        columns=[*GROUP_KEYS, "games", "win_rate", "draw_rate", "loss_rate", "unfinished_rate",
                 "illegal_move_rate", "return_mean"],
    )


def invalid_action_rate(steps: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Share of decisions whose text named no valid action (``valid_action`` False).

    Returns ``agent, env_id, decisions, invalid_rate, ci_low, ci_high`` (Wilson interval).
    """
    df = _sorted(steps, ["valid_action"])
    flags = df[GROUP_KEYS].assign(invalid_rate=(~_as_bool(df["valid_action"])).astype(float))
    return _share_table(flags, "invalid_rate", confidence, "decisions")
