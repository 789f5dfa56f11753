from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis.probes.reading import (
    READING_COLUMNS,
    format_reading_scores,
    make_reading_prompts,
    reading,
    reading_scores,
)
from analysis.probes.scripted import GreedyMeanAgent
from textrl_envs.bandit_text import arm_names

NAMES = arm_names(10)


class ByNameAgent:
    """Always names the first arm of its list that it has tried: chooses by name, never by reward."""

    def act(self, observations, infos, env_ids):
        answers = []
        for obs in observations:
            tried = {m for m in re.findall(r"^Step=\d+ Action=(\S+) ", obs, re.M)}
            answers.append(f"ACTION={next(n for n in NAMES if n in tried)}")
        return answers


class WorkedMeansAgent:
    """Writes every tried arm's reward as NAME=VALUE (copied from the history), then explores."""

    def act(self, observations, infos, env_ids):
        answers = []
        for obs in observations:
            lines = re.findall(r"^Step=\d+ Action=(\S+) Reward=(\S+)$", obs, re.M)
            untried = [n for n in NAMES if n not in {name for name, _ in lines}]
            answers.append("Means:\n" + "\n".join(f"{n}={r}" for n, r in lines) + f"\nACTION={untried[0]}")
        return answers


def test_prompts_explore_k_distinct_arms_once_with_a_single_best() -> None:
    prompts = make_reading_prompts(4, 30, seed=3)
    assert len(prompts) == 30
    for p in prompts:
        lines = re.findall(r"^Step=(\d+) Action=(\S+) Reward=(\S+)$", p["observation"], re.M)
        assert [int(s) for s, _, _ in lines] == [0, 1, 2, 3]
        names = [n for _, n, _ in lines]
        assert len(set(names)) == 4 and [NAMES.index(n) for n in names] == p["tried"]
        rewards = [float(r) for _, _, r in lines]
        assert names[int(np.argmax(rewards))] == NAMES[p["best"]] and rewards.count(max(rewards)) == 1
    # the same seed gives the same prompts; another seed other prompts
    again = make_reading_prompts(4, 30, seed=3)
    assert [p["observation"] for p in again] == [p["observation"] for p in prompts]
    assert make_reading_prompts(4, 30, seed=4)[0]["observation"] != prompts[0]["observation"]
    # the tried arms are spread over the labels, not a prefix of the list (a by-name agent can't pass)
    first = [p["tried"][0] for p in make_reading_prompts(3, 300, seed=0)]
    assert len(set(first)) == 10


def test_a_reader_scores_one_and_a_by_name_agent_scores_chance() -> None:
    greedy = reading_scores(reading(GreedyMeanAgent(), n_prompts=60, progress=False))
    assert (greedy["named_best"] == 1.0).all() and (greedy["p_tried"] < 1e-20).all()
    by_name = reading_scores(reading(ByNameAgent(), n_prompts=300, progress=False))
    # chance is 1/k; 300 prompts: binomial sd <= 2.7 %, so a 4-sd band
    for row in by_name.itertuples():
        assert abs(row.best_given_tried - row.chance) < 4 * np.sqrt(row.chance * (1 - row.chance) / 300)
        assert row.p_tried > 1e-3
    assert by_name["worked_best"].isna().all()


def test_worked_values_are_scored_apart_from_the_action() -> None:
    results = reading(WorkedMeansAgent(), ks=(3,), n_prompts=20, progress=False)
    assert list(results.columns) == list(READING_COLUMNS)
    scores = reading_scores(results)
    # it explores (names no tried arm) but its written values name the best arm every time
    assert scores["named_tried"].iloc[0] == 0.0 and scores["worked_best"].iloc[0] == 1.0
    assert np.isnan(scores["best_given_tried"].iloc[0])
    assert "worked-best" in format_reading_scores(scores)


class RunningMaxAgent:
    """Writes the base model's running-max lines (``NAME=VALUE best "X"=V``) with a planted value for
    the *first* tried arm (larger than every reward), and a wrong best on every line."""

    def act(self, observations, infos, env_ids):
        answers = []
        for obs in observations:
            lines = re.findall(r"^Step=\d+ Action=(\S+) Reward=(\S+)$", obs, re.M)
            first = lines[0][0]
            in_label_order = sorted(lines, key=lambda line: NAMES.index(line[0]))
            written = [(n, "99" if n == first else r) for n, r in in_label_order]
            last = written[-1][0]
            answers.append("Means:\n" + "\n".join(f'{n}={v} best "{last}"=0.1' for n, v in written)
                           + f"\nACTION={last}")
        return answers


def test_running_max_lines_are_read_by_their_first_value() -> None:
    # the written value is the one right after NAME=, whatever the line's "best" part says: the planted
    # 99 makes the first tried arm the worked best, which is the true best in about 1/k of prompts
    results = reading(RunningMaxAgent(), ks=(3,), n_prompts=300, progress=False)
    scores = reading_scores(results)
    worked = scores["worked_best"].iloc[0]
    assert not np.isnan(worked) and abs(worked - 1 / 3) < 4 * np.sqrt(2 / 9 / 300)


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"k must be in \[2, n_arms=10\]"):
        make_reading_prompts(11, 3)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        make_reading_prompts(3, 3, sigma=0.0)
    with pytest.raises(ValueError, match="results is missing columns"):
        reading_scores(pd.DataFrame({"k": [3]}))
    with pytest.raises(TypeError, match="cannot be probed by sampling"):
        reading(object(), progress=False)
