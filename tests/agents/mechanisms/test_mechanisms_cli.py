"""``textrl evaluate --mechanism``: the same log as the Python API, and its error messages."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from agents.cli import main
from agents.evaluation import evaluate, load_steps
from agents.mechanisms import apply_mechanisms
from agents.registry import make_agent

ENV = {"n_arms": 4, "horizon": 6}


def test_cli_mechanisms_equal_the_python_api(tmp_path):
    out = tmp_path / "run"
    args = [
        "evaluate",
        "--env",
        "TextBandit-v0",
        "--agent",
        "greedy",
        "--num-envs",
        "3",
        "--out",
        str(out),
        "--env-kwargs",
        json.dumps(ENV),
        "--mechanism",
        "epsilon-greedy",
        "context-randomization",
        "--mechanism-kwargs",
        '{"epsilon-greedy": {"epsilon": 0.5}}',
        "--no-progress",
    ]
    assert main(args) == 0
    agent, env_kwargs = apply_mechanisms(
        make_agent("greedy", seed=0),
        ["epsilon-greedy", "context-randomization"],
        env_kwargs=ENV,
        options={"epsilon-greedy": {"epsilon": 0.5}},
        seed=0,
    )
    expected = evaluate(
        "TextBandit-v0",
        agent,
        num_envs=3,
        seeds=[0],
        env_kwargs=env_kwargs,
        agent_name="greedy+epsilon-greedy+context-randomization",
        progress=False,
    )
    pd.testing.assert_frame_equal(load_steps(out), expected)
    run = json.loads((out / "run.json").read_text())
    assert run["env_kwargs"] == {**ENV, "randomize_labels": True}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mechanism", "exploration-bonus"], "invalid choice: 'exploration-bonus'"),
        (["--mechanism", "try-all", "--mechanism-kwargs", '{"try-all": {"x": 1}}'], "unexpected keyword"),
        (["--mechanism", "try-all", "--mechanism-kwargs", '{"self-consistency": {"k": 2}}'], "not applied"),
    ],
)
def test_cli_mechanism_errors(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--env", "TextBandit-v0", "--agent", "ucb", "--out", str(tmp_path / "x"), *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_env_mechanism_on_tic_tac_toe_is_an_argparse_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(
            [
                "evaluate",
                "--env",
                "TextTicTacToe-v0",
                "--agent",
                "random",
                "--out",
                str(tmp_path / "x"),
                "--mechanism",
                "context-summary",
            ]
        )
    assert "context-summary is an option of TextBandit-v0" in capsys.readouterr().err
