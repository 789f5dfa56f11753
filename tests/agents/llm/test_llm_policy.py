"""LLMPolicy against simple reference computations: full forward passes, no cache, no padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.llm import Generation, LLMPolicy

from .conftest import PROMPTS


def full_logprobs(model, prompt: list[int], completion: list[int], temperature: float) -> torch.Tensor:
    """Log-probs of ``completion`` after ``prompt`` from one forward pass over the whole sequence."""
    ids = torch.tensor([prompt + completion])
    logits = model(ids).logits[0].float()  # (L, V)
    scaled = logits if temperature == 0 else logits / temperature
    logprobs = torch.log_softmax(scaled, dim=-1)[
        len(prompt) - 1 : -1
    ]  # rows predicting each completion token
    return logprobs.gather(-1, torch.tensor(completion).unsqueeze(-1)).squeeze(-1)


def naive_greedy(model, prompt: list[int], n: int, eos: set[int]) -> list[int]:
    """Greedy decoding the slow way: the full sequence through the model at every step."""
    out: list[int] = []
    for _ in range(n):
        token = int(model(torch.tensor([prompt + out])).logits[0, -1].argmax())
        out.append(token)
        if token in eos:
            break
    return out


@torch.no_grad()
def test_batched_greedy_equals_unbatched_reference(any_policy):
    policy = any_policy
    policy.batch_size = 3  # two batches (3 + 2 prompts), each mixing prompt lengths
    gen = policy.generate(PROMPTS)
    assert isinstance(gen, Generation)
    lengths = {len(p) for p in gen.prompt_ids}
    assert len(lengths) == len(PROMPTS)  # prompts of different lengths, so left padding matters
    for i, prompt in enumerate(gen.prompt_ids):
        expected = naive_greedy(policy.model, prompt, policy.max_new_tokens, set(policy.eos_ids))
        assert gen.completion_ids[i] == expected
        one = policy.generate([PROMPTS[i]])
        assert one.completion_ids[0] == gen.completion_ids[i]
        torch.testing.assert_close(one.logprobs[0], gen.logprobs[i], atol=1e-5, rtol=0)


@torch.no_grad()
def test_greedy_logprobs_equal_full_forward_pass(any_policy):
    gen = any_policy.generate(PROMPTS)
    for prompt, completion, logprobs in zip(gen.prompt_ids, gen.completion_ids, gen.logprobs, strict=True):
        assert logprobs.dtype == torch.float32 and logprobs.shape == (len(completion),)
        expected = full_logprobs(any_policy.model, prompt, completion, temperature=0.0)
        torch.testing.assert_close(logprobs, expected, atol=1e-4, rtol=0)


@torch.no_grad()
def test_sampled_logprobs_equal_full_forward_pass_at_temperature(any_policy):
    gen = any_policy.generate(PROMPTS, temperature=0.7, top_p=0.9, seed=5, max_new_tokens=10)
    for prompt, completion, logprobs in zip(gen.prompt_ids, gen.completion_ids, gen.logprobs, strict=True):
        expected = full_logprobs(any_policy.model, prompt, completion, temperature=0.7)
        torch.testing.assert_close(logprobs, expected, atol=1e-4, rtol=0)


def test_texts_are_decoded_completions(tiny_chat):
    policy = LLMPolicy.from_pretrained(tiny_chat, device="cpu", max_new_tokens=8)
    gen = policy.generate(PROMPTS, temperature=1.0, seed=0)
    assert gen.texts == policy.tokenizer.batch_decode(gen.completion_ids, skip_special_tokens=True)
    assert gen.prompt_ids == policy.encode_prompts(PROMPTS)


def test_stops_each_row_at_eos(tiny_llama):
    policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu", max_new_tokens=12, batch_size=8)
    free = policy.generate(PROMPTS)
    # Declare as EOS a token that the unconstrained run emits mid-way in some rows: those rows must
    # stop right after its first occurrence, the others are unchanged, and padding never shows.
    counts: dict[int, int] = {}
    for completion in free.completion_ids:
        for token in set(completion[1:-1]):
            counts[token] = counts.get(token, 0) + 1
    stop = max(counts, key=lambda t: (0 < counts[t] < len(PROMPTS), counts[t]))
    eos = set(policy.eos_ids) | {stop}
    policy.eos_ids = sorted(eos)
    gen = policy.generate(PROMPTS)
    n_stopped = 0
    for before, after, done in zip(free.completion_ids, gen.completion_ids, gen.finished, strict=True):
        ends = [i for i, token in enumerate(before) if token in eos]
        expected = before[: ends[0] + 1] if ends else before
        n_stopped += bool(ends)
        assert after == expected
        assert done == bool(ends)
        assert policy.pad_id not in after or policy.pad_id in eos
    assert 0 < n_stopped < len(PROMPTS)  # rows really finished at different steps


def test_sampling_reproducible_under_seed(tiny_llama):
    policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu", max_new_tokens=10, temperature=1.0)
    a = policy.generate(PROMPTS, seed=11)
    b = policy.generate(PROMPTS, seed=11)
    c = policy.generate(PROMPTS, seed=12)
    assert a.completion_ids == b.completion_ids
    assert all(torch.equal(x, y) for x, y in zip(a.logprobs, b.logprobs, strict=True))
    assert a.completion_ids != c.completion_ids


CANDIDATES = [
    ["ACTION=red", "ACTION=green", "x"],
    ["ACTION=blue"],
    ["ACTION=yellow", "ACTION=orange", "ACTION=red", " so the answer is ACTION=blue"],
    ["r", "g"],
    ["ACTION=green", "ACTION=green"],
]


@torch.no_grad()
def test_score_equals_naive_per_candidate_sum(any_policy):
    policy = any_policy
    policy.batch_size = 4  # 4 // (up to 4 candidates) = 1 observation per pass: several passes
    scores = policy.score(PROMPTS, CANDIDATES)
    prompts = policy.encode_prompts(PROMPTS)
    for prompt, cands, got in zip(prompts, CANDIDATES, scores, strict=True):
        assert isinstance(got, np.ndarray) and got.shape == (len(cands),)
        for text, value in zip(cands, got, strict=True):
            ids = policy.tokenizer(text, add_special_tokens=False)["input_ids"]
            expected = full_logprobs(policy.model, prompt, ids, temperature=0.0).sum().item()
            assert value == pytest.approx(expected, abs=1e-4)
    assert scores[4][0] == pytest.approx(scores[4][1], abs=1e-6)


def test_score_independent_of_batch_size(tiny_llama):
    policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu", batch_size=64)
    together = policy.score(PROMPTS, CANDIDATES)
    policy.batch_size = 1
    alone = policy.score(PROMPTS, CANDIDATES)
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_encode_plain_text_uses_tokenizer_with_bos(tiny_llama):
    policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu")
    assert not policy.use_chat_template
    ids = policy.encode_prompts(["ACTION=red"])[0]
    assert ids == policy.tokenizer("ACTION=red")["input_ids"]
    assert ids[0] == policy.tokenizer.bos_token_id


def test_chat_template_path(tiny_chat):
    policy = LLMPolicy.from_pretrained(tiny_chat, device="cpu")
    assert policy.use_chat_template
    ids = policy.encode_prompts(["What do you predict next?"])[0]
    tok = policy.tokenizer
    user, assistant = tok.convert_tokens_to_ids(["<|user|>", "<|assistant|>"])
    assert ids[0] == tok.bos_token_id and ids[1] == user
    assert ids[-2] == assistant  # the generation prompt ends the prompt: "<|assistant|>\n"
    assert tok.decode(ids) == "<s><|user|>\nWhat do you predict next?</s>\n<|assistant|>\n"
    plain = LLMPolicy(policy.model, tok, use_chat_template=False)
    assert plain.encode_prompts(["hi"])[0] == tok("hi")["input_ids"]


def test_empty_batch(tiny_llama):
    policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu")
    gen = policy.generate([])
    assert gen.texts == [] and gen.completion_ids == [] and gen.finished == []
    assert policy.score([], []) == []


def test_prompt_longer_than_context(tmp_path):
    from agents.llm.tiny import make_tiny_model

    policy = LLMPolicy.from_pretrained(make_tiny_model(tmp_path / "m", max_positions=16), device="cpu")
    with pytest.raises(ValueError, match="exceeds the model's context of 16 positions"):
        policy.generate(["Step=0 Action=red Reward=0.3 " * 3], max_new_tokens=4)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda p: p.generate("just one string"), TypeError, "observations must be a list of str"),
        (lambda p: p.generate(["ok", 3]), TypeError, r"observations\[1\] must be a str"),
        (lambda p: p.generate(["ok"], temperature=-1), ValueError, "temperature must be a number >= 0"),
        (lambda p: p.generate(["ok"], top_p=0), ValueError, "top_p must be a number in"),
        (lambda p: p.generate(["ok"], max_new_tokens=0), ValueError, "max_new_tokens must be an int >= 1"),
        (lambda p: p.generate(["ok"], seed="x"), TypeError, "seed must be an int or None"),
        (lambda p: p.score(["a", "b"], [["x"]]), ValueError, r"one list of str per observation \(2\)"),
        (lambda p: p.score(["a"], "x"), TypeError, "candidates must be a list of lists of str"),
        (lambda p: p.score(["a"], [[]]), ValueError, r"candidates\[0\] must be a non-empty list"),
        (lambda p: p.score(["a"], [[""]]), ValueError, "encodes to zero tokens"),
        (lambda p: p.score(["a"], [[1]]), TypeError, r"candidates\[0\] must hold str"),
    ],
)
def test_bad_calls(tiny_llama, call, error, match):
    policy = LLMPolicy.from_pretrained(tiny_llama, device="cpu", max_new_tokens=2)
    with pytest.raises(error, match=match):
        call(policy)


def test_bad_constructor_arguments(tiny_llama, tiny_chat):
    llama = LLMPolicy.from_pretrained(tiny_llama, device="cpu")
    with pytest.raises(ValueError, match="use_chat_template=True but the tokenizer has no chat_template"):
        LLMPolicy(llama.model, llama.tokenizer, use_chat_template=True)
    with pytest.raises(ValueError, match="use_chat_template must be None, True or False"):
        LLMPolicy(llama.model, llama.tokenizer, use_chat_template="yes")
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        LLMPolicy(llama.model, llama.tokenizer, batch_size=0)
    with pytest.raises(ValueError, match="temperature must be a number >= 0"):
        LLMPolicy(llama.model, llama.tokenizer, temperature=-0.5)


def test_generates_without_dropout_and_restores_training_mode(tiny_gpt2):
    policy = LLMPolicy.from_pretrained(tiny_gpt2, device="cpu", max_new_tokens=6)
    assert policy.model.config.resid_pdrop > 0  # GPT-2 has dropout, so train mode would change outputs
    reference = policy.generate(PROMPTS[:2])
    policy.model.train()
    again = policy.generate(PROMPTS[:2])
    scores = policy.score(PROMPTS[:1], [["ACTION=red"]])
    assert policy.model.training
    assert again.completion_ids == reference.completion_ids
    policy.model.eval()
    np.testing.assert_allclose(scores[0], policy.score(PROMPTS[:1], [["ACTION=red"]])[0], atol=1e-6)
