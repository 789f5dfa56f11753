"""The evaluation harness on the real environments: log schema, seeding rule, replay, errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import textrl_envs  # noqa: F401  (registers the ids)
from agents.evaluation import evaluate
from agents.protocol import TextAgent
from agents.registry import make_agent

COLUMNS = [
    "agent",
    "env_id",
    "seed",
    "episode",
    "step",
    "action_text",
    "action_index",
    "valid_action",
    "reward",
    "env_reward",
    "regret",
    "optimal_action",
    "n_actions",
    "terminated",
]
SMALL = {"n_arms": 3, "horizon": 5}


def small_run(agent="ucb", seed=0, **kwargs):
    return evaluate(
        "TextBandit-v0",
        make_agent(agent, seed=seed),
        num_envs=4,
        seeds=[0, 1],
        env_kwargs=SMALL,
        progress=False,
        **kwargs,
    )


def test_bandit_log_schema_and_row_counts():
    steps = small_run()
    assert list(steps.columns) == COLUMNS
    expected = {
        "agent": str,
        "env_id": str,
        "action_text": str,
        "valid_action": bool,
        "terminated": bool,
        "seed": np.int64,
        "episode": np.int64,
        "step": np.int64,
        "action_index": np.int64,
        "optimal_action": np.int64,
        "n_actions": np.int64,
        "reward": np.float64,
        "env_reward": np.float64,
        "regret": np.float64,
    }
    # str: pandas' default text dtype (object in pandas 2)
    assert {c: steps[c].dtype for c in COLUMNS} == {
        c: pd.Series([], dtype=t).dtype for c, t in expected.items()
    }
    assert len(steps) == 2 * 4 * 5
    assert set(steps.agent) == {"ucb"} and set(steps.env_id) == {"TextBandit-v0"}
    assert sorted(steps.groupby(["seed", "episode"]).size().index) == [
        (s, e) for s in (0, 1) for e in range(4)
    ]
    for _, episode in steps.groupby(["seed", "episode"]):
        assert episode.step.tolist() == [0, 1, 2, 3, 4]
        assert episode.terminated.tolist() == [False, False, False, False, True]
    assert (steps.n_actions == 3).all() and steps.valid_action.all()
    # UCB tries the three arms first, in order
    assert (steps[steps.step < 3].action_index == steps[steps.step < 3].step).all()


def test_seeding_rule_and_replay_match_a_fresh_env():
    steps = small_run()
    for (seed, episode), rows in steps.groupby(["seed", "episode"]):
        env = gym.make("TextBandit-v0", **SMALL)
        _, info = env.reset(seed=int(seed) * 100_000 + int(episode))  # the documented rule
        means = info["arm_means"]
        for row in rows.itertuples():
            _, reward, terminated, _, info = env.step(row.action_text)
            assert info["action_index"] == row.action_index
            assert reward == row.reward and info["env_reward"] == row.env_reward
            assert row.regret == pytest.approx(means.max() - means[row.action_index])
            assert row.optimal_action == int(np.argmax(means)) and terminated == row.terminated


def test_same_seeds_same_log_other_agent_seed_other_log():
    pd.testing.assert_frame_equal(small_run("random", seed=3), small_run("random", seed=3))
    assert not small_run("random", seed=3).action_index.equals(small_run("random", seed=4).action_index)
    # the env side does not depend on the agent: same arm means -> same optimal actions
    assert small_run("random", seed=3).optimal_action.equals(small_run("ucb").optimal_action)


def test_agent_name_override():
    assert set(small_run(agent_name="mine").agent) == {"mine"}


def test_tictactoe_games_drop_out_when_finished():
    steps = evaluate(
        "TextTicTacToe-v0",
        make_agent("minimax", seed=0),
        num_envs=6,
        seeds=[0],
        env_kwargs={"opponent": "random"},
        progress=False,
    )
    assert list(steps.columns) == COLUMNS + ["illegal_move", "outcome"]
    assert steps.illegal_move.dtype == bool and steps.outcome.dtype == pd.Series([], dtype=str).dtype
    lengths = steps.groupby("episode").size()
    assert set(lengths.index) == set(range(6)) and lengths.between(3, 5).all()
    for _, game in steps.groupby("episode"):
        assert game.step.tolist() == list(range(len(game)))
        assert game.terminated.tolist() == [False] * (len(game) - 1) + [True]
        assert game.outcome.tolist()[:-1] == [""] * (len(game) - 1)
        assert game.outcome.iloc[-1] in ("win", "draw")  # minimax never loses
    assert not steps.illegal_move.any()


class _Recorder(TextAgent):
    """Answers the first arm and records the env ids it is asked about."""

    def __init__(self):
        self.calls = []

    def act(self, observations, infos, env_ids):
        self.calls.append(list(env_ids))
        return [f"ACTION={info['action_names'][0]}" for info in infos]


def test_any_protocol_agent_and_env_ids():
    agent = _Recorder()
    steps = evaluate("TextBandit-v0", agent, num_envs=3, seeds=[0], env_kwargs=SMALL, progress=False)
    assert agent.calls == [[0, 1, 2]] * 5
    assert set(steps.agent) == {"agent"}  # TextAgent.name


def test_progress_bar_counts_decisions(capsys):
    evaluate("TextBandit-v0", make_agent("random", seed=0), num_envs=2, seeds=[0], env_kwargs=SMALL)
    err = capsys.readouterr().err
    assert "10/10" in err and "decision" in err


class _Bad(TextAgent):
    def __init__(self, answer):
        self.answer = answer

    def act(self, observations, infos, env_ids):
        return self.answer(len(env_ids))


def test_errors():
    agent = make_agent("random", seed=0)
    with pytest.raises(
        ValueError, match="unknown environment 'Nope-v0'; allowed environments: TextBandit-v0"
    ):
        evaluate("Nope-v0", agent, num_envs=1, seeds=[0])
    with pytest.raises(ValueError, match=r"num_envs must be in \[1, 100000\]"):
        evaluate("TextBandit-v0", agent, num_envs=0, seeds=[0])
    with pytest.raises(TypeError, match="num_envs must be an int"):
        evaluate("TextBandit-v0", agent, num_envs=2.0, seeds=[0])
    with pytest.raises(ValueError, match="seeds must not be empty"):
        evaluate("TextBandit-v0", agent, num_envs=1, seeds=[])
    with pytest.raises(ValueError, match="seeds must be non-negative ints"):
        evaluate("TextBandit-v0", agent, num_envs=1, seeds=[-1])
    with pytest.raises(ValueError, match="seeds must be distinct"):
        evaluate("TextBandit-v0", agent, num_envs=1, seeds=[1, 1])
    with pytest.raises(TypeError, match="seeds must be a sequence of ints"):
        evaluate("TextBandit-v0", agent, num_envs=1, seeds=0)
    with pytest.raises(TypeError, match="env_kwargs must be a dict"):
        evaluate("TextBandit-v0", agent, num_envs=1, seeds=[0], env_kwargs=["noise"])
    with pytest.raises(TypeError, match="agent must have reset, act and observe"):
        evaluate("TextBandit-v0", object(), num_envs=1, seeds=[0])
    with pytest.raises(ValueError, match="agent.act returned 1 answers for 2 active environments"):
        evaluate("TextBandit-v0", _Bad(lambda n: ["ACTION=red"]), num_envs=2, seeds=[0], progress=False)
    with pytest.raises(TypeError, match="agent.act must return a list of str"):
        evaluate("TextBandit-v0", _Bad(lambda n: [0] * n), num_envs=2, seeds=[0], progress=False)


class _FirstLegal(TextAgent):
    """Plays the lowest empty cell; records which slots it was asked about."""

    def __init__(self):
        self.calls = []

    def act(self, observations, infos, env_ids):
        self.calls.append(list(env_ids))
        return [f"ACTION={info['legal_actions'][0]}" for info in infos]


def test_tictactoe_env_ids_shrink_to_the_unfinished_games():
    agent = _FirstLegal()
    steps = evaluate("TextTicTacToe-v0", agent, num_envs=5, seeds=[2], progress=False)
    assert agent.calls[0] == [0, 1, 2, 3, 4]
    for before, after in zip(agent.calls, agent.calls[1:], strict=False):
        assert set(after) <= set(before) and after == sorted(after)
    lengths = steps.groupby("episode").size()
    # slot i is asked exactly as many times as its game has rows
    assert [sum(i in call for call in agent.calls) for i in range(5)] == lengths.tolist()
