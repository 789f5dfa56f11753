"""Chunked token log-probs: the same values, entropies and gradients as the plain full-logits path."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agents.rlft.logprobs import token_logprobs


def reference(hidden, head, targets, cap):
    """The plain computation, written out: full logits, optional soft cap, log-softmax, gather."""
    logits = hidden @ head.weight.t() + (head.bias if head.bias is not None else 0)
    if cap:
        logits = cap * torch.tanh(logits / cap)
    logp_all = torch.log_softmax(logits, -1)
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp_all[torch.arange(len(targets)), targets], entropy


@pytest.mark.parametrize("cap", [None, 3.0])
@pytest.mark.parametrize("bias", [False, True])
def test_chunked_equals_plain_with_gradients(cap, bias):
    torch.manual_seed(0)
    head = nn.Linear(8, 50, bias=bias).double()
    hidden = torch.randn(10, 8, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 50, (10,))
    weights = torch.randn(10, dtype=torch.float64)  # an arbitrary upstream gradient

    want_logp, want_entropy = reference(hidden, head, targets, cap)
    (want_logp * weights).sum().backward()
    want = [hidden.grad.clone(), head.weight.grad.clone()] + ([head.bias.grad.clone()] if bias else [])
    hidden.grad = None
    head.zero_grad(set_to_none=True)

    # max_elements=0 forces the chunked autograd function; chunk=3 leaves a short last chunk
    logp, entropy = token_logprobs(head, hidden, targets, cap=cap, need_entropy=True, chunk=3, max_elements=0)
    (logp * weights).sum().backward()
    got = [hidden.grad, head.weight.grad] + ([head.bias.grad] if bias else [])
    torch.testing.assert_close(logp.double(), want_logp, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(entropy.double(), want_entropy.detach(), atol=1e-6, rtol=1e-6)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, atol=1e-6, rtol=1e-6)
    assert not entropy.requires_grad


def test_without_gradients_the_chunked_path_matches_and_skips_entropy():
    torch.manual_seed(1)
    head = nn.Linear(8, 50, bias=False)
    hidden, targets = torch.randn(7, 8), torch.randint(0, 50, (7,))
    with torch.no_grad():
        logp, entropy = token_logprobs(head, hidden, targets, chunk=2)
        want, _ = reference(hidden, head, targets, None)
    assert entropy is None
    torch.testing.assert_close(logp, want, atol=1e-5, rtol=1e-5)


def test_a_wrapped_head_uses_its_own_forward():
    """A head that is not a plain Linear (e.g. a LoRA wrapper) is called, never bypassed."""
    calls = []

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(4, 6, bias=False)

        def forward(self, x):
            calls.append(x.shape)
            return self.inner(x) * 2

    head = Wrapped()
    hidden, targets = torch.randn(3, 4), torch.tensor([0, 5, 2])
    logp, _ = token_logprobs(head, hidden, targets, max_elements=0)
    assert calls == [(3, 4)]
    want = torch.log_softmax(head.inner(hidden) * 2, -1)[torch.arange(3), targets]
    torch.testing.assert_close(logp, want)
