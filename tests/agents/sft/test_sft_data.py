"""Tokenising expert data: the loss covers the answer tokens only (EOS included, template markup not)."""

from __future__ import annotations

import pytest
import torch

from agents.llm import LLMPolicy
from agents.llm.tiny import make_tiny_model
from agents.rlft.update import prepare
from agents.rlft.value_head import PolicyWithValue
from agents.sft.data import ExpertEpisode, answer_token_ids, collect_expert_episodes, encode_episodes
from agents.sft.experts import make_expert
from agents.sft.trainer import _batch, answer_nll

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("sft_models")
    return {
        "plain": make_tiny_model(root / "plain", seed=0),
        "chat": make_tiny_model(root / "chat", seed=1, chat_template=True),
    }


@pytest.fixture(scope="module")
def episodes():
    expert = make_expert("TextBandit-v0", mode="thought")
    found, _ = collect_expert_episodes(
        "TextBandit-v0", expert, num_envs=2, seeds=[100], env_kwargs={"n_arms": 3, "horizon": 4}
    )
    return found


def test_plain_model_answer_is_newline_answer_eos(models):
    policy = LLMPolicy.from_pretrained(models["plain"])
    prompt = "Step=0 Action=red Reward=0.3\nWhat do you predict next?"
    prompt_ids = policy.encode_prompts([prompt])[0]
    ids = answer_token_ids(policy, prompt_ids, prompt, "ACTION=blue", "\n")
    assert ids[-1] == policy.tokenizer.eos_token_id and ids.count(policy.tokenizer.eos_token_id) == 1
    assert policy.tokenizer.decode(ids[:-1]) == "\nACTION=blue"


def test_chat_model_answer_is_the_assistant_turn_up_to_its_end_of_turn(models):
    policy = LLMPolicy.from_pretrained(models["chat"])
    tok = policy.tokenizer
    prompt = "Which button? ACTION=X"
    prompt_ids = policy.encode_prompts([prompt])[0]
    ids = answer_token_ids(policy, prompt_ids, prompt, "I pick ACTION=green", "\n")
    full = tok.apply_chat_template(
        [{"role": "user", "content": prompt}, {"role": "assistant", "content": "I pick ACTION=green"}],
        tokenize=True,
        return_dict=False,
    )
    assert list(full[: len(prompt_ids) + len(ids)]) == prompt_ids + ids  # what generation continues
    assert tok.decode(ids[:-1]) == "I pick ACTION=green" and ids[-1] == tok.eos_token_id
    assert "<|assistant|>" in tok.decode(prompt_ids) and "<|assistant|>" not in tok.decode(ids)
    assert len(full) > len(prompt_ids) + len(ids)  # the template's newline after EOS is not trained


@pytest.mark.parametrize(
    ("kind", "packing"), [("plain", "tree"), ("plain", "mask"), ("plain", "none"), ("chat", "tree")]
)
def test_packed_loss_equals_huggingface_loss_with_prompt_labels_masked(models, episodes, kind, packing):
    """The SFT loss is the NLL of the answer tokens alone: it equals the transformers loss of each
    turn's (prompt + answer) with every prompt label set to -100, summed over turns."""
    policy = LLMPolicy.from_pretrained(models[kind], device="cpu")  # fp32: an exact comparison
    encode_episodes(policy, episodes)
    lm = policy.model
    expected, tokens = 0.0, 0
    for episode in episodes:
        for prompt_ids, answer_ids in zip(episode.prompt_ids, episode.completion_ids, strict=True):
            ids = torch.tensor([prompt_ids + answer_ids])
            labels = torch.tensor([[-100] * len(prompt_ids) + answer_ids])
            with torch.no_grad():
                loss = lm(input_ids=ids, labels=labels).loss  # mean over the unmasked (shifted) labels
            expected += float(loss) * len(answer_ids)
            tokens += len(answer_ids)
    prep = prepare(episodes, packing=packing)
    assert prep.num_tokens == tokens
    batch = _batch(prep, list(range(len(episodes))), policy.pad_id, True, "cpu", packing)
    with torch.no_grad():
        got = float(answer_nll(PolicyWithValue(lm), batch))
    assert got == pytest.approx(expected, rel=1e-4)


def test_a_turn_longer_than_the_context_is_refused(tmp_path):
    policy = LLMPolicy.from_pretrained(make_tiny_model(tmp_path / "short", seed=0, max_positions=64))
    episode = ExpertEpisode(seed=0, slot=0, prompts=["x " * 80], answers=["ACTION=red"], actions=[0])
    with pytest.raises(ValueError, match="exceeds the model's context of 64"):
        encode_episodes(policy, [episode])
