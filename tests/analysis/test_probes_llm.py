"""The probes on a real (tiny, random) LLM agent: the log-prob path and the sampling path."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from agents.llm import LLMAgent, LLMPolicy  # noqa: E402
from agents.llm.tiny import make_tiny_model  # noqa: E402
from analysis.probes import frequency_bias, knowing_doing, knowing_doing_counts  # noqa: E402
from analysis.probes.frequency_bias import make_frequency_bias_prompts  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def tiny_agent(tmp_path_factory):
    folder = make_tiny_model(tmp_path_factory.mktemp("tiny_probe"), chat_template=True, seed=4)
    return LLMAgent(LLMPolicy.from_pretrained(folder, device="cpu", max_new_tokens=8))


def test_frequency_bias_scores_match_the_policy(tiny_agent):
    kwargs = {"repetitions": (0, 3), "n_prefixes": 2, "n_arms": 3, "seed": 1}
    rows = frequency_bias(tiny_agent, progress=False, batch_size=3, **kwargs)
    assert (rows["method"] == "score").all()
    prompts = make_frequency_bias_prompts(**kwargs)
    names = prompts[0]["info"]["action_names"]
    # independent: one score call per prompt, softmax by hand
    for row, prompt in zip(rows.itertuples(), prompts, strict=True):
        logp = tiny_agent.score([prompt["observation"]], [[f"ACTION={n}" for n in names]])[0]
        p = np.exp(logp - logp.max()) / np.exp(logp - logp.max()).sum()
        assert row.entropy == pytest.approx(float(-(p * np.log(p)).sum()), abs=1e-4)
        assert row.chosen == names[int(np.argmax(p))]
        assert 0.0 <= row.entropy <= math.log(3) + 1e-9


def test_sampling_paths_run_on_an_llm_agent(tiny_agent):
    rows = frequency_bias(
        tiny_agent, method="sample", n_samples=2, repetitions=(0,), n_prefixes=2, progress=False
    )
    shares = rows[["share_frequent", "share_greedy", "share_other", "share_invalid"]]
    assert np.allclose(shares.sum(axis=1), 1.0)
    kd = knowing_doing(tiny_agent, n_prompts=2, n_arms=3, history_len=(2, 4), progress=False)
    # a random model writes no <ucb_values> block: every rationale is unparsable
    assert knowing_doing_counts(kd)["unparsable"] == 2
