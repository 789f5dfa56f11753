"""Scripted probe agents whose behaviour is known by construction, to check the probes themselves.

Each agent reads only the bandit prompt text (like an LLM): it parses the history lines
``Step=t Action=NAME Reward=r`` and answers in text ending with ``ACTION=NAME``. Running a probe on
them must give the answer their construction implies (tests/analysis check this), which is how a
user learns to trust the probes' numbers on a real model:

- :class:`FrequentAgent` repeats the most frequent action in the history (its ``score`` is
  ``beta * count``). Frequency-bias probe: 100% of choices on the most frequent action (classed
  "frequent", or "greedy" when that action also has the best mean).
- :class:`GreedyMeanAgent` takes the best empirical mean among tried arms. Frequency-bias probe:
  100% greedy.
- :class:`UCBRationaleAgent` with ``follow="ucb"`` writes the exact paper UCB values in
  ``<ucb_values>`` and acts on the highest. Knowing-doing probe: 100% correct x optimal.
- :class:`UCBRationaleAgent` with ``follow="greedy"`` writes the same values and acts on the highest
  UCB among tried arms. Knowing-doing probe: correct x greedy whenever some arm is untried (correct x
  optimal when every arm was tried, as then the two coincide).

Action names come from ``info["action_names"]`` in :meth:`act`; :meth:`FrequentAgent.score` reads
them from the candidate texts (``ACTION=NAME``). Ties are broken toward the lowest arm index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from agents.protocol import Info, TextAgent
from analysis.probes._common import history_stats
from analysis.probes.ucb_parsing import paper_ucb_values

__all__ = [
    "parse_bandit_history",
    "history_stats",
    "FrequentAgent",
    "GreedyMeanAgent",
    "UCBRationaleAgent",
]

_HISTORY_LINE = re.compile(r"^Step=(\d+) Action=(\S+) Reward=(\S+)\s*$", re.MULTILINE)
_CANDIDATE = re.compile(r"ACTION=(\S+)\s*$")


def parse_bandit_history(observation: str, action_names: Sequence[str]) -> list[tuple[int, float]]:
    """The ``(action_index, reward)`` history written in a bandit prompt, in order.

    Raises:
        ValueError: a history line names an action not in ``action_names``.
    """
    index = {name: i for i, name in enumerate(action_names)}
    history = []
    for match in _HISTORY_LINE.finditer(observation):
        name = match.group(2)
        if name not in index:
            raise ValueError(f"history line names action {name!r}, allowed {list(action_names)}")
        history.append((index[name], float(match.group(3))))
    return history


class _ProbeAgent(TextAgent):
    """Shared act loop: parse each prompt's history, pick an arm, answer ``rationale + ACTION=``."""

    def choose(self, observation: str, names: Sequence[str]) -> tuple[int, str]:
        raise NotImplementedError

    def act(self, observations: Sequence[str], infos: Sequence[Info], env_ids: Sequence[int]) -> list[str]:
        if len(observations) != len(infos):
            raise ValueError(f"got {len(observations)} observations but {len(infos)} infos")
        answers = []
        for observation, info in zip(observations, infos, strict=True):
            names = list(info["action_names"])
            arm, rationale = self.choose(observation, names)
            answers.append(f"{rationale}\nACTION={names[arm]}" if rationale else f"ACTION={names[arm]}")
        return answers


class FrequentAgent(_ProbeAgent):
    """Always the most frequent action in the prompt's history (the first arm with an empty history).

    Args:
        beta: sharpness of :meth:`score`: candidate log-score ``beta * count`` (a softmax over counts),
            so its entropy falls as one action is repeated.
    """

    name = "frequent"

    def __init__(self, beta: float = 1.0) -> None:
        self.beta = float(beta)

    def choose(self, observation: str, names: Sequence[str]) -> tuple[int, str]:
        counts, _ = history_stats(parse_bandit_history(observation, names), len(names))
        return int(np.argmax(counts)), ""

    def score(self, observations: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """``beta * count(candidate's action)`` per candidate (un-normalised log-scores)."""
        out = []
        for observation, cands in zip(observations, candidates, strict=True):
            names = []
            for text in cands:
                match = _CANDIDATE.search(text)
                if match is None:
                    raise ValueError(f"candidate {text!r} does not end with ACTION=NAME")
                names.append(match.group(1))
            counts, _ = history_stats(parse_bandit_history(observation, names), len(names))
            out.append(self.beta * counts.astype(np.float64))  # (len(cands),)
        return out


class GreedyMeanAgent(_ProbeAgent):
    """The arm with the best empirical mean among tried arms (the first arm before any pull)."""

    name = "greedy-mean"

    def choose(self, observation: str, names: Sequence[str]) -> tuple[int, str]:
        counts, sums = history_stats(parse_bandit_history(observation, names), len(names))
        if not counts.any():
            return 0, ""
        means = np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
        return int(np.argmax(means)), ""


class UCBRationaleAgent(_ProbeAgent):
    """Writes the paper's UCB values exactly, then follows them (``"ucb"``) or exploits (``"greedy"``).

    The answer is a short rationale, the values in ``<ucb_values>`` (``NAME=VALUE`` lines, ``inf``
    for untried arms, ``decimals`` digits), then ``ACTION=NAME``. With ``follow="greedy"`` the action
    is the highest UCB among *tried* arms (the knowing-doing probe's "greedy" class).

    Args:
        follow: ``"ucb"`` or ``"greedy"``.
        decimals: digits written per value.
    """

    name = "ucb-rationale"

    def __init__(self, follow: str = "ucb", decimals: int = 4) -> None:
        if follow not in ("ucb", "greedy"):
            raise ValueError(f"follow must be 'ucb' or 'greedy', got {follow!r}")
        self.follow = follow
        self.decimals = int(decimals)
        self.name = f"ucb-rationale-{follow}"

    def choose(self, observation: str, names: Sequence[str]) -> tuple[int, str]:
        counts, sums = history_stats(parse_bandit_history(observation, names), len(names))
        ucb = paper_ucb_values(counts, sums)  # (k,)
        values = ["inf" if np.isinf(v) else f"{v:.{self.decimals}f}" for v in ucb]
        lines = [f"{name}={value}" for name, value in zip(names, values, strict=True)]
        rationale = (
            "UCB: for each arm, mean reward plus sqrt(1 / pulls); untried arms are infinite.\n"
            "<ucb_values>\n" + "\n".join(lines) + "\n</ucb_values>"
        )
        if self.follow == "ucb" or not counts.any():
            return int(np.argmax(ucb)), rationale
        return int(np.argmax(np.where(counts > 0, ucb, -np.inf))), rationale
