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
