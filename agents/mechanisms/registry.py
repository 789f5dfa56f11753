"""The seven exploration mechanisms by name, and how each one is applied.

=========================  ======  ==========================================================
name                       where   what it does
=========================  ======  ==========================================================
``try-all``                agent   untried arms first, templated rationale (:class:`TryAll`)
``epsilon-greedy``         agent   a random legal action with probability 0.1 (:class:`EpsilonGreedy`)
``self-correction``        agent   a second generation revises the first (:class:`SelfCorrection`)
``self-consistency``       agent   k = 16 samples, majority vote (:class:`SelfConsistency`)
``context-summary``        env     ``TextBandit-v0(context_summary=True)``: per-arm counts and means
``context-randomization``  env     ``TextBandit-v0(randomize_labels=True)``: labels re-mapped every step
``exploration-bonus``      RL      ``RLFTConfig(exploration_bonus=1.0)``: +1 for an untried arm
=========================  ======  ==========================================================

Agent mechanisms wrap any agent (LLM or scripted) and work in evaluation; they are not used while
RL fine-tuning, where the trained tokens must be the policy's own samples. Environment mechanisms
are options of the environment, so they apply in evaluation and in training alike (``textrl train
--env_kwargs '{"randomize_labels": true}'``). The exploration bonus exists only in training.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.mechanisms.sampling import SelfConsistency, SelfCorrection
from agents.mechanisms.wrappers import EpsilonGreedy, TryAll
from agents.protocol import Agent

BANDIT_ENV = "TextBandit-v0"


@dataclass(frozen=True)
class Mechanism:
    """One mechanism: ``kind`` is ``"agent"``, ``"env"`` or ``"rl"``; ``wrap`` builds the agent
    wrapper (agent kind); ``settings`` are the env keyword arguments (env kind) or config fields (rl)."""

    name: str
    kind: str
    help: str
    wrap: Callable[..., Agent] | None = None
    settings: dict[str, Any] = field(default_factory=dict)


MECHANISMS: dict[str, Mechanism] = {
    m.name: m
    for m in (
        Mechanism("try-all", "agent", "pull every untried arm first", wrap=TryAll),
        Mechanism("epsilon-greedy", "agent", "a random action with probability epsilon (0.1)",
                  wrap=EpsilonGreedy),
        Mechanism("self-correction", "agent", "a second generation revises the first", wrap=SelfCorrection),
        Mechanism("self-consistency", "agent", "k (16) samples, majority vote", wrap=SelfConsistency),
        Mechanism("context-summary", "env", "per-arm counts and means after the history",
                  settings={"context_summary": True}),
        Mechanism("context-randomization", "env", "arm labels re-mapped every step",
                  settings={"randomize_labels": True}),
        Mechanism("exploration-bonus", "rl", "+1 reward for an untried arm while RL fine-tuning",
                  settings={"exploration_bonus": 1.0}),
    )
}  # fmt: skip
MECHANISM_NAMES: tuple[str, ...] = tuple(MECHANISMS)
#: What ``textrl evaluate --mechanism`` accepts (the RL-only bonus is not among them).
EVALUATION_MECHANISMS: tuple[str, ...] = tuple(n for n, m in MECHANISMS.items() if m.kind != "rl")


def _lookup(name: str) -> Mechanism:
    if name not in MECHANISMS:
        raise ValueError(f"unknown mechanism {name!r}; allowed mechanisms: {', '.join(MECHANISM_NAMES)}")
    return MECHANISMS[name]


def apply_mechanisms(
    agent: Agent,
    names: Sequence[str],
    *,
    env_id: str = BANDIT_ENV,
    env_kwargs: Mapping[str, Any] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int | None = 0,
) -> tuple[Agent, dict[str, Any]]:
    """Apply the named evaluation mechanisms; return ``(agent, env_kwargs)`` to evaluate with.

    Agent mechanisms wrap in the order given (the first listed is innermost: ``["self-consistency",
    "try-all"]`` tries every arm, then votes); env mechanisms set their env keyword arguments.

    Args:
        agent: the agent to wrap (LLM or scripted).
        names: mechanism names (:data:`EVALUATION_MECHANISMS`).
        env_id: the environment (env mechanisms exist only on ``TextBandit-v0``).
        env_kwargs: the environment's keyword arguments before the mechanisms (not modified).
        options: per-mechanism keyword arguments of the wrapper, e.g. ``{"self-consistency": {"k": 8}}``.
        seed: root seed of the wrappers' randomness.

    Raises:
        ValueError: an unknown or RL-only mechanism, a repeated one, an env mechanism on another env,
            options for a mechanism not applied, or a bad option value.
        TypeError: an option the wrapper does not have.
    """
    names = list(names)
    options = dict(options or {})
    if len(set(names)) != len(names):
        raise ValueError(f"each mechanism may be applied once, got {names}")
    stray = sorted(set(options) - set(names))
    if stray:
        raise ValueError(f"options given for mechanisms not applied: {stray} (applied: {names})")
    env_kwargs = dict(env_kwargs or {})
    bare_env = env_id.split(":", 1)[-1]
    for name in names:
        mechanism = _lookup(name)
        if mechanism.kind == "rl":
            raise ValueError(
                f"{name} is an RL fine-tuning mechanism: use textrl train --exploration_bonus 1 "
                "(then evaluate the fine-tuned model)"
            )
        if mechanism.kind == "env":
            if bare_env != BANDIT_ENV:
                raise ValueError(f"{name} is an option of {BANDIT_ENV}, not of {env_id}")
            if options.get(name):
                raise ValueError(f"{name} takes no options (it sets {mechanism.settings})")
            env_kwargs.update(mechanism.settings)
            continue
        assert mechanism.wrap is not None
        agent = mechanism.wrap(agent, seed=seed, **dict(options.get(name, {})))
    return agent, env_kwargs


def training_settings(names: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(env_kwargs, config_fields)`` that the named mechanisms add to an RL fine-tuning run.

    Raises:
        ValueError: an agent mechanism (they act in evaluation only) or an unknown name.
    """
    env_kwargs: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for name in names:
        mechanism = _lookup(name)
        if mechanism.kind == "agent":
            raise ValueError(
                f"{name} wraps the acting agent and is for evaluation only: RL fine-tuning trains on the "
                "policy's own samples"
            )
        (env_kwargs if mechanism.kind == "env" else fields).update(mechanism.settings)
    return env_kwargs, fields
