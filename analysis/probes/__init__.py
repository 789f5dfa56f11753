"""Probes that query an agent: frequency bias, the knowing-doing gap (SPEC "Measurements"), reading.

- :func:`frequency_bias` / :func:`frequency_bias_shares` / :func:`entropy_repetition_correlation`
- :func:`knowing_doing` / :func:`knowing_doing_table` / :func:`knowing_doing_counts`
- :func:`reading` / :func:`reading_scores`: does the agent's choice follow the rewards it reads?
- :func:`parse_ucb_values`: the tolerant ``<ucb_values>`` parser.
- :func:`run_probes`: run them and write ``frequency_bias.csv``, ``knowing_doing.csv``, ``reading.csv``,
  ``probes.json``.
- :mod:`analysis.probes.scripted`: agents with known behaviour, to validate the probes.

An agent with ``score(observations, candidates)`` (an ``LLMAgent``) is probed for frequency bias
through log-probabilities; any other agent by sampling ``act``. Prompts come from
``textrl_envs.bandit_text.render_bandit_prompt``, the same text ``TextBandit-v0`` shows.
"""

from __future__ import annotations

from analysis.probes.frequency_bias import (
    entropy_repetition_correlation,
    frequency_bias,
    frequency_bias_shares,
)
from analysis.probes.knowing_doing import knowing_doing, knowing_doing_counts, knowing_doing_table
from analysis.probes.reading import format_reading_scores, reading, reading_scores
from analysis.probes.run import PROBE_FILES, run_probes
from analysis.probes.scripted import FrequentAgent, GreedyMeanAgent, UCBRationaleAgent
from analysis.probes.ucb_parsing import paper_ucb_values, parse_ucb_values

__all__ = [
    "PROBE_FILES",
    "FrequentAgent",
    "GreedyMeanAgent",
    "UCBRationaleAgent",
    "entropy_repetition_correlation",
    "frequency_bias",
    "frequency_bias_shares",
    "knowing_doing",
    "knowing_doing_counts",
    "knowing_doing_table",
    "format_reading_scores",
    "paper_ucb_values",
    "parse_ucb_values",
    "reading",
    "reading_scores",
    "run_probes",
]
