"""Run an agent on batches of seeded episodes and return the tidy step log.

One call of :func:`evaluate` plays ``len(seeds)`` batches of ``num_envs`` episodes. For seed ``s``
the environment in slot ``i`` is reset with ``seed = s * 100_000 + i``, so the episodes are the same
for every agent evaluated with the same seeds (UCB, random and an LLM face identical arm means) and
slots never share a stream. The agent is reset once per batch (``agent.reset(infos)``).

The envs are a plain list of ``gym.make`` instances stepped one by one, not a Gymnasium vector env:
an agent answers for all active slots at once (one batched LLM generation), and a tic-tac-toe slot
whose game ended simply leaves ``env_ids`` (no autoreset, no masking of reset steps).

Log columns (docs/ARCHITECTURE.md section 2), one row per decision: ``agent, env_id, seed, episode,
step, action_text, action_index, valid_action, reward, env_reward, regret, optimal_action, n_actions,
terminated``, plus ``illegal_move, outcome`` for tic-tac-toe (``outcome`` is "win" / "draw" / "loss" on
the last row of a game and "" elsewhere). ``episode`` is the slot index ``i`` within the seed's batch;
``step`` counts the slot's decisions from 0; ``reward`` is the shaped reward the env returned.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from agents.evaluation.io import STEP_DTYPES
from agents.protocol import Agent, Info

#: For seed ``s``, slot ``i`` is reset with ``seed = s * SEED_STRIDE + i`` (so at most this many slots).
SEED_STRIDE = 100_000
BASE_COLUMNS = tuple(c for c in STEP_DTYPES if c not in ("illegal_move", "outcome"))
TICTACTOE_COLUMNS = ("illegal_move", "outcome")


def textrl_env_ids() -> list[str]:
    """The environment ids registered by ``textrl_envs`` (imported here if it was not yet)."""
    importlib.import_module("textrl_envs")
    return sorted(
        env_id
        for env_id, spec in gym.registry.items()
        if isinstance(spec.entry_point, str) and spec.entry_point.startswith("textrl_envs")
    )


def resolve_env_id(env_id: str) -> str:
    """Check ``env_id`` names a registered environment; ``ValueError`` listing the textrl ids if not.

    ``"textrl_envs:TextBandit-v0"`` (module prefix) and plain ``"TextBandit-v0"`` both work.
    """
    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a str such as 'TextBandit-v0', got {type(env_id).__name__}")
    allowed = textrl_env_ids()
    bare = env_id.split(":", 1)[1] if ":" in env_id else env_id
    if bare not in gym.registry:
        raise ValueError(f"unknown environment {env_id!r}; allowed environments: {', '.join(allowed)}")
    return bare


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """``seeds`` as a list of distinct non-negative ints, else ``TypeError``/``ValueError``."""
    if isinstance(seeds, (int, np.integer)) or not isinstance(seeds, Sequence | np.ndarray):
        raise TypeError(f"seeds must be a sequence of ints such as [0, 1, 2], got {seeds!r}")
    out = []
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seeds must be non-negative ints, got {seed!r} in {list(seeds)!r}")
        out.append(int(seed))
    if not out:
        raise ValueError("seeds must not be empty (give at least one, e.g. [0])")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct (a repeated seed replays the same episodes), got {out}")
    return out


def check_num_envs(num_envs: int) -> int:
    """``num_envs`` if it is an int in [1, SEED_STRIDE], else ``TypeError``/``ValueError``."""
    if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)):
        raise TypeError(f"num_envs must be an int, got {type(num_envs).__name__}")
    if not 1 <= num_envs <= SEED_STRIDE:
        raise ValueError(f"num_envs must be in [1, {SEED_STRIDE}], got {num_envs}")
    return int(num_envs)


def _horizon(env: gym.Env) -> int | None:
    """Decisions per episode when fixed (bandits), for the progress bar; None when it varies."""
    horizon = getattr(env.unwrapped, "horizon", None)
    if isinstance(horizon, (int, np.integer)):
        return int(horizon)
    return None


def _agent_answers(agent: Agent, observations: list[str], infos: list[Info], env_ids: list[int]) -> list[str]:
    texts = agent.act(observations, infos, env_ids)
    if len(texts) != len(env_ids):
        raise ValueError(f"agent.act returned {len(texts)} answers for {len(env_ids)} active environments")
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"agent.act must return a list of str, got an item of type {type(text).__name__}")
    return list(texts)


def evaluate(
    env_id: str,
    agent: Agent,
    *,
    num_envs: int,
    seeds: Sequence[int],
    env_kwargs: Mapping[str, Any] | None = None,
    agent_name: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Play ``num_envs`` episodes per seed with ``agent`` and return the tidy step log.

    Args:
        env_id: a textrl environment id (``"TextBandit-v0"``; ``"textrl_envs:TextBandit-v0"`` works too).
        agent: anything with ``reset``, ``act`` and ``observe`` (:class:`agents.protocol.TextAgent`).
        num_envs: parallel episodes per seed (slots), 1 .. 100_000.
        seeds: distinct non-negative ints; seed ``s`` resets slot ``i`` with ``s * 100_000 + i``.
        env_kwargs: keyword arguments for every ``gym.make`` (e.g. ``{"noise": "low"}``).
        agent_name: the ``agent`` column; default ``agent.name`` (or the class name).
        progress: show a tqdm bar over decisions.

    Returns:
        One row per decision, columns and dtypes as in the module docstring.

    Example::

        from agents.registry import make_agent
        steps = evaluate("TextBandit-v0", make_agent("ucb", seed=0), num_envs=64, seeds=[0, 1, 2])
        steps.groupby(["seed", "episode"]).regret.sum().mean()   # mean cumulative regret
    """
    check_num_envs(num_envs)
    seeds = check_seeds(seeds)
    if env_kwargs is not None and not isinstance(env_kwargs, Mapping):
        raise TypeError(f"env_kwargs must be a dict of keyword arguments, got {type(env_kwargs).__name__}")
    if not isinstance(agent, Agent):
        raise TypeError(
            f"agent must have reset, act and observe methods (see agents.protocol), got {agent!r}"
        )
    bare_id = resolve_env_id(env_id)
    name = agent_name or getattr(agent, "name", None) or type(agent).__name__
    envs = [gym.make(env_id, **dict(env_kwargs or {})) for _ in range(int(num_envs))]
    try:
        horizon = _horizon(envs[0])
        total = len(seeds) * len(envs) * horizon if horizon is not None else None
        columns: dict[str, list[Any]] = {c: [] for c in STEP_DTYPES}
        with tqdm(total=total, unit="decision", desc=f"{name} on {bare_id}", disable=not progress) as bar:
            for seed in seeds:
                _play_batch(envs, agent, seed, name, bare_id, columns, bar)
    finally:
        for env in envs:
            env.close()
    is_tictactoe = any(outcome is not None for outcome in columns["outcome"])
    wanted = BASE_COLUMNS + (TICTACTOE_COLUMNS if is_tictactoe else ())
    steps = pd.DataFrame({c: pd.Series(columns[c], dtype=STEP_DTYPES[c]) for c in wanted})
    if is_tictactoe:
        steps["outcome"] = steps["outcome"].fillna("").astype(STEP_DTYPES["outcome"])
    return steps


def _play_batch(
    envs: list[gym.Env],
    agent: Agent,
    seed: int,
    name: str,
    env_id: str,
    columns: dict[str, list[Any]],
    bar: tqdm,
) -> None:
    """Play one episode in every slot (reset with ``seed * SEED_STRIDE + i``), appending log rows."""
    observations: list[str] = []
    infos: list[Info] = []
    for i, env in enumerate(envs):
        obs, info = env.reset(seed=seed * SEED_STRIDE + i)
        observations.append(obs)
        infos.append(info)
    agent.reset(infos)
    steps_taken = [0] * len(envs)
    active = list(range(len(envs)))
    while active:
        texts = _agent_answers(agent, [observations[i] for i in active], [infos[i] for i in active], active)
        finished = set()
        for i, text in zip(active, texts, strict=True):
            obs, reward, terminated, truncated, info = envs[i].step(text)
            observations[i], infos[i] = obs, info
            _append_row(
                columns, name, env_id, seed, i, steps_taken[i], text, float(reward), bool(terminated), info
            )
            steps_taken[i] += 1
            if terminated or truncated:
                finished.add(i)
        agent.observe([infos[i] for i in active], list(active))
        bar.update(len(active))
        active = [i for i in active if i not in finished]


def _append_row(
    columns: dict[str, list[Any]],
    agent: str,
    env_id: str,
    seed: int,
    episode: int,
    step: int,
    text: str,
    reward: float,
    terminated: bool,
    info: Info,
) -> None:
    """One tidy row from a step's info (keys per docs/ARCHITECTURE.md section 1)."""
    regret = info.get("regret", math.nan)
    values = {
        "agent": agent,
        "env_id": env_id,
        "seed": seed,
        "episode": episode,
        "step": step,
        "action_text": text,
        "action_index": int(info["action_index"]),
        "valid_action": bool(info["valid_action"]),
        "reward": reward,
        "env_reward": float(info["env_reward"]),
        "regret": float(regret),
        "optimal_action": int(info["optimal_action"]),
        "n_actions": len(info["action_names"]),
        "terminated": terminated,
        "illegal_move": bool(info.get("illegal_move", False)),
        # None (no such key: not tic-tac-toe) vs "" (game still running) decides the columns later
        "outcome": (info["outcome"] or "") if "outcome" in info else None,
    }
    for column, value in values.items():
        columns[column].append(value)
