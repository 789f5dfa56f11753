"""Packed log-probs must equal the naive per-turn forward pass (the packing is exact)."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from agents.rlft.packing import attention_allowed, collate, pack_turns
from agents.rlft.value_head import PolicyWithValue


def bandit_like_episode(seed: int, turns: int = 6, window: int | None = None):
    """Token-id prompts shaped like a bandit episode: header + history lines (+ window) + footer."""
    g = torch.Generator().manual_seed(seed)
    rand = lambda n: torch.randint(5, 200, (n,), generator=g).tolist()  # noqa: E731
    header, footer = [1] + rand(7), rand(4)
    lines = [rand(int(torch.randint(2, 5, (1,), generator=g))) for _ in range(turns)]
    prompts, completions = [], []
    for t in range(turns):
        history = lines[:t] if window is None else lines[max(0, t - window) : t]
        prompts.append(header + [tok for line in history for tok in line] + footer)
        completions.append(rand(int(torch.randint(0, 5, (1,), generator=g))))
    return prompts, completions


def naive_logprobs(model, prompts, completions):
    out = []
    for prompt, completion in zip(prompts, completions, strict=True):
        ids = torch.tensor([prompt + completion])
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)  # (L, V)
        for k, token in enumerate(completion):
            out.append(logp[len(prompt) + k - 1, token])
    return torch.stack(out)


@pytest.mark.parametrize("window", [None, 2])
@pytest.mark.parametrize("turns_per_sequence", [None, 1, 4])
def test_packed_equals_per_turn_llama(tiny_llama, window, turns_per_sequence):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    episodes = [bandit_like_episode(s, window=window) for s in range(3)]
    sequences, expected, offset = [], [], 0
    for prompts, completions in episodes:
        sequences += pack_turns(
            prompts, completions, turns_per_sequence=turns_per_sequence, turn_offset=offset
        )
        expected.append(naive_logprobs(model, prompts, completions))
        offset += len(prompts)
    batch = collate(sequences)
    with torch.no_grad():
        logp, entropy, values = PolicyWithValue(model)(batch)
    torch.testing.assert_close(logp, torch.cat(expected), atol=1e-5, rtol=0)
    assert values is None and entropy.shape == logp.shape and bool((entropy >= 0).all())


def test_packed_equals_per_turn_gpt2_eager_float_mask(tiny_gpt2):
    model = AutoModelForCausalLM.from_pretrained(tiny_gpt2, attn_implementation="eager").eval()
    prompts, completions = bandit_like_episode(7)
    batch = collate(pack_turns(prompts, completions), bool_mask=False)
    with torch.no_grad():
        logp, _, _ = PolicyWithValue(model)(batch)
    torch.testing.assert_close(logp, naive_logprobs(model, prompts, completions), atol=1e-5, rtol=0)


def test_packing_shares_prefix_and_masks():
    prompts = [[1, 2, 9], [1, 2, 3, 9], [1, 2, 3, 4, 9]]
    completions = [[7], [8, 8], []]
    (seq,) = pack_turns(prompts, completions)
    # trunk = the last prompt; branch 0 = [9, 7] after p=2, branch 1 = [9, 8, 8] after p=3
    assert seq.input_ids.tolist() == [1, 2, 3, 4, 9, 9, 7, 9, 8, 8]
    assert seq.position_ids.tolist() == [0, 1, 2, 3, 4, 2, 3, 3, 4, 5]
    assert seq.target_ids.tolist() == [7, 8, 8]
    assert seq.predictor_index.tolist() == [5, 7, 8]
    assert seq.value_index.tolist() == [5, 7, 4]
    allowed = attention_allowed(seq)
    assert allowed[6].nonzero().flatten().tolist() == [0, 1, 5, 6]  # branch 0 sees trunk[:2] + itself
    assert allowed[9].nonzero().flatten().tolist() == [0, 1, 2, 7, 8, 9]


def test_padding_rows_attend_only_to_themselves():
    short = pack_turns([[1, 2]], [[3]])[0]
    long = pack_turns([[1, 2, 3, 4]], [[5, 6]])[0]
    batch = collate([short, long], pad_id=0)
    mask = batch.attention_mask[0, 0]  # (L, L) of the short (padded) row
    assert mask[:3, 3:].sum() == 0  # real tokens never see padding
    assert mask[4].nonzero().flatten().tolist() == [4]  # a padding row sees only itself (no NaN softmax)
    assert batch.input_ids[0].tolist() == [1, 2, 3, 0, 0, 0]


def test_pack_errors():
    with pytest.raises(ValueError, match="prompts but"):
        pack_turns([[1]], [])
    with pytest.raises(ValueError, match="turns_per_sequence"):
        pack_turns([[1]], [[2]], turns_per_sequence=0)
    with pytest.raises(ValueError, match="at least one token"):
        pack_turns([[]], [[2]])
    with pytest.raises(ValueError, match="at least one packed"):
        collate([])


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_gpt2"])
@pytest.mark.parametrize("window", [None, 2])
def test_tree_forward_equals_per_turn_with_gradients(request, fixture, window):
    model = AutoModelForCausalLM.from_pretrained(request.getfixturevalue(fixture)).eval()
    prompts, completions = bandit_like_episode(11, window=window)
    policy = PolicyWithValue(model, with_value_head=True)
    torch.nn.init.normal_(policy.value_head.linear.weight)
    sequences = pack_turns(prompts, completions, turns_per_sequence=4)
    logp, _, values = policy(sequences)
    torch.testing.assert_close(logp.detach(), naive_logprobs(model, prompts, completions), atol=1e-5, rtol=0)
    dense_logp, _, dense_values = policy(collate(sequences))
    torch.testing.assert_close(values.detach(), dense_values.detach(), atol=1e-5, rtol=0)
    # gradients through the shared trunk equal the dense-mask gradients
    grads = torch.autograd.grad(logp.sum() + values.sum(), list(model.parameters()))
    dense = torch.autograd.grad(dense_logp.sum() + dense_values.sum(), list(model.parameters()))
    for g, d in zip(grads, dense, strict=True):
        torch.testing.assert_close(g, d, atol=1e-4, rtol=1e-4)
