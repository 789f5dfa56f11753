"""Frequency-bias probe: does the agent repeat whatever action fills its context?

Protocol (SPEC "Measurements"; the paper's Section 4.2):

1. For each of ``n_prefixes`` prefixes: draw arm means, a prefix of ``U{2..10}`` uniformly random
   steps, and a target arm (uniform). Then for every ``r`` in ``repetitions`` the history is the prefix
   followed by the target pulled ``r`` times (rewards from the target's own distribution; the same
   draws for every ``r``, so the histories are nested and the design is paired).
2. The prompt is ``render_bandit_prompt(names, history, cot=cot, horizon=max(horizon, len + 1))``.
3. The agent's choice is read one of two ways (``method``):

   - ``"score"`` (default when the agent has ``score``; ``"auto"`` picks it): one batched
     ``agent.score(prompts, candidates)`` call per batch with the candidates
     ``candidate_template.format(name=...)`` (default ``"ACTION=red"``, the answer format of the
     prompt); the policy over the k actions is the softmax of those log-probabilities, the entropy is
     taken from it (nats), and the choice is its argmax (the greedy evaluation policy). With a CoT
     prompt (``cot=True``) scoring asks for the answer *immediately*, skipping the thinking, which is
     the no-CoT policy; so scoring defaults to ``cot=False`` and sampling is the way to probe CoT.
   - ``"sample"``: ``n_samples`` answers per prompt through ``act`` (set the agent's temperature);
     each answer is read by the env's extractor. Shares are over samples, the entropy is that of the
     empirical distribution over valid answers (biased low for few samples), answers naming no
     action are counted as ``invalid``.

4. Each choice is classed, in this order: *greedy* (an arm with the best empirical mean among tried
   arms; an action that is both greedy and frequent counts as greedy), *frequent* (an arm with the most
   pulls in the history: the target once it has been repeated enough), else *other*.
   ``frequent_any`` is the share choosing a most-pulled arm whether or not it is also greedy.

Outputs: :func:`frequency_bias` returns one row per prompt; :func:`frequency_bias_shares` gives the
shares per repetition window (0-10, 45-55, 90-100 by default) with Wilson 95% intervals, and
:func:`entropy_repetition_correlation` the Pearson correlation of entropy with ``r``. The paper:
Gemma2 2B picks the frequent action 96% of the time (correlation -0.67), 27B 14% (+0.61).

Example::

    rows = frequency_bias(agent, n_arms=5, repetitions=range(0, 101, 5), n_prefixes=8, seed=0)
    print(frequency_bias_shares(rows))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.probes._common import (
    check_distribution,
    check_positive_int,
    check_results_frame,
    draw_rewards,
    extracted_index,
    greedy_set,
    probe_info,
    query_answers,
    query_scores,
)
from analysis.stats import wilson_interval
from textrl_envs.bandit_text import arm_names, render_bandit_prompt

__all__ = [
    "DEFAULT_REPETITIONS",
    "DEFAULT_WINDOWS",
    "FREQUENCY_BIAS_COLUMNS",
    "make_frequency_bias_prompts",
    "frequency_bias",
    "frequency_bias_shares",
    "entropy_repetition_correlation",
]

DEFAULT_REPETITIONS = tuple(range(0, 101, 5))  # 3 values in each default window
DEFAULT_WINDOWS = ((0, 10), (45, 55), (90, 100))
METHODS = ("auto", "score", "sample")
CLASSES = ("frequent", "greedy", "other", "invalid")
FREQUENCY_BIAS_COLUMNS = [
    "prompt_id", "prefix_id", "repetitions", "prefix_len", "history_len", "n_arms", "target",
    "method", "n_samples", "chosen", "entropy", "prob_target", "share_frequent", "share_greedy",
    "share_other", "share_invalid", "frequent_any",
]  # fmt: skip


def make_frequency_bias_prompts(
    *,
    n_arms: int = 5,
    repetitions: Iterable[int] = DEFAULT_REPETITIONS,
    n_prefixes: int = 4,
    prefix_len: tuple[int, int] = (2, 10),
    distribution: str = "gaussian",
    sigma: float = 1.0,
    variant: str = "button",
    cot: bool = False,
    horizon: int = 50,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """The probe's prompts: dicts with ``observation, info, history, target, repetitions, ...``."""
    check_distribution(distribution)
    n_prefixes = check_positive_int(n_prefixes, "n_prefixes")
    reps = sorted({int(r) for r in repetitions})
    if not reps or reps[0] < 0:
        raise ValueError(f"repetitions must be a non-empty set of ints >= 0, got {list(repetitions)}")
    low, high = prefix_len
    if not 1 <= low <= high:
        raise ValueError(f"prefix_len must be (low, high) with 1 <= low <= high, got {prefix_len}")
    names = arm_names(n_arms, variant)
    rng = np.random.default_rng(seed)
    prompts = []
    for prefix_id in range(n_prefixes):
        means = rng.random(n_arms)  # (k,) arm means ~ U(0, 1)
        length = int(rng.integers(low, high + 1))
        actions = rng.integers(0, n_arms, size=length)
        prefix = [(int(a), float(draw_rewards(rng, means[a], 1, distribution, sigma)[0])) for a in actions]
        target = int(rng.integers(0, n_arms))
        repeated = draw_rewards(rng, means[target], reps[-1], distribution, sigma)  # (max r,)
        for r in reps:
            history = prefix + [(target, float(x)) for x in repeated[:r]]
            observation = render_bandit_prompt(
                names, history, distribution=distribution, horizon=max(horizon, len(history) + 1),
                variant=variant, cot=cot,
            )
            prompts.append(
                {
                    "prompt_id": len(prompts), "prefix_id": prefix_id, "repetitions": r,
                    "prefix_len": length, "history_len": len(history), "n_arms": n_arms,
                    "target": names[target], "target_index": target, "history": history,
                    "observation": observation, "info": probe_info(names, history, distribution),
                }
            )
    return prompts


def _classes(counts: np.ndarray, sums: np.ndarray) -> tuple[set[int], set[int]]:
    """(greedy arms, most-pulled arms) of a history."""
    return greedy_set(counts, sums), {int(i) for i in np.flatnonzero(counts == counts.max())}


def _row(prompt: dict[str, Any], method: str, weights: np.ndarray, invalid: float, n_samples: int,
         entropy: float, chosen: int | None, prob_target: float) -> dict[str, Any]:
    """One result row; ``weights`` (k,) is the share of choices per arm (sums to 1 - invalid)."""
    names = prompt["info"]["action_names"]
    greedy, frequent = _classes(prompt["info"]["counts"], prompt["info"]["sums"])
    shares = dict.fromkeys(CLASSES, 0.0)
    for arm, weight in enumerate(weights):
        cls = "greedy" if arm in greedy else "frequent" if arm in frequent else "other"
        shares[cls] += float(weight)
    shares["invalid"] = invalid
    row = {key: prompt[key] for key in ("prompt_id", "prefix_id", "repetitions", "prefix_len", "history_len",
                                        "n_arms", "target")}
    row.update(
        method=method, n_samples=n_samples, chosen="" if chosen is None else names[chosen], entropy=entropy,
        prob_target=prob_target,
        **{f"share_{c}": shares[c] for c in CLASSES},
        frequent_any=float(sum(weights[a] for a in frequent)),
    )
    return row


def _entropy(p: np.ndarray) -> float:
    nz = p[p > 0]
    return max(0.0, float(-(nz * np.log(nz)).sum()))  # max: no "-0.0" for a one-hot policy


def frequency_bias(
    agent: Any,
    *,
    n_arms: int = 5,
    repetitions: Iterable[int] = DEFAULT_REPETITIONS,
    n_prefixes: int = 4,
    method: str = "auto",
    n_samples: int = 8,
    candidate_template: str = "ACTION={name}",
    cot: bool = False,
    distribution: str = "gaussian",
    sigma: float = 1.0,
    variant: str = "button",
    horizon: int = 50,
    seed: int = 0,
    batch_size: int = 16,
    progress: bool = True,
) -> pd.DataFrame:
    """Run the frequency-bias probe on ``agent`` (protocol in the module docstring).

    Args:
        agent: a TextAgent (sampled through ``act``), or anything with ``score(observations,
            candidates) -> list[np.ndarray]`` (an ``LLMAgent`` / ``LLMPolicy``: log-probs).
        n_arms, variant, distribution, sigma, horizon, cot: the bandit the prompts describe.
        repetitions: target repetition counts ``r`` (default 0, 5, ..., 100).
        n_prefixes: random prefixes; every prefix is combined with every ``r``.
        method: ``"auto"`` (score when the agent can), ``"score"`` or ``"sample"``.
        n_samples: answers per prompt when sampling.
        candidate_template: candidate answer text per action when scoring.
        seed: seed of the prompts (the agent's own randomness is its own).
        batch_size: prompts per ``score`` / ``act`` call.
        progress: show a tqdm bar.

    Returns:
        One row per prompt with the columns ``FREQUENCY_BIAS_COLUMNS``.

    Raises:
        ValueError: unknown ``method``, bad sizes, or a template without ``{name}``.
        TypeError: ``method="score"`` for an agent without ``score``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if "{name}" not in candidate_template:
        raise ValueError(f"candidate_template must contain '{{name}}', got {candidate_template!r}")
    n_samples = check_positive_int(n_samples, "n_samples")
    batch_size = check_positive_int(batch_size, "batch_size")
    can_score = callable(getattr(agent, "score", None))
    if method == "score" and not can_score:
        raise TypeError(f"method='score' needs an agent with score(observations, candidates); "
                        f"{type(agent).__name__} has none (use method='sample')")
    use_score = method == "score" or (method == "auto" and can_score)
    prompts = make_frequency_bias_prompts(
        n_arms=n_arms, repetitions=repetitions, n_prefixes=n_prefixes, distribution=distribution, sigma=sigma,
        variant=variant, cot=cot, horizon=horizon, seed=seed,
    )
    observations = [p["observation"] for p in prompts]
    names = prompts[0]["info"]["action_names"]
    rows = []
    if use_score:
        candidates = [[candidate_template.format(name=n) for n in names] for _ in prompts]
        scores = query_scores(agent, observations, candidates, batch_size=batch_size, progress=progress,
                              desc="frequency bias (score)")
        for prompt, logits in zip(prompts, scores, strict=True):
            if logits.shape != (len(names),):
                raise ValueError(f"agent.score returned shape {logits.shape}, expected ({len(names)},)")
            p = np.exp(logits - logits.max())  # (k,) softmax over the k candidate actions
            p /= p.sum()
            chosen = int(np.argmax(p))
            one_hot = np.eye(len(names))[chosen]  # (k,) the greedy policy's single choice
            rows.append(
                _row(prompt, "score", one_hot, 0.0, 1, _entropy(p), chosen, float(p[prompt["target_index"]]))
            )
        return pd.DataFrame(rows, columns=FREQUENCY_BIAS_COLUMNS)
    repeated = [p for p in prompts for _ in range(n_samples)]
    answers = query_answers(
        agent, [p["observation"] for p in repeated], [p["info"] for p in repeated],
        batch_size=batch_size, progress=progress, desc="frequency bias (sample)",
    )
    for i, prompt in enumerate(prompts):
        picks = [extracted_index(text, names) for text in answers[i * n_samples : (i + 1) * n_samples]]
        valid = [a for a in picks if a is not None]
        counts = np.bincount(np.asarray(valid, dtype=int), minlength=len(names)).astype(float)  # (k,)
        weights = counts / n_samples
        entropy = _entropy(counts / counts.sum()) if valid else float("nan")
        chosen = int(np.argmax(counts)) if valid else None
        invalid = 1.0 - len(valid) / n_samples
        prob_target = float(weights[prompt["target_index"]])
        rows.append(_row(prompt, "sample", weights, invalid, n_samples, entropy, chosen, prob_target))
    return pd.DataFrame(rows, columns=FREQUENCY_BIAS_COLUMNS)


def _check_results(results: object) -> pd.DataFrame:
    return check_results_frame(
        results, "frequency_bias", FREQUENCY_BIAS_COLUMNS, "the frequency-bias probe produced no prompts"
    )


def frequency_bias_shares(
    results: pd.DataFrame, windows: Sequence[tuple[int, int]] = DEFAULT_WINDOWS, confidence: float = 0.95
) -> pd.DataFrame:
    """Shares of frequent / greedy / other / invalid choices per repetition window (inclusive bounds).

    Each share pools the window's choices (``n_samples`` per prompt); intervals are Wilson. Returns
    ``window, prompts, choices, entropy_mean, frequent_any`` and, per class, the share with
    ``_ci_low`` / ``_ci_high`` columns. A window without prompts gives NaN shares.
    """
    results = _check_results(results)
    rows = []
    for low, high in windows:
        if low > high:
            raise ValueError(f"window ({low}, {high}) has low > high")
        w = results[(results["repetitions"] >= low) & (results["repetitions"] <= high)]
        n_choices = int(w["n_samples"].sum())
        row: dict[str, Any] = {"window": f"{low}-{high}", "prompts": len(w), "choices": n_choices,
                               "entropy_mean": float(w["entropy"].mean()) if len(w) else float("nan")}
        for cls in CLASSES:
            hits = float((w[f"share_{cls}"] * w["n_samples"]).sum())
            share = hits / n_choices if n_choices else float("nan")
            ci_low, ci_high = wilson_interval(min(hits, n_choices), n_choices, confidence)
            row.update({cls: share, f"{cls}_ci_low": ci_low, f"{cls}_ci_high": ci_high})
        row["frequent_any"] = (
            float((w["frequent_any"] * w["n_samples"]).sum()) / n_choices if n_choices else float("nan")
        )
        rows.append(row)
    return pd.DataFrame(rows)


def entropy_repetition_correlation(results: pd.DataFrame) -> float:
    """Pearson correlation of the policy entropy with the number of repetitions (NaN when undefined).

    Prompts with NaN entropy (no valid sampled answer) are left out; fewer than 3 prompts or a constant
    column gives NaN.
    """
    results = _check_results(results)
    ok = results["entropy"].notna()
    x = results.loc[ok, "repetitions"].to_numpy(dtype=float)
    y = results.loc[ok, "entropy"].to_numpy(dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) < 1e-12:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])
