"""scripts/study_real_model.py runs every stage on a tiny chat model, writes the report, and resumes."""

from __future__ import annotations

import json


def test_quick_study_runs_every_stage_and_reuses_them(tiny_chat, tmp_path, capsys, load_script):
    study = load_script("study_real_model")
    argv = ["--quick", "--model", str(tiny_chat), "--out", str(tmp_path), "--no-progress"]
    assert study.main(argv) == 0
    stages = ["ucb", "random", "llm-action", "llm-cot", "ttt-llm", "ttt-random", "probes"]
    for stage in stages:
        settings = json.loads((tmp_path / stage / "stage.json").read_text())["settings"]
        assert settings["model"] == str(tiny_chat)
    assert (tmp_path / "llm-action" / "frequency_bias.csv").is_file()
    report = (tmp_path / "report" / "report.md").read_text()
    assert "llm-cot" in report and "ttt-llm" in report and "Frequency bias" in report
    capsys.readouterr()
    assert study.main(argv) == 0  # a second run reuses every finished stage
    assert capsys.readouterr().out.count("finished earlier, reused") == len(stages)
