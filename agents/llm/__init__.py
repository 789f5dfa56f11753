"""The LLM policy over any Hugging Face causal LM (docs/ARCHITECTURE.md section 4).

- :func:`load_model_and_tokenizer`: a hub id or a ``save_pretrained`` folder, safetensors only.
- :class:`LLMPolicy`: batched generation with per-token log-probs, and candidate scoring.
- :class:`Generation`: what ``LLMPolicy.generate`` returns.
- :class:`LLMAgent`: the policy as a :class:`~agents.protocol.TextAgent`.
- :mod:`agents.llm.tiny`: tiny random models for tests and benchmarks.
"""

from __future__ import annotations

from agents.llm.agent import LLMAgent
from agents.llm.loading import load_model_and_tokenizer
from agents.llm.policy import Generation, LLMPolicy

__all__ = ["Generation", "LLMAgent", "LLMPolicy", "load_model_and_tokenizer"]
