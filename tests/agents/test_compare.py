"""``textrl compare`` end to end on a tiny model: every method in the table, a rerun reuses every stage."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from agents.cli import main
from agents.compare import MECHANISM_STAGES, QUICK, run_compare
from agents.llm.tiny import make_tiny_model

torch.set_num_threads(2)


def test_compare_end_to_end_and_rerun_reuses_stages(tmp_path, capsys):
    model = make_tiny_model(tmp_path / "tiny", seed=0, hidden_size=32, num_layers=2)
    out = tmp_path / "cmp"
    args = ["compare", "--quick", "--model", str(model), "--out", str(out), "--num-envs", "2",
            "--horizon", "3", "--env-kwargs", '{"n_arms": 3}', "--max-new-tokens", "4", "--budgets", "2", "4",
            "--self-consistency-k", "2",
            "--rlft", '{"num_envs": 2, "total_updates": 1, "epochs": 1}',
            "--sft", '{"data_num_envs": 2, "batch_episodes": 2}', "--no-progress"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out / "comparison.csv")
    expected = [
        "base",
        *MECHANISM_STAGES,
        "rlft",
        "exploration-bonus",
        "sft-bc",
        "sft-tc",
        "expert",
        "ucb",
        "random",
    ]
    assert table["run"].tolist() == expected
    assert (table["episodes"] == 2).all() and (table["horizon"] == 3).all()
    ucb = table.set_index("run").loc["ucb"]
    assert ucb["coverage_mean"] == 1.0  # 3 arms, 3 steps: UCB tries each arm once
    budget = pd.read_csv(out / "budget.csv")
    assert budget["budget"].tolist() == [2, 4] and budget["run"].tolist() == ["G=2", "G=4"]
    assert not (out / "budget-G4").exists()  # G=4 is the base stage's budget: reused, not rerun
    report = (out / "comparison.md").read_text()
    assert "| self-consistency |" in report and "Wall time per stage" in report
    assert (out / "comparison.png").is_file() and (out / "budget.png").is_file()
    assert "running" in printed
    run = json.loads((out / "exploration-bonus" / "run.json").read_text())
    assert run["stage"] == "exploration-bonus"
    config = json.loads((out / "bonus-train" / "stage.json").read_text())["settings"]["config"]
    assert config["exploration_bonus"] == 1.0 and config["total_updates"] == 1
    assert config["num_minibatches"] == QUICK.rlft["num_minibatches"]  # --rlft overrides, the rest stays
    sft = json.loads((out / "sft-tc-train" / "stage.json").read_text())["settings"]["config"]
    assert sft["mode"] == "thought" and sft["data_num_envs"] == 2 and sft["data_seeds"] == [100, 101]

    # a stage folder this comparison does not use (left by an earlier one) is not in its wall times
    (out / "old-stage").mkdir()
    (out / "old-stage" / "stage.json").write_text(json.dumps({"seconds": 999.0}))
    assert main(args) == 0
    again = capsys.readouterr().out
    assert "running" not in again and again.count("finished earlier, reused") >= 18
    pd.testing.assert_frame_equal(pd.read_csv(out / "comparison.csv"), table)
    wall = (out / "comparison.md").read_text().split("Wall time per stage (s): ")[1].splitlines()
    listed = dict(item.rsplit(" ", 1) for item in wall[0].split(", "))
    assert "old-stage" not in listed and {"base", "rlft-train", "sft-tc-train", "budget-G2"} <= set(listed)
    seconds = {name: json.loads((out / name / "stage.json").read_text())["seconds"] for name in listed}
    assert wall[1] == f"Total: {sum(seconds.values()):.0f} s"

    # other SFT settings redo the SFT stages and their evaluations, and nothing else
    sft_at = args.index("--sft") + 1
    assert main([*args[:sft_at], '{"data_num_envs": 2, "batch_episodes": 1}', *args[sft_at + 1:]]) == 0
    third = capsys.readouterr().out
    redone = {line.split()[1].rstrip(":") for line in third.splitlines() if line.endswith(": running")}
    assert redone == {"sft-bc-train", "sft-bc", "sft-tc-train", "sft-tc"}


def test_unknown_skip_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot skip"):
        run_compare(tmp_path, quick=True, model="unused", skip=("nope",))
