"""Knowing-doing probe: does the agent act on the UCB values it computes itself?

Protocol (SPEC "Measurements"; the paper's Section 4.3):

1. ``n_prompts`` synthetic histories: arm means ``U(0, 1)``, a number of tried arms ``m``
   (``U{1..k}``, or ``U{1..k-1}`` with ``allow_all_tried=False``), a length ``U{max(m, lo)..hi}`` over
   those ``m`` arms (each at least once, the rest uniform among them, shuffled), rewards from each
   arm's distribution (rounded as printed).
2. The prompt is ``render_bandit_prompt(names, history, prompt_style="ucb",
   context_summary=context_summary, cot=True)``: the paper's UCB instruction, asking for the values in
   ``<ucb_values>``. With ``context_summary=True`` the per-arm counts and means follow the history (the
   report states which was used). The paper gave the model 2,048 generation tokens here; set the
   agent's ``max_new_tokens`` accordingly.
3. One answer per prompt through ``act``. The values are read by
   :func:`~analysis.probes.ucb_parsing.parse_ucb_values`; the action by the env's extractor.
4. Truth from the history: ``UCB_a = mean_a + sqrt(1 / n_a)``, untried = ``+inf``.
   The rationale is *correct* when the agent's top arm(s) by its own values are the true top arm(s)
   (see :func:`~analysis.probes.ucb_parsing.rationale_correct`); unparsable = incorrect, and counted
   apart. The action is *optimal* (a highest true UCB), else *greedy* (a highest UCB among tried arms),
   else *other*; an answer naming no action is *invalid* and left out of the table (counted apart).

:func:`knowing_doing_table` gives the 2 x 3 table in % of all valid actions with Wilson 95% intervals.
The paper (Gemma2 27B): correct & greedy 58.1, correct & optimal 21.6, correct & other 10.6,
incorrect & greedy 7.2, incorrect & optimal 0.6, incorrect & other 2.0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.probes._common import (
    check_distribution,
    check_positive_int,
    check_results_frame,
    draw_rewards,
    extracted_index,
    probe_info,
    query_answers,
)
from analysis.probes.ucb_parsing import paper_ucb_values, parse_ucb_values, rationale_correct, top_set
from analysis.stats import wilson_interval
from textrl_envs.bandit_text import arm_names, render_bandit_prompt

__all__ = [
    "ACTION_CLASSES",
    "KNOWING_DOING_COLUMNS",
    "make_knowing_doing_prompts",
    "classify_action",
    "knowing_doing",
    "knowing_doing_table",
    "knowing_doing_counts",
]

ACTION_CLASSES = ("optimal", "greedy", "other")
RATIONALES = ("correct", "incorrect")
TABLE_COLUMNS = ["rationale", "action", "count", "unparsable", "percent", "ci_low", "ci_high"]
_PROMPT_KEYS = ("prompt_id", "n_arms", "history_len", "tried_arms", "context_summary")
KNOWING_DOING_COLUMNS = [
    "prompt_id", "n_arms", "history_len", "tried_arms", "context_summary", "answer", "parse_status",
    "rationale_correct", "action", "action_class", "optimal_actions", "greedy_actions",
]  # fmt: skip


def make_knowing_doing_prompts(
    *,
    n_prompts: int = 32,
    n_arms: int = 5,
    history_len: tuple[int, int] = (2, 20),
    allow_all_tried: bool = True,
    context_summary: bool = False,
    distribution: str = "gaussian",
    sigma: float = 1.0,
    variant: str = "button",
    horizon: int = 50,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """The probe's prompts: dicts with ``observation, info, history, true_ucb, ...``."""
    check_distribution(distribution)
    n_prompts = check_positive_int(n_prompts, "n_prompts")
    low, high = history_len
    if not 1 <= low <= high:
        raise ValueError(f"history_len must be (low, high) with 1 <= low <= high, got {history_len}")
    if not allow_all_tried and n_arms < 2:
        raise ValueError("allow_all_tried=False needs n_arms >= 2 (some arm must stay untried)")
    names = arm_names(n_arms, variant)
    rng = np.random.default_rng(seed)
    prompts = []
    for prompt_id in range(n_prompts):
        means = rng.random(n_arms)  # (k,)
        m = int(rng.integers(1, (n_arms if allow_all_tried else n_arms - 1) + 1))
        tried = rng.permutation(n_arms)[:m]
        length = int(rng.integers(max(m, low), max(m, high) + 1))
        actions = np.concatenate([tried, rng.choice(tried, size=length - m)])
        rng.shuffle(actions)
        history = [(int(a), float(draw_rewards(rng, means[a], 1, distribution, sigma)[0])) for a in actions]
        observation = render_bandit_prompt(
            names, history, distribution=distribution, horizon=max(horizon, length + 1), variant=variant,
            cot=True, prompt_style="ucb", context_summary=context_summary,
        )
        info = probe_info(names, history, distribution)
        prompts.append(
            {
                "prompt_id": prompt_id, "n_arms": n_arms, "history_len": length, "tried_arms": m,
                "context_summary": bool(context_summary), "history": history, "observation": observation,
                "info": info, "true_ucb": paper_ucb_values(info["counts"], info["sums"]),
            }
        )
    return prompts


def classify_action(action: int | None, counts: np.ndarray, true_ucb: np.ndarray) -> str:
    """``"optimal"`` / ``"greedy"`` / ``"other"`` for an executed arm, ``"invalid"`` for ``None``."""
    if action is None:
        return "invalid"
    if action in top_set(true_ucb):
        return "optimal"
    tried_ucb = np.where(np.asarray(counts) > 0, true_ucb, -np.inf)  # (k,)
    if np.isfinite(tried_ucb).any() and action in top_set(tried_ucb):
        return "greedy"
    return "other"


def knowing_doing(
    agent: Any,
    *,
    n_prompts: int = 32,
    n_arms: int = 5,
    history_len: tuple[int, int] = (2, 20),
    allow_all_tried: bool = True,
    context_summary: bool = False,
    distribution: str = "gaussian",
    sigma: float = 1.0,
    variant: str = "button",
    horizon: int = 50,
    tol: float = 0.01,
    seed: int = 0,
    batch_size: int = 16,
    progress: bool = True,
) -> pd.DataFrame:
    """Run the knowing-doing probe (protocol in the module docstring); one row per prompt.

    Args:
        agent: a TextAgent (``act``) or an object with ``generate(observations).texts``.
        n_prompts, n_arms, history_len, allow_all_tried, context_summary, distribution, sigma,
            variant, horizon, seed: the prompts (see :func:`make_knowing_doing_prompts`).
        tol: how close to the true maximum the agent's top arm must be to count as correct.
        batch_size, progress: batching of ``act`` calls and the tqdm bar.

    Returns:
        Columns ``KNOWING_DOING_COLUMNS``; ``action`` is the arm name ("" when invalid),
        ``optimal_actions`` / ``greedy_actions`` list names joined by ``|``.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    prompts = make_knowing_doing_prompts(
        n_prompts=n_prompts, n_arms=n_arms, history_len=history_len, allow_all_tried=allow_all_tried,
        context_summary=context_summary, distribution=distribution, sigma=sigma, variant=variant,
        horizon=horizon, seed=seed,
    )
    answers = query_answers(
        agent, [p["observation"] for p in prompts], [p["info"] for p in prompts],
        batch_size=batch_size, progress=progress, desc="knowing-doing",
    )
    rows = []
    for prompt, answer in zip(prompts, answers, strict=True):
        names = prompt["info"]["action_names"]
        counts, truth = prompt["info"]["counts"], prompt["true_ucb"]
        parsed = parse_ucb_values(answer, names)
        action = extracted_index(answer, names)
        tried_ucb = np.where(counts > 0, truth, -np.inf)
        rows.append(
            {
                **{key: prompt[key] for key in _PROMPT_KEYS},
                "answer": answer,
                "parse_status": parsed.status,
                "rationale_correct": rationale_correct(parsed, names, truth, tol),
                "action": "" if action is None else names[action],
                "action_class": classify_action(action, counts, truth),
                "optimal_actions": "|".join(names[i] for i in sorted(top_set(truth))),
                "greedy_actions": "|".join(names[i] for i in sorted(top_set(tried_ucb))),
            }
        )
    return pd.DataFrame(rows, columns=KNOWING_DOING_COLUMNS)


def _check_results(results: object) -> pd.DataFrame:
    results = check_results_frame(
        results, "knowing_doing", ("parse_status", "rationale_correct", "action_class"),
        "the knowing-doing probe produced no answers",
    )
    unknown = sorted(set(results["action_class"]) - {*ACTION_CLASSES, "invalid"})
    if unknown:
        raise ValueError(f"unknown action_class values {unknown}; allowed {[*ACTION_CLASSES, 'invalid']}")
    return results


def _correct(results: pd.DataFrame) -> pd.Series:
    col = results["rationale_correct"]
    return col if col.dtype == bool else col.astype(str).str.lower().isin(["true", "1"])


def knowing_doing_table(results: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """The 2 x 3 table in long form: ``rationale, action, count, unparsable, percent, ci_low, ci_high``.

    Percentages are of all valid actions (invalid answers are left out; see
    :func:`knowing_doing_counts`), so the six ``percent`` values sum to 100. ``unparsable`` counts the
    cell's answers whose values could not be read (always 0 in the ``correct`` row).
    """
    results = _check_results(results)
    valid = results[results["action_class"] != "invalid"]
    correct = _correct(valid)
    unparsable = valid["parse_status"] != "ok"
    n = len(valid)
    rows = []
    for rationale in RATIONALES:
        in_row = correct if rationale == "correct" else ~correct
        for action in ACTION_CLASSES:
            cell = in_row & (valid["action_class"] == action)
            count = int(cell.sum())
            low, high = wilson_interval(count, n, confidence)
            rows.append(
                (rationale, action, count, int((cell & unparsable).sum()),
                 100.0 * count / n if n else float("nan"), 100.0 * low, 100.0 * high)
            )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def knowing_doing_counts(results: pd.DataFrame) -> dict[str, Any]:
    """Totals the table leaves implicit: answers, valid actions, unparsable and invalid answers."""
    results = _check_results(results)
    summary = results["context_summary"] if "context_summary" in results.columns else pd.Series([])
    return {
        "answers": int(len(results)),
        "valid_actions": int((results["action_class"] != "invalid").sum()),
        "invalid_actions": int((results["action_class"] == "invalid").sum()),
        "unparsable": int((results["parse_status"] != "ok").sum()),
        "correct_rationales": int(_correct(results).sum()),
        "context_summary": sorted({bool(v) for v in summary.astype(str).str.lower().isin(["true", "1"])}),
    }
