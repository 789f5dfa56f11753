"""Shared machinery of the scripted baselines: per-slot random generators and the random agent.

Every scripted agent answers in text, like an LLM would: a short rationale, then ``ACTION=<name>``
where ``<name>`` is one of the environment's ``info["action_names"]``. The environment's extractor
reads the last ``ACTION=`` match, so the rationale may mention other actions freely.

Randomness: an agent built with ``seed=s`` owns a :class:`numpy.random.SeedSequence` rooted at ``s``.
Each :meth:`ScriptedAgent.reset` spawns one fresh child generator per slot, so (a) slots never share
a stream, (b) two agents built with the same seed and driven through the same calls answer the same
texts, and (c) successive batches of episodes (the harness resets the agent once per seed) get new,
still reproducible, streams. ``seed=None`` draws fresh OS entropy (not reproducible).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.protocol import Info, TextAgent


def action_text(name: str, rationale: str = "") -> str:
    """Join a rationale and the final ``ACTION=<name>`` line (the format every env's extractor reads)."""
    return f"{rationale}\nACTION={name}" if rationale else f"ACTION={name}"


def require_key(info: Info, key: str, agent: str) -> object:
    """``info[key]``, or a ``KeyError`` saying which agent needed which key (wrong env for the agent)."""
    try:
        return info[key]
    except KeyError:
        raise KeyError(
            f"agent {agent!r} needs info[{key!r}] but the environment's info has only {sorted(info)}; "
            "is this agent used on the environment it was written for?"
        ) from None


class ScriptedAgent(TextAgent):
    """Base of the scripted baselines: seeded per-slot generators, spawned anew on every ``reset``.

    Args:
        seed: root seed of the agent's randomness (``None``: fresh entropy, not reproducible).

    Attributes:
        rngs: one :class:`numpy.random.Generator` per slot, valid after :meth:`reset`.
    """

    name = "scripted"

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.seed = seed
        self._seed_sequence = np.random.SeedSequence(seed)
        self.rngs: list[np.random.Generator] = []

    def reset(self, infos: Sequence[Info]) -> None:
        """Start new episodes in all ``len(infos)`` slots: new per-slot generators and state."""
        children = self._seed_sequence.spawn(len(infos))
        self.rngs = [np.random.default_rng(child) for child in children]
        self._reset_state(infos)

    def _reset_state(self, infos: Sequence[Info]) -> None:
        """Hook for subclasses: clear per-slot statistics."""

    def _rng(self, slot: int) -> np.random.Generator:
        if slot >= len(self.rngs):
            raise RuntimeError(
                f"{self.name}: act() for slot {slot} but reset() prepared {len(self.rngs)} slots; "
                "call agent.reset(infos) with one info per environment first"
            )
        return self.rngs[slot]

    def act(self, observations: Sequence[str], infos: Sequence[Info], env_ids: Sequence[int]) -> list[str]:
        """One answer per active slot (see :meth:`decide`)."""
        if not len(observations) == len(infos) == len(env_ids):
            raise ValueError(
                f"act() needs one observation and one info per env id; got {len(observations)} "
                f"observations, {len(infos)} infos, {len(env_ids)} env ids"
            )
        return [
            self.decide(obs, info, int(slot))
            for obs, info, slot in zip(observations, infos, env_ids, strict=True)
        ]

    def decide(self, observation: str, info: Info, slot: int) -> str:
        """The answer text for one slot; subclasses implement it."""
        raise NotImplementedError


def legal_indices(info: Info) -> list[int]:
    """The actions allowed now: ``info["legal_actions"]`` when the env has it, else every action."""
    if "legal_actions" in info:
        legal = [int(a) for a in info["legal_actions"]]
        if not legal:
            raise ValueError("info['legal_actions'] is empty: the episode has ended, call reset()")
        return legal
    return list(range(len(require_key(info, "action_names", "random"))))


class RandomAgent(ScriptedAgent):
    """Uniformly random legal action on any textrl environment (the lower reference of the paper).

    Bandits: every arm with probability 1/k. Tic-tac-toe: every empty cell (``info["legal_actions"]``)
    with equal probability. The answer is only ``ACTION=<name>`` (nothing to reason about).

    Example::

        agent = RandomAgent(seed=0)
        agent.reset(infos)
        texts = agent.act(observations, infos, env_ids=range(len(infos)))
    """

    name = "random"

    def decide(self, observation: str, info: Info, slot: int) -> str:
        legal = legal_indices(info)
        choice = legal[int(self._rng(slot).integers(len(legal)))]
        return action_text(require_key(info, "action_names", self.name)[choice])
