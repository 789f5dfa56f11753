"""``textrl evaluate`` end to end into tmp_path, and its error messages."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from agents.cli import main
from agents.evaluation import evaluate, load_steps
from agents.registry import make_agent


def test_evaluate_writes_run_folder_and_prints_summary(tmp_path, capsys):
    out = tmp_path / "ucb"
    code = main(
        [
            "evaluate",
            "--env",
            "TextBandit-v0",
            "--agent",
            "ucb",
            "--num-envs",
            "4",
            "--seeds",
            "0",
            "1",
            "--out",
            str(out),
            "--env-kwargs",
            '{"n_arms": 3, "horizon": 5}',
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "cum_regret" in printed and "TextBandit-v0" in printed and "steps.parquet" in printed
    steps = load_steps(out)
    # the same run through the Python API (agent seed 0 by default) gives the same log
    expected = evaluate(
        "TextBandit-v0",
        make_agent("ucb", seed=0),
        num_envs=4,
        seeds=[0, 1],
        env_kwargs={"n_arms": 3, "horizon": 5},
        progress=False,
    )
    pd.testing.assert_frame_equal(steps, expected)
    run = json.loads((out / "run.json").read_text())
    assert (
        run["agent"] == "ucb"
        and run["agent_seed"] == 0
        and run["seeds"] == [0, 1]
        and run["env_kwargs"] == {"n_arms": 3, "horizon": 5}
    )
    assert json.loads((out / "summary.json").read_text())[0]["episodes"] == 8
    # issue 15: the resolved settings (every keyword, defaults included), not only the ones passed
    settings = {
        "n_arms": 3, "distribution": "gaussian", "noise": "medium", "variant": "button", "horizon": 5,
        "history_window": None, "cot": True, "prompt_style": "default", "context_summary": False,
        "randomize_labels": False,
        "reward_scale": None, "invalid_action_penalty": -5.0,
    }  # fmt: skip
    assert run["env_settings"] == {"TextBandit-v0": settings}
    assert json.loads((out / "summary.json").read_text())[0]["env_settings"] == settings


def test_agent_name_labels_the_run(tmp_path, capsys):
    """Issue 15: the agent column always read the --agent name ("llm"); --agent-name sets it."""
    out = tmp_path / "named"
    args = ["evaluate", "--env", "TextBandit-v0", "--agent", "random", "--num-envs", "2", "--out", str(out),
            "--env-kwargs", '{"n_arms": 3, "horizon": 2}', "--no-progress"]  # fmt: skip
    assert main([*args, "--agent-name", "my-model"]) == 0
    assert set(load_steps(out)["agent"]) == {"my-model"}
    assert json.loads((out / "summary.json").read_text())[0]["agent"] == "my-model"
    assert "my-model" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main([*args, "--agent-name", " "])
    assert info.value.code == 2
    assert "--agent-name must not be empty" in capsys.readouterr().err


def test_csv_format_agent_kwargs_and_tictactoe(tmp_path, capsys):
    out = tmp_path / "mm"
    main(
        [
            "evaluate",
            "--env",
            "TextTicTacToe-v0",
            "--agent",
            "mcts",
            "--num-envs",
            "2",
            "--out",
            str(out),
            "--env-kwargs",
            '{"opponent": "random"}',
            "--agent-kwargs",
            '{"simulations": 20, "seed": 3}',
            "--format",
            "csv",
            "--no-progress",
        ]
    )
    assert (out / "steps.csv").is_file() and not (out / "steps.parquet").exists()
    assert "win_rate" in capsys.readouterr().out
    assert set(load_steps(out).agent) == {"mcts"}


def test_progress_bar_on_stderr(tmp_path, capsys):
    main(["evaluate", "--env", "TextBandit-v0", "--agent", "random", "--num-envs", "2",
          "--out", str(tmp_path / "r"), "--env-kwargs", '{"horizon": 3}'])  # fmt: skip
    assert "6/6" in capsys.readouterr().err  # 2 envs x 3 decisions


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--env-kwargs", "{noise: low}"], "argument --env-kwargs: not valid JSON"),
        (["--env-kwargs", '["low"]'], "argument --env-kwargs: must be a JSON object"),
        (["--agent-kwargs", "{"], "argument --agent-kwargs: not valid JSON"),
        (["--agent", "ucb2"], "argument --agent: invalid choice: 'ucb2'"),
        (["--env", "Nope-v0"], "unknown environment 'Nope-v0'; allowed environments: TextBandit-v0"),
        (["--env-kwargs", '{"noise": "loud"}'], "noise must be one of"),
        (["--agent-kwargs", '{"epsilon": 0.1}'], "agent 'ucb' does not accept epsilon"),
        (["--model", "some/model"], "--model is only for --agent llm"),
        (["--num-envs", "0"], r"num_envs must be in \[1, 100000\]"),
        (["--seeds", "1", "1"], "seeds must be distinct"),
        (["--format", "json"], "argument --format: invalid choice"),
    ],
)
def test_errors(extra, message, tmp_path, capsys):
    args = {"--env": "TextBandit-v0", "--agent": "ucb", "--out": str(tmp_path / "x")}
    for i in range(0, len(extra), 2):
        args.pop(extra[i], None)
    argv = ["evaluate", *[t for kv in args.items() for t in kv], *extra]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert not (tmp_path / "x").exists()


def test_llm_agent_with_model_folder(tmp_path, capsys):
    pytest.importorskip("torch")
    from agents.llm.tiny import make_tiny_model

    folder = make_tiny_model(tmp_path / "tiny")
    code = main(["evaluate", "--env", "TextBandit-v0", "--agent", "llm", "--model", str(folder),
                 "--num-envs", "1", "--out", str(tmp_path / "llm"), "--env-kwargs", '{"horizon": 2}',
                 "--agent-kwargs", '{"max_new_tokens": 4}', "--no-progress"])  # fmt: skip
    assert code == 0 and "llm" in capsys.readouterr().out
    run = json.loads((tmp_path / "llm" / "run.json").read_text())
    assert run["model"] == str(folder) and len(load_steps(tmp_path / "llm")) == 2
