"""The paper's exploration mechanisms for any agent (SPEC, "Exploration mechanisms compared").

Two shapes, chosen by where a mechanism acts:

- *agent wrappers* (:mod:`agents.mechanisms.wrappers`, :mod:`agents.mechanisms.sampling`): a
  :class:`~agents.protocol.TextAgent` around any agent, LLM or scripted: :class:`TryAll`,
  :class:`EpsilonGreedy`, :class:`SelfCorrection`, :class:`SelfConsistency`;
- *environment options*: ``TextBandit-v0(context_summary=True)`` and ``(randomize_labels=True)``;
  and the RL exploration bonus, ``RLFTConfig(exploration_bonus=1.0)``.

:func:`apply_mechanisms` applies any of them by name (``textrl evaluate --mechanism try-all``)::

    from agents.mechanisms import apply_mechanisms
    agent, env_kwargs = apply_mechanisms(make_agent("llm", temperature=1.0), ["self-consistency"],
                                         options={"self-consistency": {"k": 16}})
    steps = evaluate("TextBandit-v0", agent, num_envs=64, seeds=[0, 1, 2], env_kwargs=env_kwargs)
"""

from __future__ import annotations

from agents.mechanisms.registry import (
    EVALUATION_MECHANISMS,
    MECHANISM_NAMES,
    MECHANISMS,
    apply_mechanisms,
    training_settings,
)
from agents.mechanisms.sampling import REVISION_PROMPT, SelfConsistency, SelfCorrection, majority_vote
from agents.mechanisms.wrappers import TRY_ALL_RATIONALE, AgentWrapper, EpsilonGreedy, TryAll

__all__ = [
    "EVALUATION_MECHANISMS",
    "MECHANISMS",
    "MECHANISM_NAMES",
    "REVISION_PROMPT",
    "TRY_ALL_RATIONALE",
    "AgentWrapper",
    "EpsilonGreedy",
    "SelfConsistency",
    "SelfCorrection",
    "TryAll",
    "apply_mechanisms",
    "majority_vote",
    "training_settings",
]
