"""``LLMAgent``: the LLM policy speaking the :class:`~agents.protocol.TextAgent` protocol.

The agent reads only the observation text (never the infos) and answers with the policy's generated
text; the environment's extractor finds ``ACTION=X`` in it. The last :class:`~agents.llm.Generation` is
kept in ``last_generation`` for callers that need token ids and log-probs (RL fine-tuning).

Prefix caching is on by default: ``act`` passes its env ids as cache keys to
:meth:`LLMPolicy.generate`, so each environment's next prompt reuses the KV of the part it shares
with the previous one (header and earlier history), and ``reset`` forgets the agent's keys. The
answers are the same as without the cache (see :mod:`agents.llm.prefix_cache`); only the work differs.

Example::

    agent = LLMAgent.from_pretrained("path/to/model", temperature=0.0, max_new_tokens=64)
    steps = evaluate("TextBandit-v0", agent, num_envs=64, seeds=[0, 1, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from agents.llm.policy import Generation, LLMPolicy
from agents.llm.sampling import check_sampling_args
from agents.protocol import Info, TextAgent


class LLMAgent(TextAgent):
    """A :class:`TextAgent` that answers with :meth:`LLMPolicy.generate`.

    Args:
        policy: the :class:`LLMPolicy` to act with.
        temperature, top_p, max_new_tokens: generation settings; ``None`` keeps the policy's defaults.
        seed: makes sampling reproducible: each ``act`` call draws its sampling seed from a generator
            seeded here, so a run with the same calls gives the same answers. ``None``: unseeded.
        name: the label in the step log's ``agent`` column.
        prefix_cache: reuse each env's shared prompt prefix across turns (keys = env ids, namespaced
            per agent so agents sharing a policy do not mix). ``False``: encode every prompt in full.

    Attributes:
        last_generation: the :class:`Generation` of the latest ``act`` call (``None`` before any).
    """

    def __init__(
        self,
        policy: LLMPolicy,
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_new_tokens: int | None = None,
        seed: int | None = None,
        name: str = "llm",
        prefix_cache: bool = True,
    ) -> None:
        if not isinstance(policy, LLMPolicy):
            raise TypeError(f"policy must be an LLMPolicy, got {type(policy).__name__}")
        check_sampling_args(
            policy.temperature if temperature is None else temperature,
            policy.top_p if top_p is None else top_p,
            policy.max_new_tokens if max_new_tokens is None else max_new_tokens,
        )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        if not isinstance(prefix_cache, bool):
            raise TypeError(f"prefix_cache must be True or False, got {type(prefix_cache).__name__}")
        self.policy = policy
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        self.name = name
        self.rng = np.random.default_rng(seed) if seed is not None else None
        self.last_generation: Generation | None = None
        self.prefix_cache = prefix_cache
        self.cache_keys: set[tuple[object, int]] = set()  # keys this agent stored in the policy's cache
        self.cache_namespace = object()  # unique per agent: the first part of its cache keys

    def reset(self, infos: Sequence[Info]) -> None:
        """New episodes: forget this agent's cached prompts (their memory; reuse would still be exact)."""
        self.policy.prefix_cache.drop(self.cache_keys)
        self.cache_keys.clear()

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        trust_remote_code: bool = False,
        use_chat_template: bool | None = None,
        batch_size: int = 32,
        progress: bool = False,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_new_tokens: int = 64,
        seed: int | None = None,
        name: str = "llm",
        prefix_cache: bool = True,
    ) -> LLMAgent:
        """Load a model (see :func:`~agents.llm.load_model_and_tokenizer`) and wrap it as an agent."""
        policy = LLMPolicy.from_pretrained(
            name_or_path,
            device=device,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            use_chat_template=use_chat_template,
            batch_size=batch_size,
            progress=progress,
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
        )
        return cls(policy, seed=seed, name=name, prefix_cache=prefix_cache)

    def act(self, observations: Sequence[str], infos: Sequence[Info], env_ids: Sequence[int]) -> list[str]:
        """Generate one answer per active slot (in the order of ``env_ids``)."""
        if len(observations) != len(env_ids):
            raise ValueError(
                f"act needs one observation per active env id, got {len(observations)} observations "
                f"for {len(env_ids)} env_ids"
            )
        seed = int(self.rng.integers(2**31 - 1)) if self.rng is not None else None
        keys = None
        if self.prefix_cache:
            keys = [(self.cache_namespace, int(env_id)) for env_id in env_ids]
            self.cache_keys.update(keys)
        self.last_generation = self.policy.generate(
            observations,
            temperature=self.temperature,
            top_p=self.top_p,
            max_new_tokens=self.max_new_tokens,
            seed=seed,
            cache_keys=keys,
        )
        return list(self.last_generation.texts)

    def score(self, observations: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """log pi(candidate | prompt) per candidate (see :meth:`LLMPolicy.score`); the probes use it."""
        return self.policy.score(observations, candidates)
