"""GAE / Monte Carlo returns and the per-step baselines against hand-written loops."""

from __future__ import annotations

import pytest
import torch

from agents.rlft.advantages import gae, rewards_to_go, step_baseline_advantages, step_indices, whiten

REWARDS = [1.0, -0.5, 2.0, 0.0, 3.0, -1.0, 0.5]
VALUES = [0.2, 0.1, -0.3, 0.4, 0.0, 0.6, -0.2]
# three episodes: turns 0-2, 3-4, 5-6
DONES = [False, False, True, False, True, False, True]


def loop_gae(rewards, values, dones, gamma, lam):
    """Independent reference: per episode, deltas then a backwards discounted sum."""
    adv = [0.0] * len(rewards)
    start = 0
    for end in [i for i, d in enumerate(dones) if d]:
        ep = range(start, end + 1)
        deltas = {}
        for t in ep:
            next_v = values[t + 1] if t < end else 0.0
            deltas[t] = rewards[t] + gamma * next_v - values[t]
        for t in ep:
            adv[t] = sum((gamma * lam) ** (k - t) * deltas[k] for k in range(t, end + 1))
        start = end + 1
    return adv


@pytest.mark.parametrize("gamma", [1.0, 0.9, 0.0])
@pytest.mark.parametrize("lam", [1.0, 0.95, 0.5, 0.0])
def test_gae_matches_loop(gamma, lam):
    r, v, d = (
        torch.tensor(REWARDS, dtype=torch.float64),
        torch.tensor(VALUES, dtype=torch.float64),
        torch.tensor(DONES),
    )
    adv, ret = gae(r, v, d, gamma=gamma, lam=lam)
    expected = torch.tensor(loop_gae(REWARDS, VALUES, DONES, gamma, lam), dtype=torch.float64)
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(ret, expected + v)


def test_monte_carlo_returns_by_hand():
    r = torch.tensor(REWARDS, dtype=torch.float64)
    d = torch.tensor(DONES)
    # gamma 0.5, episode boundaries reset the sum: computed by hand
    expected = [1 - 0.25 + 0.5, -0.5 + 1.0, 2.0, 0.0 + 1.5, 3.0, -1.0 + 0.25, 0.5]
    torch.testing.assert_close(rewards_to_go(r, d, gamma=0.5), torch.tensor(expected, dtype=torch.float64))
    # lam = 1 with zero values is Monte Carlo
    torch.testing.assert_close(
        gae(r, torch.zeros_like(r), d, gamma=0.5, lam=1.0)[0], rewards_to_go(r, d, 0.5)
    )


def test_step_indices_and_baselines():
    d = torch.tensor([False, True, False, True, False, True])  # three 2-step episodes
    steps = step_indices(d)
    assert steps.tolist() == [0, 1, 0, 1, 0, 1]
    ret = torch.tensor([3.0, 1.0, 5.0, 2.0, 1.0, 3.0], dtype=torch.float64)
    # step 0 group {3, 5, 1}: mean 3; step 1 group {1, 2, 3}: mean 2
    torch.testing.assert_close(
        step_baseline_advantages(ret, steps, "mc"), torch.tensor([0.0, -1, 2, 0, -2, 1], dtype=torch.float64)
    )
    # leave-one-out: 3 - (5+1)/2 = 0, 5 - 2 = 3, 1 - 4 = -3; 1 - 2.5, 2 - 2, 3 - 1.5
    torch.testing.assert_close(
        step_baseline_advantages(ret, steps, "loo"),
        torch.tensor([0.0, -1.5, 3, 0, -3, 1.5], dtype=torch.float64),
    )
    std0 = (8 / 3) ** 0.5  # population std of {3, 5, 1}
    std1 = (2 / 3) ** 0.5
    grpo = step_baseline_advantages(ret, steps, "grpo", eps=0.0)
    expected = torch.tensor([0, -1 / std1, 2 / std0, 0, -2 / std0, 1 / std1], dtype=torch.float64)
    torch.testing.assert_close(grpo, expected)


def test_group_baselines_compare_episodes_of_the_same_group_only():
    # four 2-step episodes, two groups (e.g. two environment seeds, each played twice)
    d = torch.tensor([False, True] * 4)
    steps = step_indices(d)
    groups = torch.tensor([7, 7, 7, 7, 9, 9, 9, 9])
    ret = torch.tensor([3.0, 1.0, 5.0, 2.0, 10.0, 0.0, 20.0, 4.0], dtype=torch.float64)
    # group 7: step 0 {3, 5} mean 4, step 1 {1, 2} mean 1.5; group 9: step 0 {10, 20} mean 15, step 1 {0, 4}
    torch.testing.assert_close(
        step_baseline_advantages(ret, steps, "mc", groups=groups),
        torch.tensor([-1.0, -0.5, 1, 0.5, -5, -2, 5, 2], dtype=torch.float64),
    )
    # one group for all is the plain per-step baseline
    torch.testing.assert_close(
        step_baseline_advantages(ret, steps, "loo", groups=torch.zeros(8, dtype=torch.long)),
        step_baseline_advantages(ret, steps, "loo"),
    )
    with pytest.raises(ValueError, match="groups must be a 1-D tensor of length 8"):
        step_baseline_advantages(ret, steps, "mc", groups=torch.zeros(3, dtype=torch.long))


def test_loo_single_episode_gives_zero():
    adv = step_baseline_advantages(torch.tensor([4.0]), torch.tensor([0]), "loo")
    assert adv.tolist() == [0.0]


def test_whiten():
    x = torch.tensor([1.0, 2.0, 3.0, 6.0])
    w = whiten(x)
    assert abs(float(w.mean())) < 1e-6 and abs(float(w.std(unbiased=False)) - 1) < 1e-6
    torch.testing.assert_close(whiten(x, shift_mean=False), x / x.std(unbiased=False))


def test_errors():
    r = torch.zeros(3)
    with pytest.raises(ValueError, match="gamma must be in"):
        gae(r, r, torch.tensor([False, False, True]), gamma=1.5)
    with pytest.raises(ValueError, match="lam must be in"):
        gae(r, r, torch.tensor([False, False, True]), lam=-0.1)
    with pytest.raises(ValueError, match="dones\\[-1\\] must be True"):
        gae(r, r, torch.tensor([False, False, False]))
    with pytest.raises(ValueError, match="values must be a 1-D tensor of length 3"):
        gae(r, torch.zeros(2), torch.tensor([False, False, True]))
    with pytest.raises(ValueError, match="baseline must be one of"):
        step_baseline_advantages(r, torch.zeros(3, dtype=torch.long), "mean")
