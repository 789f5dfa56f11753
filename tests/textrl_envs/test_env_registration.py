"""Every registered id: check_env, seeded determinism, vector envs, common error paths."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence

import textrl_envs

# (id, kwargs, a valid answer); small horizons keep the suite fast.
CASES = [
    ("TextBandit-v0", {}, "ACTION=red"),
    ("TextBandit-v0", {"distribution": "bernoulli", "noise": "high", "variant": "continuous",
                       "context_summary": True, "prompt_style": "ucb", "history_window": 3}, "ACTION=3"),
    ("TextContextualBandit-v0", {"n_arms": 5}, "ACTION=fargo_(1996)"),
    ("TextTicTacToe-v0", {}, "ACTION=4"),
    ("TextTicTacToe-v0", {"opponent": "mcts", "agent_first": False, "show_legal_actions": False}, "ACTION=0"),
    ("TextTicTacToe-v0", {"opponent": "noisy-mcts", "cot": False}, "ACTION=8"),
    ("TextTicTacToe-v0", {"opponent": "minimax"}, "ACTION=4"),
]  # fmt: skip


def test_all_ids_registered():
    assert set(textrl_envs.ENV_IDS) <= set(gym.registry)
    env = gym.make("textrl_envs:TextBandit-v0")  # the module-qualified form works too
    assert env.unwrapped.n_arms == 10


# the defaults written out by hand from each class's documented Arguments table
DOCUMENTED_DEFAULTS = {
    "TextBandit-v0": {
        "n_arms": 10, "distribution": "gaussian", "noise": "medium", "variant": "button", "horizon": 50,
        "history_window": None, "cot": True, "prompt_style": "default", "context_summary": False,
        "randomize_labels": False,
        "reward_scale": None, "invalid_action_penalty": -5.0,
    },
    "TextContextualBandit-v0": {
        "n_arms": 10, "rank": 5, "horizon": 50, "history_window": None, "cot": True, "data_dir": None,
        "n_users": 943, "data_seed": 0, "reward_noise": 0.0, "invalid_action_penalty": -5.0,
    },
    "TextTicTacToe-v0": {
        "opponent": "random", "show_legal_actions": True, "agent_first": True, "cot": True,
        "history_window": None, "mcts_simulations": 500, "invalid_action_penalty": -5.0,
    },
}  # fmt: skip


@pytest.mark.parametrize("env_id", textrl_envs.ENV_IDS)
def test_spec_kwargs_list_every_keyword_with_its_default(env_id):
    """Issue 15: ``gym.spec(id).kwargs`` was ``{}``; it now shows the options and their defaults."""
    assert gym.spec(env_id).kwargs == DOCUMENTED_DEFAULTS[env_id]
    env = gym.make(env_id, render_mode="ansi")  # render_mode still goes through gym.make's own path
    assert env.render_mode == "ansi"


def test_env_settings_resolves_defaults_and_overrides():
    settings = textrl_envs.env_settings("textrl_envs:TextBandit-v0", {"horizon": 10, "noise": "low"})
    assert settings == {**DOCUMENTED_DEFAULTS["TextBandit-v0"], "horizon": 10, "noise": "low"}
    assert textrl_envs.env_settings("Custom-v9", {"a": 1}) == {"a": 1}  # unknown id: only what was given


@pytest.mark.parametrize(("env_id", "kwargs", "answer"), CASES)
def test_check_env(env_id, kwargs, answer, recwarn):
    env = gym.make(env_id, **kwargs)
    check_env(env.unwrapped)
    messages = [str(w.message) for w in recwarn if "WARN" in str(w.message)]
    assert not messages, messages


@pytest.mark.parametrize(("env_id", "kwargs", "answer"), CASES)
def test_seeded_rollouts_are_identical(env_id, kwargs, answer):
    """Two envs, same seed, same answers (valid and invalid mixed): identical transitions."""
    envs = [gym.make(env_id, **kwargs) for _ in range(2)]
    outs = [env.reset(seed=7) for env in envs]
    assert data_equivalence(outs[0], outs[1], exact=True)
    answers = [answer, "no idea", f"**{answer}**", "ACTION=purple"] * 3
    for text in answers:
        outs = [env.step(text) for env in envs]
        assert data_equivalence(outs[0], outs[1], exact=True)
        if outs[0][2]:
            outs = [env.reset() for env in envs]  # unseeded reset continues the seeded stream
            assert data_equivalence(outs[0], outs[1], exact=True)
    # A different seed gives a different episode (hidden state differs even if the prompt does not).
    if env_id != "TextTicTacToe-v0" or kwargs.get("agent_first") is False:
        assert not data_equivalence(envs[0].reset(seed=7), envs[0].reset(seed=8))


@pytest.mark.parametrize(("env_id", "kwargs", "answer"), CASES[:1] + CASES[2:4])
@pytest.mark.parametrize("vector_kind", ["sync", "async"])
def test_vector_envs_match_single_envs(env_id, kwargs, answer, vector_kind):
    """Sync and Async vector envs (NEXT_STEP autoreset by default) reproduce single-env steps.

    Async needs shared_memory=False: Gymnasium 1.4 decodes Text shared memory only once.
    """
    kw = dict(kwargs) | ({"horizon": 4} if "Bandit" in env_id else {})
    fns = [lambda: gym.make(env_id, **kw) for _ in range(2)]
    if vector_kind == "sync":
        vec = gym.vector.SyncVectorEnv(fns)
    else:
        vec = gym.vector.AsyncVectorEnv(fns, shared_memory=False)
    try:
        singles = [gym.make(env_id, **kw) for _ in range(2)]
        obs, _ = vec.reset(seed=[3, 4])
        assert list(obs) == [singles[0].reset(seed=3)[0], singles[1].reset(seed=4)[0]]
        for _ in range(2):
            obs, rewards, terminated, _, _ = vec.step([answer, "junk"])
            expected = [singles[0].step(answer), singles[1].step("junk")]
            assert list(obs) == [e[0] for e in expected]
            np.testing.assert_allclose(rewards, [e[1] for e in expected])
    finally:
        vec.close()


@pytest.mark.parametrize(("env_id", "kwargs", "answer"), CASES)
def test_render_ansi_returns_observation(env_id, kwargs, answer):
    env = gym.make(env_id, render_mode="ansi", **kwargs)
    obs, _ = env.reset(seed=0)
    assert env.render() == obs
    obs, *_ = env.step(answer)
    assert env.render() == obs
    plain = gym.make(env_id, **kwargs)
    plain.reset(seed=0)
    assert plain.render() is None


@pytest.mark.parametrize("env_id", textrl_envs.ENV_IDS)
def test_step_errors(env_id):
    env = gym.make(env_id).unwrapped
    with pytest.raises(RuntimeError, match="call reset"):
        env.step("ACTION=1")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="expects the agent's answer as a str, got int"):
        env.step(3)
    with pytest.raises(TypeError, match="got list"):
        env.step(["ACTION=1"])
    terminated = False
    while not terminated:
        _, _, terminated, truncated, _ = env.step("junk")
        assert not truncated
    with pytest.raises(RuntimeError, match="episode ended; call reset"):
        env.step("ACTION=1")


@pytest.mark.filterwarnings("ignore:.*render_mode:UserWarning")
@pytest.mark.parametrize("env_id", textrl_envs.ENV_IDS)
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"render_mode": "human"}, ValueError, r"render_mode must be one of \[None, 'ansi'\]"),
        ({"invalid_action_penalty": 1.0}, ValueError, "invalid_action_penalty must be <= 0"),
        ({"invalid_action_penalty": "big"}, TypeError, "invalid_action_penalty must be a number"),
        ({"history_window": -1}, ValueError, r"history_window must be an integer >= 1"),
        # issue 15: 0 was accepted and showed a prompt without any history
        ({"history_window": 0}, ValueError, r"history_window must be an integer >= 1, got 0"),
        ({"cot": "yes"}, TypeError, "cot must be a bool"),
    ],
)
def test_common_bad_kwargs(env_id, kwargs, error, match):
    with pytest.raises(error, match=match):
        gym.make(env_id, **kwargs)


def test_no_torch_import():
    import subprocess
    import sys

    code = "import sys, textrl_envs, gymnasium as g; g.make('TextBandit-v0'); print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(__import__("pathlib").Path(textrl_envs.__file__).parents[1]),
    )
    assert out.stdout.strip() == "False"
