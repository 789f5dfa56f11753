"""Self-consistency and self-correction with planted answers, plus one run each on a tiny LLM."""

from __future__ import annotations

import pytest
import torch

from agents.evaluation import evaluate
from agents.llm import LLMAgent
from agents.llm.tiny import make_tiny_model
from agents.mechanisms import SelfConsistency, SelfCorrection, majority_vote

torch.set_num_threads(2)
NAMES = ["red", "green", "blue"]
BANDIT = {"n_arms": 3, "horizon": 4}


@pytest.mark.parametrize(
    ("texts", "winner", "votes"),
    [
        (["ACTION=red", "x ACTION=blue", "nothing", "ACTION=blue", "ACTION=green"], 2, {2: 2, 0: 1, 1: 1}),
        (["ACTION=green", "ACTION=red", "ACTION=red", "ACTION=green"], 1, {1: 2, 0: 2}),  # tie: first vote
        (["ACTION=red then ACTION=green", "ACTION=purple", "ACTION=green"], 1, {1: 2}),  # last match counts
        (["no", "ACTION=purple"], None, {}),
    ],
)
def test_majority_vote(texts, winner, votes):
    got, counts = majority_vote(texts, NAMES)
    assert got == winner and dict(counts) == votes


def test_self_consistency_plays_the_majority_of_planted_samples(kit):
    plants = ["ACTION=red", "I think ACTION=blue", "no idea", "ACTION=blue", "ACTION=green"]
    agent = SelfConsistency(kit.Planted(plants), k=5)
    steps = evaluate("TextBandit-v0", agent, num_envs=2, seeds=[0], env_kwargs=BANDIT, progress=False)
    assert (steps["action_index"] == 2).all() and steps["valid_action"].all()
    text = steps["action_text"].iloc[0]
    assert text.startswith("I think ACTION=blue")  # the first sample that voted for the winner
    assert "Self-consistency vote over 5 samples: blue 2, red 1, green 1, no action 1." in text


def test_self_consistency_without_any_valid_sample_returns_the_first(kit):
    agent = SelfConsistency(kit.Planted(["hmm", "ACTION=purple"]), k=2)
    steps = evaluate("TextBandit-v0", agent, num_envs=1, seeds=[0], env_kwargs=BANDIT, progress=False)
    assert (steps["action_text"] == "hmm").all() and not steps["valid_action"].any()


def test_self_consistency_needs_a_sampling_llm_and_k_at_least_one(kit, tmp_path):
    folder = make_tiny_model(tmp_path / "tiny", seed=0)
    greedy = LLMAgent.from_pretrained(folder, temperature=0.0, max_new_tokens=4)
    with pytest.raises(ValueError, match="self-consistency needs a sampling agent"):
        SelfConsistency(greedy)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        SelfConsistency(kit.Planted(["ACTION=red"]), k=0)


def test_self_correction_plays_the_revision_and_shows_the_first_answer(kit):
    inner = kit.Reviser(first="Greedy pick. ACTION=red", second="On reflection, ACTION=blue")
    steps = evaluate(
        "TextBandit-v0", SelfCorrection(inner), num_envs=2, seeds=[0], env_kwargs=BANDIT, progress=False
    )
    assert (steps["action_index"] == 2).all()
    expected = "Greedy pick. ACTION=red\nRevised answer:\nOn reflection, ACTION=blue"
    assert steps["action_text"].iloc[0] == expected
    first_call, second_call = inner.prompts[0], inner.prompts[2]  # 2 envs per call
    assert second_call.startswith(first_call) and "Greedy pick. ACTION=red" in second_call[len(first_call) :]


def test_self_correction_without_a_valid_revision_keeps_the_first_action(kit):
    steps = evaluate(
        "TextBandit-v0",
        SelfCorrection(kit.Reviser(second="I cannot tell.")),
        num_envs=1,
        seeds=[0],
        env_kwargs=BANDIT,
        progress=False,
    )
    assert (steps["action_index"] == 0).all() and steps["valid_action"].all()


def test_self_correction_rejects_a_prompt_without_the_answer_slot(kit):
    with pytest.raises(ValueError, match="must be a str containing '{answer}'"):
        SelfCorrection(kit.Reviser(), revision_prompt="Try again.")


@pytest.mark.parametrize("mechanism", ["self-consistency", "self-correction"])
def test_mechanisms_run_on_a_tiny_llm_with_its_prefix_cache(tmp_path, mechanism):
    folder = make_tiny_model(tmp_path / "tiny", seed=0)
    llm = LLMAgent.from_pretrained(folder, temperature=1.0, max_new_tokens=6, seed=0)
    agent = SelfConsistency(llm, k=3) if mechanism == "self-consistency" else SelfCorrection(llm)
    steps = evaluate(
        "TextBandit-v0", agent, num_envs=2, seeds=[0], env_kwargs={"n_arms": 3, "horizon": 2}, progress=False
    )
    assert len(steps) == 2 * 2
    if mechanism == "self-correction":
        assert steps["action_text"].str.contains("\nRevised answer:\n", regex=False).all()
