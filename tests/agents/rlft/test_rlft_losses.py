"""Clipped surrogate, the three KL estimators, masking and the value loss against hand-computed tensors."""

from __future__ import annotations

import math

import pytest
import torch

from agents.rlft.losses import clipped_surrogate, entropy_from_logits, kl_penalty, masked_mean, value_loss


def test_clipped_surrogate_by_hand():
    old = torch.zeros(4)
    logp = torch.log(torch.tensor([1.5, 0.5, 1.1, 0.7]))  # ratios 1.5, 0.5, 1.1, 0.7
    adv = torch.tensor([2.0, 2.0, -1.0, -1.0])
    loss, clipped, approx = clipped_surrogate(logp, old, adv, clip_eps=0.2)
    # A>0: min(1.5*2, 1.2*2) = 2.4 -> loss -2.4 (clipped); min(0.5*2, 0.8*2) = 1.0 -> -1.0 (not clipped)
    # A<0: min(-1.1, -1.1) = -1.1 -> 1.1; min(-0.7, -0.8) = -0.8 -> 0.8 (clipped)
    torch.testing.assert_close(loss, torch.tensor([-2.4, -1.0, 1.1, 0.8]))
    assert clipped.tolist() == [1.0, 0.0, 0.0, 1.0]
    r = torch.tensor([1.5, 0.5, 1.1, 0.7])
    torch.testing.assert_close(approx, (r - 1) - torch.log(r))


def test_kl_estimators_by_hand():
    logp = torch.tensor([math.log(0.5), math.log(0.2)])
    ref = torch.tensor([math.log(0.25), math.log(0.4)])
    log_r = [math.log(0.25 / 0.5), math.log(0.4 / 0.2)]  # log(ref / pi)
    torch.testing.assert_close(kl_penalty(logp, ref, "k1"), torch.tensor([-log_r[0], -log_r[1]]))
    torch.testing.assert_close(
        kl_penalty(logp, ref, "k2"), torch.tensor([0.5 * log_r[0] ** 2, 0.5 * log_r[1] ** 2])
    )
    torch.testing.assert_close(
        kl_penalty(logp, ref, "k3"), torch.tensor([0.5 - log_r[0] - 1, 2.0 - log_r[1] - 1])
    )
    assert bool((kl_penalty(logp, ref, "k3") >= 0).all())
    assert kl_penalty(logp, logp, "k3").abs().max() == 0


def test_k3_is_unbiased_for_true_kl():
    torch.manual_seed(0)
    p = torch.tensor([0.6, 0.3, 0.1])
    q = torch.tensor([0.2, 0.5, 0.3])
    true_kl = float((p * (p / q).log()).sum())
    tokens = torch.multinomial(p, 200_000, replacement=True)
    est = kl_penalty(p.log()[tokens], q.log()[tokens], "k3").mean()
    assert abs(float(est) - true_kl) < 0.01


def test_masked_mean_ignores_padding_even_when_inf():
    values = torch.tensor([[1.0, 3.0, float("inf")], [2.0, float("nan"), -5.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert float(masked_mean(values, mask)) == pytest.approx(2.0)
    assert float(masked_mean(values, torch.zeros_like(mask))) == 0.0
    # KL at padding positions (garbage log-probs) never moves the masked KL
    logp = torch.tensor([-1.0, -2.0, 0.0])
    ref = torch.tensor([-1.5, -2.0, -50.0])
    kl = kl_penalty(logp, ref, "k1")
    assert float(masked_mean(kl, torch.tensor([1, 1, 0]))) == pytest.approx(0.25)


def test_value_loss_by_hand():
    values = torch.tensor([1.0, 0.0])
    old = torch.tensor([0.5, 0.5])
    ret = torch.tensor([2.0, 1.0])
    loss, clipped = value_loss(values, old, ret, clip_eps=0.2)
    # v=1: clip -> 0.7; max((1-2)^2, (0.7-2)^2) = 1.69; v=0: clip -> 0.3; max(1, 0.49) = 1
    torch.testing.assert_close(loss, torch.tensor([0.5 * 1.69, 0.5]))
    assert clipped.tolist() == [1.0, 0.0]
    torch.testing.assert_close(value_loss(values, old, ret, clip_eps=None)[0], torch.tensor([0.5, 0.5]))


def test_entropy_from_logits():
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    assert float(entropy_from_logits(logits)[0]) == pytest.approx(
        -(0.5 * math.log(0.5) + 0.5 * math.log(0.25))
    )


def test_errors():
    with pytest.raises(ValueError, match="kl estimator must be one of"):
        kl_penalty(torch.zeros(1), torch.zeros(1), "k4")
    with pytest.raises(ValueError, match="values shape"):
        masked_mean(torch.zeros(2), torch.ones(3))
    with pytest.raises(ValueError, match="clip_eps must be > 0"):
        clipped_surrogate(torch.zeros(1), torch.zeros(1), torch.zeros(1), clip_eps=0.0)
