"""The one protocol every agent speaks: text in, text out.

Scripted baselines (UCB, Thompson, minimax, ...), the LLM policy, and anything a user plugs in
(an API model, a script) all act through :class:`TextAgent`. The evaluation harness
(:mod:`agents.evaluation`) and the RL trainer drive agents only through these three methods.

A batch is a list of environment *slots*. ``env_ids`` names which slots the lists refer to: in
fixed-length tasks (bandits) every slot is active at every step; in tic-tac-toe, slots whose game
ended are left out, so ``env_ids`` is a subset of ``range(num_envs)``.

The call order for one batch of episodes is::

    obs, infos = reset(...)                       # one per slot
    agent.reset(infos)                            # new episodes in every slot
    while some slot is active:
        texts = agent.act(obs, infos, env_ids)    # one answer per active slot
        obs, rewards, ..., infos = step(texts)
        agent.observe(infos, env_ids)             # what happened (optional)

``infos`` are the environments' info dicts (documented in each environment's class docstring):
an agent *may* read them (a scripted UCB reads ``action_index`` and ``env_reward``; minimax reads
``board``), while an LLM agent reads only the observation text. A user's agent need not subclass
:class:`TextAgent`; it only needs the three methods.

Example, a user-defined agent that always answers the first arm::

    class FirstArm(TextAgent):
        def act(self, observations, infos, env_ids):
            return [f"ACTION={info['action_names'][0]}" for info in infos]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

Info = dict[str, Any]


@runtime_checkable
class Agent(Protocol):
    """Structural type of an agent; see the module docstring for the call order."""

    def reset(self, infos: Sequence[Info]) -> None: ...

    def act(
        self, observations: Sequence[str], infos: Sequence[Info], env_ids: Sequence[int]
    ) -> list[str]: ...

    def observe(self, infos: Sequence[Info], env_ids: Sequence[int]) -> None: ...


class TextAgent:
    """Convenience base class: no-op ``reset`` and ``observe``; subclasses implement ``act``.

    Attributes:
        name: short label used in logs and reports (``steps.parquet`` column ``agent``).
    """

    name: str = "agent"

    def reset(self, infos: Sequence[Info]) -> None:
        """Start new episodes in all ``len(infos)`` slots (infos come from ``env.reset``)."""

    def act(self, observations: Sequence[str], infos: Sequence[Info], env_ids: Sequence[int]) -> list[str]:
        """Return one answer text per active slot, in the order of ``env_ids``."""
        raise NotImplementedError

    def observe(self, infos: Sequence[Info], env_ids: Sequence[int]) -> None:
        """See the infos returned by ``env.step`` for the slots that just acted."""
