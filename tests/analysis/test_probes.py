"""Probes validated on scripted agents whose behaviour is known by construction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from agents.protocol import TextAgent
from analysis.probes import (
    FrequentAgent,
    GreedyMeanAgent,
    UCBRationaleAgent,
    entropy_repetition_correlation,
    frequency_bias,
    frequency_bias_shares,
    knowing_doing,
    knowing_doing_counts,
    knowing_doing_table,
)
from analysis.probes.frequency_bias import make_frequency_bias_prompts
from analysis.probes.knowing_doing import classify_action, make_knowing_doing_prompts
from analysis.probes.scripted import parse_bandit_history

REPS = (0, 5, 10, 45, 50, 55, 90, 95, 100)
FB = {"repetitions": REPS, "n_prefixes": 6, "seed": 3, "progress": False}


class FixedAnswerAgent(TextAgent):
    """Answers the same text to every prompt."""

    def __init__(self, text: str) -> None:
        self.text = text

    def act(self, observations, infos, env_ids):
        return [self.text for _ in observations]


def _independent_classes(history, k):
    """Most-pulled and best-mean arms of a history, by plain Python."""
    counts = [0] * k
    sums = [0.0] * k
    for a, r in history:
        counts[a] += 1
        sums[a] += r
    top = max(counts)
    frequent = {a for a in range(k) if counts[a] == top}
    means = {a: sums[a] / counts[a] for a in range(k) if counts[a]}
    best = max(means.values())
    greedy = {a for a, m in means.items() if m >= best - 1e-12}
    return counts, frequent, greedy


def test_prompts_follow_the_protocol():
    prompts = make_frequency_bias_prompts(**{k: v for k, v in FB.items() if k != "progress"})
    assert len(prompts) == 6 * len(REPS)
    for p in prompts:
        assert 2 <= p["prefix_len"] <= 10 and p["history_len"] == p["prefix_len"] + p["repetitions"]
        names = p["info"]["action_names"]
        # the prompt text shows exactly the history the probe classifies against
        assert parse_bandit_history(p["observation"], names) == p["history"]
        assert all(a == p["target_index"] for a, _ in p["history"][p["prefix_len"] :])
    # nested histories: the same prefix and repeated draws for every r
    first = [p for p in prompts if p["prefix_id"] == 0]
    assert first[-1]["history"][: first[1]["history_len"]] == first[1]["history"]


def test_frequent_agent_scored_always_picks_the_most_frequent_action():
    agent = FrequentAgent(beta=1.0)
    rows = frequency_bias(agent, **FB)
    prompts = make_frequency_bias_prompts(**{k: v for k, v in FB.items() if k != "progress"})
    assert (rows["method"] == "score").all()
    assert (rows["frequent_any"] == 1.0).all()
    assert np.allclose(rows["share_frequent"] + rows["share_greedy"], 1.0)
    for row, prompt in zip(rows.itertuples(), prompts, strict=True):
        counts, frequent, greedy = _independent_classes(prompt["history"], 5)
        chosen = int(np.argmax(counts))
        assert row.share_greedy == float(chosen in greedy)
        # entropy of softmax(beta * counts), computed with scipy
        assert row.entropy == pytest.approx(stats.entropy(np.exp(counts) / np.exp(counts).sum()), abs=1e-9)
    shares = frequency_bias_shares(rows)
    assert list(shares["window"]) == ["0-10", "45-55", "90-100"]
    assert (shares["frequent_any"] == 1.0).all() and (shares["prompts"] == 18).all()
    assert np.allclose(shares["frequent"] + shares["greedy"], 1.0)
    assert entropy_repetition_correlation(rows) < -0.3  # repetition sharpens the count softmax


def test_frequent_agent_sampled_matches_scored():
    scored = frequency_bias(FrequentAgent(), **FB)
    sampled = frequency_bias(FrequentAgent(), method="sample", n_samples=3, **FB)
    assert (sampled["method"] == "sample").all() and (sampled["n_samples"] == 3).all()
    for column in (
        "share_frequent",
        "share_greedy",
        "share_other",
        "share_invalid",
        "frequent_any",
        "chosen",
    ):
        assert list(sampled[column]) == list(scored[column])
    assert (sampled["entropy"] == 0.0).all()  # a deterministic agent
    assert math.isnan(entropy_repetition_correlation(sampled))


def test_greedy_agent_is_always_greedy():
    rows = frequency_bias(GreedyMeanAgent(), **FB)
    assert (rows["share_greedy"] == 1.0).all()
    assert (frequency_bias_shares(rows)["greedy"] == 1.0).all()


def test_invalid_answers_are_counted_apart():
    rows = frequency_bias(FixedAnswerAgent("I would rather not say."), n_samples=2, **FB)
    assert (rows["share_invalid"] == 1.0).all() and rows["entropy"].isna().all()
    shares = frequency_bias_shares(rows)
    assert (shares["invalid"] == 1.0).all() and (shares["frequent"] == 0.0).all()


def test_frequency_bias_shares_pool_by_hand():
    rows = frequency_bias(FrequentAgent(), **FB).iloc[:2].copy()
    rows["repetitions"] = [0, 3]
    rows["n_samples"] = [1, 3]
    rows[["share_frequent", "share_greedy", "share_other", "share_invalid"]] = [
        [1, 0, 0, 0],
        [0, 1 / 3, 2 / 3, 0],
    ]
    rows["frequent_any"] = [1.0, 0.0]
    out = frequency_bias_shares(rows, windows=[(0, 3), (4, 9)]).iloc[0]
    # 4 choices: 1 frequent, 1 greedy, 2 other
    assert (out["frequent"], out["greedy"], out["other"], out["frequent_any"]) == pytest.approx(
        (0.25, 0.25, 0.5, 0.25)
    )
    assert frequency_bias_shares(rows, windows=[(4, 9)])["prompts"].item() == 0


def test_frequency_bias_errors():
    with pytest.raises(ValueError, match="method must be one of"):
        frequency_bias(FrequentAgent(), method="logits", progress=False)
    with pytest.raises(TypeError, match="method='score' needs an agent with score"):
        frequency_bias(GreedyMeanAgent(), method="score", progress=False)
    with pytest.raises(ValueError, match="candidate_template must contain"):
        frequency_bias(FrequentAgent(), candidate_template="ACTION", progress=False)
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        frequency_bias(GreedyMeanAgent(), n_samples=0, progress=False)
    with pytest.raises(ValueError, match="repetitions must be a non-empty"):
        frequency_bias(GreedyMeanAgent(), repetitions=[], progress=False)
    with pytest.raises(ValueError, match="prefix_len must be"):
        make_frequency_bias_prompts(prefix_len=(5, 2))
    with pytest.raises(ValueError, match="distribution must be one of"):
        make_frequency_bias_prompts(distribution="poisson")
    with pytest.raises(TypeError, match="cannot be probed by sampling"):
        frequency_bias(object(), progress=False)
    with pytest.raises(TypeError, match="results must be the DataFrame"):
        frequency_bias_shares([1])
    with pytest.raises(ValueError, match="results is empty"):
        entropy_repetition_correlation(pd.DataFrame())
    with pytest.raises(ValueError, match="missing columns"):
        frequency_bias_shares(pd.DataFrame({"repetitions": [1]}))


KD = {"n_prompts": 40, "seed": 5, "progress": False}


def _cell(table, rationale, action):
    return table[(table["rationale"] == rationale) & (table["action"] == action)]["percent"].item()


def test_ucb_follower_is_correct_and_optimal():
    rows = knowing_doing(UCBRationaleAgent("ucb"), **KD)
    table = knowing_doing_table(rows)
    assert _cell(table, "correct", "optimal") == 100.0
    assert table["percent"].sum() == pytest.approx(100.0)
    counts = knowing_doing_counts(rows)
    assert counts["unparsable"] == 0 and counts["answers"] == 40 and counts["context_summary"] == [False]


def test_exact_values_acting_greedily_is_correct_and_greedy():
    rows = knowing_doing(UCBRationaleAgent("greedy"), allow_all_tried=False, **KD)
    assert _cell(knowing_doing_table(rows), "correct", "greedy") == 100.0
    # with every arm possibly tried, greedy == optimal on exactly the all-tried prompts
    rows = knowing_doing(UCBRationaleAgent("greedy"), context_summary=True, **KD)
    prompts = make_knowing_doing_prompts(n_prompts=40, seed=5, context_summary=True)
    all_tried = sum(int((p["info"]["counts"] > 0).all()) for p in prompts)
    table = knowing_doing_table(rows)
    assert _cell(table, "correct", "optimal") == pytest.approx(100.0 * all_tried / 40)
    assert _cell(table, "correct", "greedy") == pytest.approx(100.0 * (40 - all_tried) / 40)
    assert "Summary (all steps so far):" in prompts[0]["observation"]
    assert knowing_doing_counts(rows)["context_summary"] == [True]


def test_unparsable_and_invalid_are_counted_apart():
    class Alternating(TextAgent):
        def act(self, observations, infos, env_ids):
            return ["ACTION=red" if i % 2 == 0 else "no idea" for i in range(len(observations))]

    rows = knowing_doing(Alternating(), batch_size=8, **KD)
    counts = knowing_doing_counts(rows)
    assert counts["invalid_actions"] == 20 and counts["valid_actions"] == 20 and counts["unparsable"] == 40
    table = knowing_doing_table(rows)
    assert table["count"].sum() == 20 and table[table["rationale"] == "correct"]["count"].sum() == 0
    assert (table["unparsable"] == table["count"]).all()
    assert table["percent"].sum() == pytest.approx(100.0)


def test_classify_action_by_hand():
    # counts [2, 1, 0], sums [1.0, 0.9, 0]: UCB red 0.5 + 0.707 = 1.207, green 0.9 + 1 = 1.9, blue inf
    counts = np.array([2, 1, 0])
    truth = np.array([0.5 + math.sqrt(0.5), 1.9, math.inf])
    assert classify_action(2, counts, truth) == "optimal"
    assert classify_action(1, counts, truth) == "greedy"
    assert classify_action(0, counts, truth) == "other"
    assert classify_action(None, counts, truth) == "invalid"


def test_knowing_doing_errors():
    with pytest.raises(ValueError, match="n_prompts must be a positive int"):
        knowing_doing(UCBRationaleAgent(), n_prompts=0, progress=False)
    with pytest.raises(ValueError, match="history_len must be"):
        make_knowing_doing_prompts(history_len=(0, 3))
    with pytest.raises(ValueError, match="allow_all_tried=False needs n_arms >= 2"):
        make_knowing_doing_prompts(n_arms=1, allow_all_tried=False)
    with pytest.raises(ValueError, match="follow must be 'ucb' or 'greedy'"):
        UCBRationaleAgent("random")
    with pytest.raises(TypeError, match="results must be the DataFrame from knowing_doing"):
        knowing_doing_table("table")
    with pytest.raises(ValueError, match="results is empty"):
        knowing_doing_counts(pd.DataFrame())
    with pytest.raises(ValueError, match="unknown action_class values"):
        knowing_doing_table(
            pd.DataFrame({"parse_status": ["ok"], "rationale_correct": [True], "action_class": ["x"]})
        )
    with pytest.raises(ValueError, match="returned 0 answers for"):
        knowing_doing(FixedAnswerAgentEmpty(), **KD)


class FixedAnswerAgentEmpty(TextAgent):
    def act(self, observations, infos, env_ids):
        return []


def test_registry_baseline_reads_probe_infos():
    from agents.registry import make_agent

    rows = frequency_bias(make_agent("greedy", seed=0), **FB)
    # the greedy baseline tries every arm once first, so it is greedy exactly when all arms were tried
    prompts = make_frequency_bias_prompts(**{k: v for k, v in FB.items() if k != "progress"})
    all_tried = np.array([bool((p["info"]["counts"] > 0).all()) for p in prompts])
    assert (rows.loc[all_tried, "share_greedy"] == 1.0).all()
