"""Mechanisms that ask the inner agent more than once per turn: self-consistency and self-correction.

- :class:`SelfConsistency` (the paper: k = 16): ask the inner agent ``k`` times for the same turn
  and play the action most answers name (:func:`majority_vote`). The inner agent must be stochastic
  (an LLM sampling at temperature > 0); ``k`` answers of a greedy decoder are one answer ``k`` times.
- :class:`SelfCorrection`: ask once, then show the inner agent its own answer after the prompt
  (:data:`REVISION_PROMPT`) and ask again; the revised answer's action is played. The logged text is
  both answers joined by ``"Revised answer:"``; the environment reads the last valid ``ACTION=``,
  so a revision without a valid action leaves the first answer's action standing.

Both call ``inner.act`` with the turn's own ``env_ids``, so an LLM agent's prefix cache is reused
across the extra calls (the same prompt, or the prompt plus the first answer).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from agents.baselines.common import action_text, require_key
from agents.mechanisms.wrappers import AgentWrapper, check_batch
from agents.protocol import Agent, Info
from textrl_envs.extraction import extract_action

#: Appended to the observation for the second (revising) generation of :class:`SelfCorrection`.
REVISION_PROMPT = (
    "\n\nA first answer to this question was:\n{answer}\n\n"
    "Check this answer step by step: is its reasoning correct, and is its action the best choice given "
    "everything above? Then give your final answer in the format ACTION=X (a different action if the "
    "first one was wrong)."
)
REVISED_MARKER = "Revised answer:"


def majority_vote(texts: Sequence[str], action_names: Sequence[str]) -> tuple[int | None, Counter[int]]:
    """The action named by most ``texts`` and the votes per action index.

    Each text votes for the action its last valid ``ACTION=X`` names (the environment's extractor);
    texts without one do not vote. Ties go to the action whose first vote came earliest. Returns
    ``(None, Counter())`` when no text names an action.
    """
    votes = [extract_action(text, action_names).index for text in texts]
    counts: Counter[int] = Counter(v for v in votes if v is not None)
    if not counts:
        return None, counts
    best = max(counts.values())
    winner = next(v for v in votes if v is not None and counts[v] == best)
    return winner, counts


def _sampling_temperature(agent: Agent) -> float | None:
    """An LLM agent's effective temperature (its own, else its policy's); None for other agents."""
    policy = getattr(agent, "policy", None)
    if policy is None or not hasattr(policy, "generate"):
        return None
    own = getattr(agent, "temperature", None)
    return float(own if own is not None else getattr(policy, "temperature", 0.0))


class SelfConsistency(AgentWrapper):
    """``k`` answers per turn from the inner agent; the majority action is played.

    The returned text is the first sample that named the winning action, then one line with the
    vote ("Self-consistency vote over 16 samples: blue 9, red 4, no action 3.") and ``ACTION=<winner>``.
    When no sample names an action, the first sample is returned as it is (the environment then plays
    a random action and adds its invalid-action penalty).

    Args:
        inner: the wrapped agent; an LLM agent must sample (temperature > 0).
        k: samples per turn (the paper: 16).
        seed, name: see :class:`AgentWrapper`.

    Raises:
        ValueError: ``k < 1``, or an LLM agent that decodes greedily.
    """

    mechanism = "self-consistency"

    def __init__(
        self, inner: Agent, *, k: int = 16, seed: int | None = None, name: str | None = None
    ) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be an int >= 1, got {k!r}")
        if _sampling_temperature(inner) == 0.0:
            raise ValueError(
                "self-consistency needs a sampling agent: give the llm agent temperature > 0 "
                "(e.g. --agent-kwargs '{\"temperature\": 1.0}'); greedy decoding repeats one answer"
            )
        super().__init__(inner, seed=seed, name=name)
        self.k = k

    def act(self, observations: Sequence[str], infos: Sequence[Info], env_ids: Sequence[int]) -> list[str]:
        check_batch(observations, infos, env_ids)
        samples = [self.inner.act(observations, infos, env_ids) for _ in range(self.k)]  # k x B
        answers = []
        for j, info in enumerate(infos):
            names = require_key(info, "action_names", self.name)
            texts = [sample[j] for sample in samples]
            winner, counts = majority_vote(texts, names)
            if winner is None:
                answers.append(texts[0])
                continue
            chosen = next(t for t in texts if extract_action(t, names).index == winner)
            tally = ", ".join(f"{names[a]} {n}" for a, n in counts.most_common())
            missing = self.k - sum(counts.values())
            tally += f", no action {missing}" if missing else ""
            vote = f"Self-consistency vote over {self.k} samples: {tally}."
            answers.append(f"{chosen}\n{action_text(names[winner], vote)}")
        return answers


class SelfCorrection(AgentWrapper):
    """Answer, then revise: the inner agent sees its first answer after the prompt and answers again.

    Args:
        inner: the wrapped agent.
        revision_prompt: appended to the observation for the second call; ``{answer}`` is replaced by
            the first answer (default :data:`REVISION_PROMPT`).
        seed, name: see :class:`AgentWrapper`.
    """

    mechanism = "self-correction"

    def __init__(
        self,
        inner: Agent,
        *,
        revision_prompt: str = REVISION_PROMPT,
        seed: int | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(revision_prompt, str) or "{answer}" not in revision_prompt:
            raise ValueError("revision_prompt must be a str containing '{answer}' (where the answer goes)")
        super().__init__(inner, seed=seed, name=name)
        self.revision_prompt = revision_prompt

    def act(self, observations: Sequence[str], infos: Sequence[Info], env_ids: Sequence[int]) -> list[str]:
        check_batch(observations, infos, env_ids)
        first = self.inner.act(observations, infos, env_ids)
        revised_prompts = [
            obs + self.revision_prompt.replace("{answer}", answer.strip())
            for obs, answer in zip(observations, first, strict=True)
        ]
        second = self.inner.act(revised_prompts, infos, env_ids)
        return [f"{a}\n{REVISED_MARKER}\n{b}" for a, b in zip(first, second, strict=True)]
