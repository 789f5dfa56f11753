"""Shared fixtures for the RL fine-tuning tests: a tiny random causal LM folder (built once per session)."""

from __future__ import annotations

import os

import pytest
import torch

from agents.llm.tiny import make_tiny_model

torch.set_num_threads(int(os.environ.get("TEXTRL_TEST_THREADS", "2")))  # see tests/agents/llm/conftest.py


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("rlft_tiny_llama"), seed=0, hidden_size=32, num_layers=2)


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("rlft_tiny_gpt2"), seed=1, architecture="gpt2")
