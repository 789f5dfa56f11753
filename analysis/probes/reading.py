"""The reading probe: does the agent's choice follow the rewards in its context, or the arm names?

Protocol (per prompt): ``n_arms`` arm means ``mu_a ~ U(0, 1)``; the history explores ``k`` distinct
arms drawn at random (in random order), each pulled once, with Gaussian rewards ``N(mu_a, sigma)``
rounded to 2 decimals as the prompt prints them; then the agent answers the ``TextBandit-v0``
prompt (chain-of-thought by default). Every tried arm has one reward, so "the best arm so far" is
the arm with the largest number in the history, and a reader names it far more often than chance
(``1 / k`` among the tried arms) while an agent that chooses by name, or ignores the rewards, does
not: the arms and their rewards are exchangeable across labels.

Per answer it records:

- ``named_tried``: the action is one of the ``k`` tried arms (exploiting; an untried arm is exploring);
- ``named_best``: the action is the best tried arm;
- ``worked_best``: when the answer writes per-arm values as ``NAME=VALUE`` lines (the embedded base
  model's worked means), the arm with the largest written value is the best tried arm (``NaN`` when
  the answer writes no such value).

:func:`reading_scores` summarises per ``k`` with a one-sided binomial p-value against chance.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from analysis.probes._common import (
    check_positive_int,
    check_results_frame,
    draw_rewards,
    extracted_index,
    probe_info,
    query_answers,
)
from textrl_envs.bandit_text import arm_names, render_bandit_prompt

READING_COLUMNS = ("k", "prompt_id", "answer", "action", "best", "named_tried", "named_best", "worked_best")
# NAME=VALUE lines, optionally followed by the running best (the base model's ``means_format="running_max"``:
# ``green=0.5 best "red"=0.54``); the value read is the one right after NAME=
_WRITTEN = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*(-?\d+(?:\.\d+)?)(?:\s+best\s.*)?\s*$", re.MULTILINE)


def make_reading_prompts(
    k: int, n_prompts: int, *, n_arms: int = 10, sigma: float = 1.0, cot: bool = True, seed: int = 0
) -> list[dict[str, Any]]:
    """The probe's prompts for one ``k``: dicts with ``observation``, ``info``, ``tried``, ``best``."""
    check_positive_int(k, "k")
    check_positive_int(n_prompts, "n_prompts")
    if not 2 <= k <= n_arms:
        raise ValueError(f"k must be in [2, n_arms={n_arms}], got {k}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    names = arm_names(n_arms)
    rng = np.random.default_rng([seed, k])
    prompts = []
    while len(prompts) < n_prompts:
        means = rng.uniform(0.0, 1.0, n_arms)
        tried = [int(a) for a in rng.permutation(n_arms)[:k]]
        history = [(a, float(draw_rewards(rng, means[a], 1, "gaussian", sigma)[0])) for a in tried]
        rewards = [r for _, r in history]
        if rewards.count(max(rewards)) > 1:
            continue  # a tie for the best has no single right answer
        prompts.append({
            "observation": render_bandit_prompt(names, history, cot=cot),
            "info": probe_info(names, history, "gaussian"),
            "tried": tried,
            "best": tried[int(np.argmax(rewards))],
            "names": names,
        })
    return prompts


def _worked_best(answer: str, names: list[str], tried: list[int], best: int) -> float:
    written = {}
    for name, value in _WRITTEN.findall(answer):
        if name in names and names.index(name) in tried:
            written[names.index(name)] = float(value)
    if not written:
        return float("nan")
    top = max(written.values())
    return float([a for a, v in written.items() if v == top] == [best])


def reading(
    agent: Any,
    *,
    ks: tuple[int, ...] = (3, 4, 5),
    n_prompts: int = 40,
    n_arms: int = 10,
    sigma: float = 1.0,
    cot: bool = True,
    seed: int = 0,
    batch_size: int = 64,
    progress: bool = True,
) -> pd.DataFrame:
    """Run the reading probe; one row per prompt (columns :data:`READING_COLUMNS`).

    Args:
        agent: a TextAgent (``act``) or an object with ``generate(observations).texts``.
        ks: numbers of explored arms. n_prompts: prompts per ``k``. n_arms, sigma, cot: the bandit
            prompt (10 button arms, sigma 1, chain-of-thought: the paper's default).
        seed: seeds the prompts (the same seed gives the same prompts for every agent).
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    rows = []
    for k in ks:
        prompts = make_reading_prompts(k, n_prompts, n_arms=n_arms, sigma=sigma, cot=cot, seed=seed)
        answers = query_answers(
            agent, [p["observation"] for p in prompts], [p["info"] for p in prompts],
            batch_size=batch_size, progress=progress, desc=f"reading k={k}",
        )
        for i, (prompt, answer) in enumerate(zip(prompts, answers, strict=True)):
            names, tried, best = prompt["names"], prompt["tried"], prompt["best"]
            action = extracted_index(answer, names)
            rows.append((k, i, answer, "" if action is None else names[action], names[best],
                         action in tried, action == best, _worked_best(answer, names, tried, best)))
    return pd.DataFrame(rows, columns=list(READING_COLUMNS))


def reading_scores(results: pd.DataFrame) -> pd.DataFrame:
    """Per ``k``: ``prompts, named_tried, named_best, best_given_tried, p_tried, worked_best,
    p_worked, chance``.

    ``best_given_tried`` is the share of exploiting answers (a tried arm named) that name the best;
    ``p_tried`` its one-sided binomial p-value against ``chance = 1 / k``; ``worked_best`` and
    ``p_worked`` the same for the written values, over the answers that wrote any (NaN without).
    """
    results = check_results_frame(
        results, "reading", READING_COLUMNS, "the reading probe produced no answers"
    )
    rows = []
    for k, group in results.groupby("k", sort=True):
        chance = 1.0 / int(k)
        tried = group[group["named_tried"]]
        n_best = int(tried["named_best"].sum())
        worked = group["worked_best"].dropna()
        n_worked = int(worked.sum())
        rows.append({
            "k": int(k),
            "prompts": len(group),
            "named_tried": float(group["named_tried"].mean()),
            "named_best": float(group["named_best"].mean()),
            "best_given_tried": n_best / len(tried) if len(tried) else float("nan"),
            "p_tried": binomtest(n_best, len(tried), chance, alternative="greater").pvalue
            if len(tried) else float("nan"),
            "worked_best": float(worked.mean()) if len(worked) else float("nan"),
            "p_worked": binomtest(n_worked, len(worked), chance, alternative="greater").pvalue
            if len(worked) else float("nan"),
            "chance": chance,
        })
    return pd.DataFrame(rows)


def format_reading_scores(scores: pd.DataFrame) -> str:
    """The scores as a small text table (what the closing notes and the README quote)."""
    lines = ["  k  prompts  exploit  best|exploit  p       worked-best  p       chance"]
    for r in scores.itertuples():
        lines.append(
            f"  {r.k}  {r.prompts:7d}  {r.named_tried:7.0%}  {r.best_given_tried:12.0%}  {r.p_tried:.1e}"
            f"  {r.worked_best:11.0%}  {r.p_worked:.1e}  {r.chance:.0%}"
        )
    return "\n".join(lines)


__all__ = ["READING_COLUMNS", "format_reading_scores", "make_reading_prompts", "reading", "reading_scores"]
