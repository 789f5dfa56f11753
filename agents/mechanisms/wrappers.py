"""Exploration mechanisms that wrap an agent: try-all and epsilon-greedy (SPEC, "Exploration
mechanisms compared").

Each mechanism is an :class:`AgentWrapper`: a :class:`~agents.protocol.TextAgent` around any other
agent (an LLM, a scripted baseline, a user's agent) that decides some turns itself and hands the rest
to the inner agent, which then sees only the slots it answers (``env_ids`` a subset, as the protocol
allows). ``reset`` and ``observe`` always reach the inner agent, so its own statistics stay complete.

- :class:`TryAll`: while an arm of the slot's bandit is untried, answer it (index order) with the
  paper's templated rationale "Action X has not been tried yet, let's explore it. ACTION=X"; after
  that, the inner agent decides. The first ``k`` decisions therefore pull every arm once.
- :class:`EpsilonGreedy`: with probability ``epsilon`` (the paper: 0.1) answer a uniformly random
  legal action, otherwise let the inner agent answer.

Randomness: a wrapper built with ``seed=s`` spawns one generator per slot at every ``reset`` (as the
scripted baselines do, :mod:`agents.baselines.common`), so runs are reproducible and slots never
share a stream.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.baselines.common import action_text, legal_indices, require_key
from agents.protocol import Agent, Info, TextAgent

#: The try-all rationale (SPEC, and the scripted UCB's first pulls).
TRY_ALL_RATIONALE = "Action {name} has not been tried yet, let's explore it."


class AgentWrapper(TextAgent):
    """Base of the agent-side mechanisms: an inner agent, pass-through ``reset``/``observe``.

    Args:
        inner: the wrapped agent (anything with ``reset``, ``act``, ``observe``).
        seed: root seed of the wrapper's own randomness (``None``: fresh entropy).
        name: the step log's ``agent`` label; default ``"<inner name>+<mechanism>"``.
    """

    mechanism = "wrapper"

    def __init__(self, inner: Agent, *, seed: int | None = None, name: str | None = None) -> None:
        if not isinstance(inner, Agent):
            raise TypeError(f"inner must be an agent with reset, act and observe, got {inner!r}")
        bad_seed = isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
        if seed is not None and bad_seed:
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        self.inner = inner
        self.name = name or f"{getattr(inner, 'name', type(inner).__name__)}+{self.mechanism}"
        self._seed_sequence = np.random.SeedSequence(seed)
        self.rngs: list[np.random.Generator] = []

    def reset(self, infos: Sequence[Info]) -> None:
        self.rngs = [np.random.default_rng(child) for child in self._seed_sequence.spawn(len(infos))]
        self.inner.reset(infos)

    def observe(self, infos: Sequence[Info], env_ids: Sequence[int]) -> None:
        self.inner.observe(infos, env_ids)

    def _rng(self, slot: int) -> np.random.Generator:
        if slot >= len(self.rngs):
            raise RuntimeError(f"{self.name}: act() for slot {slot} before reset() prepared it; reset first")
        return self.rngs[slot]

    def _delegate(
        self,
        answers: list[str | None],
        observations: Sequence[str],
        infos: Sequence[Info],
        env_ids: Sequence[int],
    ) -> list[str]:
        """Fill the ``None`` answers with the inner agent's answers for those slots only."""
        rest = [j for j, answer in enumerate(answers) if answer is None]
        if rest:
            texts = self.inner.act(
                [observations[j] for j in rest], [infos[j] for j in rest], [env_ids[j] for j in rest]
            )
            if len(texts) != len(rest):
                raise ValueError(f"inner agent returned {len(texts)} answers for {len(rest)} slots")
            for j, text in zip(rest, texts, strict=True):
                answers[j] = text
        return [str(a) for a in answers]


def check_batch(observations: Sequence[str], infos: Sequence[Info], env_ids: Sequence[int]) -> None:
    if not len(observations) == len(infos) == len(env_ids):
        raise ValueError(
            f"act() needs one observation and one info per env id; got {len(observations)} observations, "
            f"{len(infos)} infos, {len(env_ids)} env ids"
        )


class TryAll(AgentWrapper):
    """Pull every untried arm first (index order, templated rationale), then let the inner agent act.

    Counts come from the executed actions the wrapper observes (``info["action_index"]``, the true
    arm), so they are right on every bandit, with or without label randomisation. Bandits only: an
    env whose info has ``legal_actions`` (tic-tac-toe) raises ``ValueError`` at ``reset``.
    """

    mechanism = "try-all"

    def reset(self, infos: Sequence[Info]) -> None:
        if any("legal_actions" in info for info in infos):
            raise ValueError("try-all is a bandit mechanism (pull every arm once); this env has legal moves")
        self._counts = [np.zeros(len(require_key(info, "action_names", self.name)), int) for info in infos]
        super().reset(infos)

    def observe(self, infos: Sequence[Info], env_ids: Sequence[int]) -> None:
        for info, slot in zip(infos, env_ids, strict=True):
            self._counts[slot][int(require_key(info, "action_index", self.name))] += 1
        super().observe(infos, env_ids)

    def act(self, observations: Sequence[str], infos: Sequence[Info], env_ids: Sequence[int]) -> list[str]:
        check_batch(observations, infos, env_ids)
        answers: list[str | None] = []
        for info, slot in zip(infos, env_ids, strict=True):
            untried = np.flatnonzero(self._counts[int(slot)] == 0)
            if untried.size:
                name = require_key(info, "action_names", self.name)[int(untried[0])]
                answers.append(action_text(name, TRY_ALL_RATIONALE.format(name=name)))
            else:
                answers.append(None)
        return self._delegate(answers, observations, infos, env_ids)


class EpsilonGreedy(AgentWrapper):
    """With probability ``epsilon`` a uniformly random legal action, else the inner agent's answer.

    Args:
        inner: the wrapped agent.
        epsilon: exploration probability in [0, 1] (the paper: 0.1).
        seed, name: see :class:`AgentWrapper`.

    Attributes:
        decisions, explored: turns answered so far and how many of them by the random branch.
    """

    mechanism = "epsilon-greedy"

    def __init__(
        self, inner: Agent, *, epsilon: float = 0.1, seed: int | None = None, name: str | None = None
    ) -> None:
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be a number in [0, 1], got {epsilon!r}")
        super().__init__(inner, seed=seed, name=name)
        self.epsilon = float(epsilon)
        self.decisions = 0
        self.explored = 0

    def act(self, observations: Sequence[str], infos: Sequence[Info], env_ids: Sequence[int]) -> list[str]:
        check_batch(observations, infos, env_ids)
        answers: list[str | None] = []
        for info, slot in zip(infos, env_ids, strict=True):
            rng = self._rng(int(slot))
            if rng.random() < self.epsilon:
                legal = legal_indices(info)
                name = require_key(info, "action_names", self.name)[legal[int(rng.integers(len(legal)))]]
                answers.append(action_text(name, f"Exploring a random action (epsilon = {self.epsilon:g})."))
                self.explored += 1
            else:
                answers.append(None)
        self.decisions += len(answers)
        return self._delegate(answers, observations, infos, env_ids)
