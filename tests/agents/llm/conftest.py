"""Shared fixtures: tiny random models saved once per test session (each takes well under a second)."""

from __future__ import annotations

import os

import pytest
import torch

from agents.llm import LLMPolicy
from agents.llm.tiny import make_tiny_model

# the test machine's 2 cores; TEXTRL_TEST_THREADS=1 on a machine busy with other work, where two
# threads each waiting for a core make a forward pass many times slower than one thread
torch.set_num_threads(int(os.environ.get("TEXTRL_TEST_THREADS", "2")))


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    """A tiny Llama with a plain-text tokenizer (no chat template)."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny_llama"), seed=0)


@pytest.fixture(scope="session")
def tiny_chat(tmp_path_factory):
    """A tiny Llama whose tokenizer has a chat template."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny_chat"), chat_template=True, seed=1)


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory):
    """A tiny GPT-2 whose tokenizer has no pad token (to prove nothing is Llama-specific)."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny_gpt2"), architecture="gpt2", pad_token=False, seed=2)


@pytest.fixture(params=["llama", "gpt2", "chat"])
def any_policy(request, tiny_llama, tiny_gpt2, tiny_chat):
    """An LLMPolicy over each tiny model, on CPU, fp32."""
    folder = {"llama": tiny_llama, "gpt2": tiny_gpt2, "chat": tiny_chat}[request.param]
    return LLMPolicy.from_pretrained(folder, device="cpu", max_new_tokens=8)


PROMPTS = [
    "Step=0 Action=red Reward=0.3\nWhat do you predict next?",
    "hi",
    "You are a bandit algorithm in a room with 5 buttons labeled red, green, blue, yellow, orange. "
    "Output ONLY your final answer in the format ACTION=X.",
    "ACTION=blue",
    "So far you have tried/seen:\nStep=0 Action=green Reward=1.2\nStep=1 Action=green Reward=0.9",
]
