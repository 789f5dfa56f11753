"""TextBandit-v0: reward distributions, normalisation, regret, prompt rendering, error paths."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from scipy import stats

import textrl_envs  # noqa: F401  (registers the ids)
from textrl_envs.bandit import TextBanditEnv
from textrl_envs.bandit_text import BUTTON_COLORS, arm_names, format_reward, render_bandit_prompt


def _pull_many(env: TextBanditEnv, answer: str, n: int) -> np.ndarray:
    rewards = np.empty(n)
    for i in range(n):
        _, reward, _, _, info = env.step(answer)
        rewards[i] = info["env_reward"]
        assert reward == pytest.approx(info["env_reward"] / env.reward_scale)
    return rewards


@pytest.mark.parametrize(("noise", "sigma"), [("low", 0.1), ("medium", 1.0), ("high", 3.0)])
def test_gaussian_rewards_mean_and_std(noise, sigma):
    n = 4000
    env = TextBanditEnv(noise=noise, horizon=n, history_window=1)
    _, info = env.reset(seed=11)
    rewards = _pull_many(env, "ACTION=green", n)
    mu = info["arm_means"][1]
    # 5 standard errors: a correct sampler fails with probability ~1e-6.
    assert abs(rewards.mean() - mu) < 5 * sigma / np.sqrt(n)
    assert abs(rewards.std(ddof=1) / sigma - 1) < 5 / np.sqrt(2 * n)
    assert env.reward_scale == max(1.0, sigma)  # the documented normalisation


def test_gaussian_arm_means_are_uniform():
    env = TextBanditEnv(n_arms=10)
    means = np.concatenate([env.reset(seed=s)[1]["arm_means"] for s in range(300)])  # (3000,)
    assert stats.kstest(means, "uniform").pvalue > 1e-4


@pytest.mark.parametrize(("noise", "low", "high"), [("low", 0.25, 0.75), ("high", 0.4, 0.6)])
def test_bernoulli_gaps_and_shuffled_order(noise, low, high):
    k = 5
    env = TextBanditEnv(n_arms=k, distribution="bernoulli", noise=noise, horizon=3000, history_window=1)
    best_positions = []
    for seed in range(500):
        _, info = env.reset(seed=seed)
        np.testing.assert_allclose(np.sort(info["arm_means"]), [low] * (k - 1) + [high])
        best_positions.append(info["optimal_action"])
    counts = np.bincount(best_positions, minlength=k)
    assert stats.chisquare(counts).pvalue > 1e-4  # the good arm's position is uniform
    _, info = env.reset(seed=1)
    best = info["action_names"][info["optimal_action"]]
    rewards = _pull_many(env, f"ACTION={best}", 3000)
    assert set(np.unique(rewards)) <= {0.0, 1.0}
    assert abs(rewards.mean() - high) < 5 * np.sqrt(high * (1 - high) / 3000)


def test_regret_and_penalty_accounting_by_hand():
    env = TextBanditEnv(n_arms=3, noise="high", horizon=6)
    _, info = env.reset(seed=5)
    means = info["arm_means"]
    answers = ["ACTION=red", "ACTION=blue", "nothing", "ACTION=green", "ACTION=purple", "ACTION=blue"]
    total_regret = 0.0
    counts = np.zeros(3, dtype=int)
    sums = np.zeros(3)
    for t, text in enumerate(answers):
        _, reward, terminated, _, info = env.step(text)
        arm = info["action_index"]
        valid = text not in ("nothing", "ACTION=purple")
        if valid:
            assert arm == ["red", "green", "blue"].index(text.split("=")[1])
        assert info["valid_action"] is valid
        assert info["regret"] == pytest.approx(means.max() - means[arm])
        assert reward == pytest.approx(info["env_reward"] / 3.0 + (0.0 if valid else -5.0))
        total_regret += means.max() - means[arm]
        counts[arm] += 1
        sums[arm] += info["env_reward"]
        assert info["step"] == t + 1
        assert terminated is (t == 5)
    np.testing.assert_array_equal(info["counts"], counts)
    np.testing.assert_allclose(info["sums"], sums)
    # Hand computation of the cumulative regret from the executed arms.
    assert total_regret == pytest.approx(sum(means.max() - means[a] for a in np.repeat(np.arange(3), counts)))


def test_custom_reward_scale_and_penalty():
    env = TextBanditEnv(reward_scale=2.0, invalid_action_penalty=-1.0, horizon=2)
    env.reset(seed=0)
    _, reward, *_, info = env.step("ACTION=red")
    assert reward == pytest.approx(info["env_reward"] / 2.0)
    _, reward, *_, info = env.step("?")
    assert reward == pytest.approx(info["env_reward"] / 2.0 - 1.0)


OPTION_SETS = [
    {},
    {"history_window": 3},
    {"history_window": 0, "context_summary": True},
    {"context_summary": True, "prompt_style": "ucb", "cot": False},
    {"distribution": "bernoulli", "noise": "low", "variant": "continuous", "history_window": 4},
    {"variant": "continuous", "n_arms": 12, "prompt_style": "ucb", "context_summary": True},
]


@pytest.mark.parametrize("options", OPTION_SETS)
def test_incremental_rendering_equals_pure_renderer(options):
    env = TextBanditEnv(horizon=12, **options)
    names = env.action_names
    kw = {k: v for k, v in options.items() if k not in ("n_arms", "noise")}
    obs, _ = env.reset(seed=3)
    history: list[tuple[int, float]] = []
    assert obs == render_bandit_prompt(names, history, horizon=12, **kw)
    rng = np.random.default_rng(0)
    for _ in range(12):
        text = f"ACTION={names[rng.integers(len(names))]}" if rng.random() < 0.8 else "hmm"
        obs, _, _, _, info = env.step(text)
        history.append((info["action_index"], info["env_reward"]))
        assert obs == render_bandit_prompt(names, history, horizon=12, **kw)


def test_prompt_texts():
    text = render_bandit_prompt(["red", "green"], [(1, 0.3), (0, -1.244)], horizon=50)
    assert text.startswith(
        "You are a bandit algorithm in a room with 2 buttons labeled red, green. Each button is associated "
        "with a Gaussian distribution with a fixed but unknown mean;"
    )
    assert (
        "So far you have tried/seen:\nStep=0 Action=green Reward=0.3\nStep=1 Action=red Reward=-1.24\n"
        "What do you predict next?\nThink step-by-step" in text
    )
    assert text.endswith("Provide your (SHORT!) thinking process and your answer ACTION=X")
    no_cot = render_bandit_prompt(["red", "green"], [], cot=False)
    assert no_cot.endswith("What do you predict next?\nOutput ONLY your final answer in the format ACTION=X.")
    summary = render_bandit_prompt(
        ["red", "green", "blue"], [(1, 0.5), (1, 1.0), (0, 2.0)], context_summary=True
    )
    assert (
        "Summary (all steps so far):\nred: pressed 1 time, mean reward 2\n"
        "green: pressed 2 times, mean reward 0.75\nblue: not pressed yet\nWhat do you predict next?"
    ) in summary
    ucb = render_bandit_prompt(["red", "green"], [], prompt_style="ucb")
    assert "Your task is to act according to the Upper-Confidence-Bound (UCB) algorithm." in ucb
    assert "<ucb_values>\nred=1.23\ngreen=1.23\n</ucb_values>" in ucb
    assert ucb.index("<ucb_values>") < ucb.index("Think step-by-step")
    continuous = render_bandit_prompt(
        arm_names(3, "continuous"), [(2, 1.0)], variant="continuous", distribution="bernoulli"
    )
    assert "3 arms labeled 0, 1, 2. Each arm is associated with a Bernoulli distribution" in continuous
    assert "Step=0 Action=2 Reward=1" in continuous
    window = render_bandit_prompt(["red", "green"], [(0, 0.1), (1, 0.2), (0, 0.3)], history_window=2)
    assert "Step=0" not in window and "Step=1 Action=green Reward=0.2\nStep=2 Action=red Reward=0.3" in window


@pytest.mark.parametrize(
    ("reward", "distribution", "text"),
    [
        (0.3, "gaussian", "0.3"),
        (-1.244, "gaussian", "-1.24"),
        (2.0, "gaussian", "2"),
        (-0.001, "gaussian", "0"),
        (0.125, "gaussian", "0.12"),
        (1.0, "bernoulli", "1"),
        (0.0, "bernoulli", "0"),
    ],
)
def test_format_reward(reward, distribution, text):
    assert format_reward(reward, distribution) == text


def test_arm_names():
    assert arm_names(5) == ["red", "green", "blue", "yellow", "orange"]
    assert len(set(BUTTON_COLORS)) == 20
    assert arm_names(3, "continuous") == ["0", "1", "2"]


def test_window_keeps_observation_bounded():
    env = TextBanditEnv(horizon=400, history_window=10)
    env.reset(seed=0)
    lengths = [len(env.step("ACTION=red")[0]) for _ in range(400)]
    assert max(lengths[100:]) - min(lengths[100:]) <= 10 * 8  # only the numbers' widths vary
    assert max(lengths) <= env.observation_space.max_length


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"distribution": "poisson"}, ValueError, r"distribution must be one of \['gaussian', 'bernoulli'\]"),
        (
            {"distribution": "bernoulli", "noise": "medium"},
            ValueError,
            r"noise must be one of \['low', 'high'\]",
        ),
        ({"noise": "extreme"}, ValueError, r"noise must be one of \['low', 'medium', 'high'\]"),
        ({"variant": "slider"}, ValueError, r"variant must be one of \['button', 'continuous'\]"),
        ({"prompt_style": "cot"}, ValueError, r"prompt_style must be one of \['default', 'ucb'\]"),
        ({"n_arms": 21}, ValueError, r"n_arms must be an integer in \[2, 20\], got 21"),
        ({"n_arms": 1}, ValueError, r"n_arms must be an integer in \[2, 20\]"),
        ({"n_arms": "5"}, TypeError, "n_arms must be an int, got str"),
        ({"horizon": 0}, ValueError, "horizon must be an integer >= 1"),
        ({"reward_scale": 0.0}, ValueError, "reward_scale must be > 0"),
        ({"reward_scale": float("nan")}, ValueError, "reward_scale must be finite"),
        ({"context_summary": 1}, TypeError, "context_summary must be a bool"),
    ],
)
def test_bad_kwargs(kwargs, error, match):
    with pytest.raises(error, match=match):
        gym.make("TextBandit-v0", **kwargs)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: render_bandit_prompt(["a", "b"], [], distribution="x"), "distribution must be one of"),
        (lambda: render_bandit_prompt(["a", "b"], [], variant="x"), "variant must be one of"),
        (lambda: render_bandit_prompt(["a", "b"], [], prompt_style="x"), "prompt_style must be one of"),
        (
            lambda: render_bandit_prompt(["a", "b"], [], history_window=-2),
            "history_window must be None or >= 1",
        ),
        (
            lambda: render_bandit_prompt(["a", "b"], [(2, 1.0)]),
            r"history\[0\] has action index 2, allowed 0..1",
        ),
        (lambda: arm_names(21), "the button variant supports 1 to 20 arms"),
        (lambda: arm_names(0, "continuous"), "n_arms must be >= 1"),
        (lambda: arm_names(3, "dial"), "variant must be one of"),
    ],
)
def test_renderer_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
