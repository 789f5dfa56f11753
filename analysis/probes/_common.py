"""Shared pieces of the probes: synthetic histories, probe infos, and querying an agent in batches.

Probe histories are synthetic bandit episodes: per prompt, arm means ``mu_a ~ U(0, 1)`` and rewards
``N(mu_a, sigma)`` (Gaussian, SPEC's medium noise sigma = 1 by default) or ``Bernoulli(mu_a)``.
Gaussian rewards are rounded to 2 decimals *before* use, because the prompt prints them so
(``textrl_envs.bandit_text.format_reward``): the probe's "true" statistics are then exactly those of
the history the agent reads.

An agent is queried through the :class:`~agents.protocol.TextAgent` protocol: ``reset(infos)`` then
``act(observations, infos, env_ids)`` per batch. The infos look like ``TextBandit-v0``'s at the same
point (``action_names``, ``step``, ``counts``, ``sums``, ``distribution``), so scripted baselines that
read the env's tally (``make_agent("ucb")``) act on the probe's history too. An object without
``act`` but with ``generate(observations)`` returning ``.texts`` (an ``LLMPolicy``) also works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from textrl_envs.extraction import extract_action

DISTRIBUTIONS = ("gaussian", "bernoulli")


def check_distribution(distribution: str) -> None:
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {list(DISTRIBUTIONS)}, got {distribution!r}")


def draw_rewards(
    rng: np.random.Generator, mean: float, n: int, distribution: str, sigma: float
) -> np.ndarray:
    """``n`` rewards of one arm as the prompt prints them: (n,) float array."""
    if distribution == "bernoulli":
        return (rng.random(n) < mean).astype(float)
    return np.round(rng.normal(mean, sigma, size=n), 2)


def history_stats(history: Sequence[tuple[int, float]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-arm ``(counts, sums)``: (k,) int64 and (k,) float64."""
    counts = np.zeros(k, dtype=np.int64)
    sums = np.zeros(k, dtype=np.float64)
    for action, reward in history:
        counts[int(action)] += 1
        sums[int(action)] += float(reward)
    return counts, sums


def greedy_set(counts: np.ndarray, sums: np.ndarray) -> set[int]:
    """Arms with the best empirical mean among tried arms (ties included; empty if none tried)."""
    tried = counts > 0
    if not tried.any():
        return set()
    means = np.where(tried, sums / np.maximum(counts, 1), -np.inf)
    return {int(i) for i in np.flatnonzero(tried & (means >= means.max() - 1e-12))}


def probe_info(
    names: Sequence[str], history: Sequence[tuple[int, float]], distribution: str
) -> dict[str, Any]:
    """The info dict a ``TextBandit-v0`` would show before the next decision after ``history``."""
    counts, sums = history_stats(history, len(names))
    return {
        "action_names": list(names),
        "step": len(history),
        "counts": counts,
        "sums": sums,
        "distribution": distribution,
    }


def check_results_frame(results: object, probe: str, required: Sequence[str], empty: str) -> pd.DataFrame:
    """Return ``results`` if it is a non-empty DataFrame with the ``required`` columns, else raise.

    ``probe`` names the function whose output it must be (``"knowing_doing"``); ``empty`` ends the
    message for an empty frame (``"the knowing-doing probe produced no answers"``).
    """
    if not isinstance(results, pd.DataFrame):
        raise TypeError(f"results must be the DataFrame from {probe}, got {type(results).__name__}")
    if results.empty:
        raise ValueError(f"results is empty: {empty}")
    missing = [c for c in required if c not in results.columns]
    if missing:
        raise ValueError(f"results is missing columns {missing} (expected the output of {probe})")
    return results


def check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def query_answers(
    agent: Any,
    observations: Sequence[str],
    infos: Sequence[dict[str, Any]],
    *,
    batch_size: int,
    progress: bool,
    desc: str,
) -> list[str]:
    """One answer text per observation, asked in batches (the agent is reset per batch)."""
    has_act = callable(getattr(agent, "act", None))
    if not has_act and not callable(getattr(agent, "generate", None)):
        raise TypeError(
            f"{type(agent).__name__} cannot be probed by sampling: it needs "
            "act(observations, infos, env_ids) (a TextAgent) or generate(observations) (an LLMPolicy)"
        )
    answers: list[str] = []
    starts = range(0, len(observations), batch_size)
    for start in tqdm(starts, desc=desc, disable=not progress, unit="batch"):
        obs = list(observations[start : start + batch_size])
        batch_infos = list(infos[start : start + batch_size])
        if has_act:
            if callable(getattr(agent, "reset", None)):
                agent.reset(batch_infos)
            texts = agent.act(obs, batch_infos, list(range(len(obs))))
        else:
            texts = agent.generate(obs).texts
        if len(texts) != len(obs):
            raise ValueError(f"the agent returned {len(texts)} answers for {len(obs)} observations")
        answers.extend(str(t) for t in texts)
    return answers


def query_scores(
    agent: Any,
    observations: Sequence[str],
    candidates: Sequence[Sequence[str]],
    *,
    batch_size: int,
    progress: bool,
    desc: str,
) -> list[np.ndarray]:
    """``agent.score`` in batches; each result a (len(candidates[i]),) float array."""
    scores: list[np.ndarray] = []
    starts = range(0, len(observations), batch_size)
    for start in tqdm(starts, desc=desc, disable=not progress, unit="batch"):
        stop = start + batch_size
        chunk = agent.score(list(observations[start:stop]), list(candidates[start:stop]))
        scores.extend(np.asarray(s, dtype=np.float64) for s in chunk)
    if len(scores) != len(observations):
        raise ValueError(f"agent.score returned {len(scores)} rows for {len(observations)} observations")
    return scores


def extracted_index(text: str, names: Sequence[str]) -> int | None:
    """The action an answer names (the env's extractor: last ``ACTION=X`` that names an action)."""
    return extract_action(text, names).index
