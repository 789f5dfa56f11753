"""The demo's headline: coverage at the bandit's real horizon, and the quick run labelled a smoke test."""

from __future__ import annotations

import pytest

from agents.demo import QUICK_NOTE, headline
from agents.evaluation import evaluate, write_run
from agents.registry import make_agent


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    for name, env_id, kwargs in (("ucb", "TextBandit-v0", {"n_arms": 3, "horizon": 10}),
                                 ("ttt-random", "TextTicTacToe-v0", {})):  # fmt: skip
        agent = make_agent("ucb" if name == "ucb" else "random", seed=0)
        steps = evaluate(env_id, agent, num_envs=2, seeds=[0], env_kwargs=kwargs, agent_name=name,
                         progress=False)
        write_run(steps, out / name, meta={"env_kwargs": kwargs})
    return out


def test_coverage_is_labelled_with_the_real_horizon(runs):
    """Issue 15: the quick demo's horizon-10 bandit was headlined "coverage@50"."""
    text = headline(runs, ["ucb", "ttt-random"], {"n_arms": 3, "horizon": 10})
    assert "coverage@10 " in text and "coverage@50" not in text
    assert QUICK_NOTE not in text
    # no horizon given: the environment's default, 50
    assert "coverage@50 " in headline(runs, ["ucb"], {"n_arms": 3})


def test_the_quick_headline_says_its_numbers_mean_nothing(runs):
    text = headline(runs, ["ucb", "ttt-random"], {"n_arms": 3, "horizon": 10}, quick=True)
    lines = text.splitlines()
    assert lines[1] == QUICK_NOTE and "smoke test" in QUICK_NOTE and "mean nothing" in QUICK_NOTE
    assert lines[2].startswith("Headline (TextBandit-v0: n_arms=3, horizon=10")


def test_the_tictactoe_return_has_its_interval_over_games(runs):
    import re

    import numpy as np
    from scipy import stats

    from agents.evaluation import load_steps

    steps = load_steps(runs / "ttt-random")
    games = steps.groupby(["seed", "episode"])["env_reward"].sum().to_numpy(dtype=float)
    half = stats.t.ppf(0.975, len(games) - 1) * games.std(ddof=1) / np.sqrt(len(games))
    line = next(x for x in headline(runs, ["ttt-random"], {"n_arms": 3}).splitlines() if "ttt-random" in x)
    mean, low, high = (float(v) for v in re.search(r"return ([+-][\d.]+) \[([+-][\d.]+), ([+-][\d.]+)\]",
                                                    line).groups())
    assert mean == pytest.approx(games.mean(), abs=0.005)
    assert (low, high) == pytest.approx((games.mean() - half, games.mean() + half), abs=0.005)


def test_the_rl_run_is_compared_with_the_base_on_the_same_episodes(tmp_path):
    """The headline's paired line: rlft - base per episode, the mean and t interval by hand."""
    import numpy as np
    from scipy import stats

    kwargs = {"n_arms": 3, "horizon": 10}
    regrets = {}
    for name, agent in (("base", "random"), ("rlft", "ucb")):
        steps = evaluate("TextBandit-v0", make_agent(agent, seed=0), num_envs=6, seeds=[0], env_kwargs=kwargs,
                         agent_name=name, progress=False)
        write_run(steps, tmp_path / name, meta={"env_kwargs": kwargs})
        regrets[name] = steps.groupby("episode")["regret"].sum().sort_index().to_numpy()
    diff = regrets["rlft"] - regrets["base"]
    low, high = stats.t.interval(0.95, df=5, loc=diff.mean(), scale=stats.sem(diff))
    expected = (f"  rlft - base: regret {diff.mean():+.2f} [{low:+.2f}, {high:+.2f}] "
                "(paired over the same 6 episodes)")
    text = headline(tmp_path, ["base", "rlft"], kwargs)
    assert expected in text.splitlines()
    assert not np.allclose(diff, 0.0)  # the two agents did play differently
    assert "paired" not in headline(tmp_path, ["rlft"], kwargs)  # no base run: no paired line
