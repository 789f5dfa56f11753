"""TextBandit-v0 with ``randomize_labels`` (the paper's context randomisation)."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from textrl_envs.bandit import TextBanditEnv
from textrl_envs.bandit_text import render_bandit_prompt


def _shown_history(pulls, labels, names):
    """(index of the label each past arm is shown with now, reward): the prompt's history today."""
    return [(names.index(labels[arm]), reward) for arm, reward in pulls]


@pytest.mark.parametrize(
    "kwargs", [{}, {"context_summary": True}, {"history_window": 3}, {"variant": "continuous"}]
)
def test_observation_is_the_history_relabelled_with_todays_labels(kwargs):
    env = TextBanditEnv(n_arms=5, horizon=8, randomize_labels=True, **kwargs)
    names = list(env.action_names)
    obs, info = env.reset(seed=3)
    pulls = []
    for t in range(8):
        labels = info["action_names"]
        assert sorted(labels) == sorted(names)  # a permutation of the same labels
        expected = render_bandit_prompt(names, _shown_history(pulls, labels, names), horizon=8, **kwargs)
        assert obs == expected
        arm = (3 * t) % 5
        obs, _, _, _, info = env.step(f"I pick this one. ACTION={labels[arm]}")
        pulls.append((info["action_index"], info["env_reward"]))


def test_answers_are_read_with_the_labels_of_their_observation_and_accounted_by_arm():
    env = TextBanditEnv(n_arms=10, horizon=40, randomize_labels=True)
    _, info = env.reset(seed=0)
    means = info["arm_means"]
    label_of_arm_2 = set()
    for t in range(40):
        label = info["action_names"][2]
        label_of_arm_2.add(label)
        _, _, _, _, info = env.step(f"ACTION={label}")
        assert info["action_index"] == 2 and info["valid_action"]
        assert info["regret"] == pytest.approx(means.max() - means[2])
        assert info["counts"][2] == t + 1 and info["counts"].sum() == t + 1
    # the label moves: a fixed label over 40 draws has probability 10^-39
    assert len(label_of_arm_2) > 1


def test_arm_means_are_those_of_the_plain_env_on_the_same_seed():
    for seed in range(5):
        plain = TextBanditEnv(n_arms=6).reset(seed=seed)[1]
        shuffled = TextBanditEnv(n_arms=6, randomize_labels=True).reset(seed=seed)[1]
        np.testing.assert_array_equal(plain["arm_means"], shuffled["arm_means"])
        assert plain["optimal_action"] == shuffled["optimal_action"]


def test_each_label_lands_on_each_arm_about_equally_often():
    env = TextBanditEnv(n_arms=4, horizon=2000, randomize_labels=True, history_window=1)
    _, info = env.reset(seed=1)
    hits = np.zeros((4, 4))  # (arm, label index)
    for _ in range(2000):
        for arm, label in enumerate(info["action_names"]):
            hits[arm, env.action_names.index(label)] += 1
        _, _, _, _, info = env.step("ACTION=red")
    # each cell ~ Binomial(2000, 1/4): mean 500, sd 19.4; 6 sd is never reached by a fair shuffle
    assert np.abs(hits - 500).max() < 6 * np.sqrt(2000 * 0.25 * 0.75)


def test_off_by_default_and_env_checker_passes():
    plain = TextBanditEnv(n_arms=5)
    _, info = plain.reset(seed=0)
    assert info["action_names"] == plain.action_names
    check_env(TextBanditEnv(n_arms=5, horizon=5, randomize_labels=True), skip_render_check=True)


def test_randomize_labels_must_be_a_bool():
    with pytest.raises(TypeError, match="randomize_labels must be a bool"):
        TextBanditEnv(randomize_labels="yes")
