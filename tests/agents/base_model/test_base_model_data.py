from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from agents.base_model.data import (
    IGNORE_INDEX,
    Document,
    encode_document,
    pack_documents,
    sample_bandit_document,
    sample_document,
    sample_tictactoe_document,
    tokenizer_corpus,
    training_batch,
)
from agents.base_model.demonstrators import bandit_answer
from agents.base_model.tokenizer import train_tokenizer
from textrl_envs.bandit_text import render_bandit_prompt
from textrl_envs.extraction import extract_action
from textrl_envs.tictactoe_text import render_tictactoe_prompt


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(tokenizer_corpus(0, 200, 0.2), 1024)


def test_tokenizer_round_trip_and_compression(tokenizer) -> None:
    texts = [
        render_bandit_prompt(["red", "green", "blue"], [(0, 0.3), (2, -1.24), (1, 2.0)], cot=True),
        render_bandit_prompt([str(i) for i in range(20)], [(19, 1.0)], variant="continuous",
                             distribution="bernoulli", prompt_style="ucb", context_summary=True),
        render_tictactoe_prompt([1, 0, 2, 0, 0, 0, 0, 0, 0], [("000000000", 0, 0.0)], cot=False),
        "odd text: é, ünïcode ✓ and\ttabs\n\n",
    ]
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
    # frequent pieces are single tokens; digits stay single characters
    for piece in ("Step=", " Action=", " Reward=", "ACTION=", " green", " buttons"):
        assert len(tokenizer(piece, add_special_tokens=False)["input_ids"]) == 1, piece
    ids = tokenizer(" Reward=10.25", add_special_tokens=False)["input_ids"]
    digits = [tokenizer.decode([i]) for i in ids]
    assert digits == [" Reward=", "1", "0", ".", "2", "5"]
    assert tokenizer.eos_token == "<|endoftext|>" and tokenizer.bos_token is None


def test_arm_name_is_the_same_token_wherever_the_model_copies_it(tokenizer) -> None:
    # history line, quoted rationale, UCB value line, summary line and the action itself: one id
    # (a model that had to learn that " green" and "green=" name the same arm wrote one arm in its
    # rationale and another in ACTION=)
    answer = bandit_answer(1, "explore", ["red", "green", "blue"], cot=True)
    texts = ["Step=0 Action=green Reward=0.3\n", answer, "<ucb_values>\ngreen=1.5\n", "\ngreen: pressed",
             "ACTION=green"]
    (green,) = tokenizer("green", add_special_tokens=False)["input_ids"]
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert green in ids, text
    assert answer.count('"green"') == 1 and answer.endswith("ACTION=green")


def test_tokenizer_rejects_tiny_vocab() -> None:
    with pytest.raises(ValueError, match="vocab_size must be >= 300"):
        train_tokenizer(["abc"], 100)


def test_documents_are_env_prompts_with_parseable_answers() -> None:
    rng = np.random.default_rng(0)
    for _ in range(60):
        doc = sample_bandit_document(rng)
        assert doc.answer.startswith("\n") and "ACTION=" in doc.answer
        names_line = doc.prompt.split(" labeled ")[1].split(". Each")[0]
        names = names_line.split(", ")
        assert extract_action(doc.answer, names).index is not None
    for _ in range(30):
        doc = sample_tictactoe_document(rng)
        state = doc.prompt.split("Current state: State=")[1][:9]
        cell = extract_action(doc.answer, [str(i) for i in range(9)]).index
        assert cell is not None and state[cell] == "0"  # the demonstrator always plays a legal move


def test_loss_mask_covers_history_actions_and_answer(tokenizer) -> None:
    prompt = render_bandit_prompt(["red", "green", "blue"], [(0, 0.3), (2, -1.24)], cot=False)
    doc = Document(prompt, "\nACTION=green", "bandit")
    ids, mask = encode_document(tokenizer, doc)
    assert len(ids) == len(mask)
    masked = "".join(tokenizer.decode([i]) for i, m in zip(ids, mask, strict=True) if m)
    # the two history actions, then the whole answer and EOS
    assert masked == "redblue\nACTION=green<|endoftext|>"
    assert ids[: len(ids) - 4] == tokenizer(prompt, add_special_tokens=False)["input_ids"]


def test_pack_documents_by_hand() -> None:
    docs = [([5, 6, 7], [False, True, True]), ([8, 9], [True, True]), ([1] * 9, [True] * 9),
            ([3, 4], [False, True])]
    batch, used = pack_documents(docs, rows=2, seq_len=6, pad_id=0)
    # row 0: doc0 + doc1 (5 tokens) + 1 pad; doc2 (9 > 6) skipped; row 1: doc3 + 4 pads
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9, 0], [3, 4, 0, 0, 0, 0]]
    ign = IGNORE_INDEX
    assert batch["labels"].tolist() == [[ign, 6, 7, 8, 9, ign], [ign, 4, ign, ign, ign, ign]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1, 0], [0, 1, 0, 1, 2, 3]]
    assert used == 4


def test_packed_rows_compute_what_separate_sequences_do() -> None:
    # per-document position ids must make attention block-diagonal: logits equal separate passes
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64)
    model = LlamaForCausalLM(cfg).eval()
    a, b = [3, 4, 5, 6, 7], [8, 9, 10]
    batch, _ = pack_documents([(a, [True] * 5), (b, [True] * 3)], rows=1, seq_len=10, pad_id=0)
    with torch.no_grad():
        packed = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits
        alone_a = model(input_ids=torch.tensor([a]), use_cache=False).logits
        alone_b = model(input_ids=torch.tensor([b]), use_cache=False).logits
    torch.testing.assert_close(packed[0, :5], alone_a[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(packed[0, 5:8], alone_b[0], rtol=1e-4, atol=1e-5)


def test_training_batch_is_a_function_of_seed_and_step(tokenizer) -> None:
    kw = {"rows": 2, "seq_len": 2048, "tictactoe_fraction": 0.3}
    b1 = training_batch(tokenizer, seed=1, step=3, **kw)
    b2 = training_batch(tokenizer, seed=1, step=3, **kw)
    b3 = training_batch(tokenizer, seed=1, step=4, **kw)
    assert all(torch.equal(b1[k], b2[k]) for k in b1)
    assert not torch.equal(b1["input_ids"], b3["input_ids"])
    assert b1["input_ids"].shape == (2, 2048)
    assert (b1["labels"] != IGNORE_INDEX).sum() > 20


def test_mixture_shares() -> None:
    rng = np.random.default_rng(5)
    docs = [sample_document(rng, 0.2) for _ in range(500)]
    share_ttt = sum(d.task == "tictactoe" for d in docs) / 500
    assert abs(share_ttt - 0.2) < 0.06  # binomial sd 1.8 %
    bandit = [d for d in docs if d.task == "bandit"]
    share_cot = sum("Think step-by-step" in d.prompt for d in bandit) / len(bandit)
    assert abs(share_cot - 0.6) < 0.09
    ucb = [d for d in bandit if "<ucb_values>" in d.answer]
    assert abs(len(ucb) / len(bandit) - 0.15) < 0.06  # ~400 bandit documents: sd 1.8 %
    # the knowing-doing probe shows the per-arm summary; half of the UCB documents do (sd ~6.5 %)
    assert abs(sum("Summary (all steps so far)" in d.prompt for d in ucb) / len(ucb) - 0.5) < 0.2
