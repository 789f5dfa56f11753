"""The demo pipeline: stage reuse (unit) and the ``--quick`` smoke run end to end (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.cli import main as textrl_main
from agents.demo import STAGE_MARKER, run_stage


def test_run_stage_runs_once_then_reuses(tmp_path):
    calls = []

    def work(folder):
        calls.append(folder)
        (folder / "result.txt").write_text("42")

    first = run_stage(tmp_path, "stage-a", {"x": 1}, work)
    second = run_stage(tmp_path, "stage-a", {"x": 1}, work)
    assert first == second == tmp_path / "stage-a"
    assert len(calls) == 1
    assert json.loads((first / STAGE_MARKER).read_text())["settings"] == {"x": 1}


def test_run_stage_redoes_a_stage_whose_settings_changed(tmp_path):
    calls = []
    run_stage(tmp_path, "s", {"x": 1}, lambda folder: calls.append(1))
    (tmp_path / "s" / "stale.txt").write_text("from the old settings")
    run_stage(tmp_path, "s", {"x": 2}, lambda folder: calls.append(2))
    assert calls == [1, 2]
    assert not (tmp_path / "s" / "stale.txt").exists()


def test_run_stage_redoes_an_interrupted_stage(tmp_path):
    def crash(folder):
        (folder / "partial.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stage(tmp_path, "s", {"x": 1}, crash)
    assert not (tmp_path / "s" / STAGE_MARKER).exists()  # not marked finished
    done = []
    run_stage(tmp_path, "s", {"x": 1}, lambda folder: done.append(sorted(p.name for p in folder.iterdir())))
    assert done == [[]]  # the crash's leftovers were removed before the stage ran again


@pytest.mark.slow
def test_quick_demo_end_to_end_and_rerun_reuses_stages(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TEXTRL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    assert textrl_main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    report = (out / "report.md").read_text()
    for run in ("base", "rlft", "ucb", "random", "ttt-base", "ttt-rlft", "ttt-random"):
        assert (out / run / STAGE_MARKER).is_file()
        assert f"`{run}`" in report
    first = capsys.readouterr().out
    assert "Headline" in first and "report:" in first

    # a second run reuses every stage and prints the same headline numbers
    assert textrl_main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    second = capsys.readouterr().out
    stages = ("ucb", "random", "base", "rlft-bandit", "rlft", "ttt-random", "ttt-base", "rlft-ttt",
              "ttt-rlft")
    for stage in stages:
        assert f"[demo] {stage}: finished earlier, reused" in second
    assert "running" not in second
    headline = lambda text: text[text.index("Headline") : text.index("[demo] finished")]  # noqa: E731
    assert headline(first) == headline(second)


def test_full_demo_bandit_rl_matches_configs_bandit_explore():
    # the demo cannot read configs/ (not part of the installed package), so it repeats the settings of
    # configs/bandit_explore.yaml; the README's headline and the closing notes quote both as one run
    from agents.demo import BANDIT_ENV, FULL
    from agents.rlft.config import load_config

    config = load_config(Path(__file__).resolve().parents[2] / "configs" / "bandit_explore.yaml")
    assert config.env_id == BANDIT_ENV
    assert {k: config.env_kwargs[k] for k in FULL.bandit_env_kwargs} == FULL.bandit_env_kwargs
    assert config.max_new_tokens == FULL.max_new_tokens
    for field, value in FULL.rlft_bandit.items():
        if field != "eval_at_end":  # the demo evaluates in its own stage, with the baselines
            assert getattr(config, field) == pytest.approx(value), field


def test_full_demo_tictactoe_rl_matches_configs_tictactoe_demo():
    from agents.demo import FULL, TICTACTOE_ENV
    from agents.rlft.config import load_config

    config = load_config(Path(__file__).resolve().parents[2] / "configs" / "tictactoe_demo.yaml")
    assert config.env_id == TICTACTOE_ENV and config.env_kwargs == FULL.ttt_env_kwargs
    assert config.max_new_tokens == FULL.max_new_tokens
    for field, value in FULL.rlft_ttt.items():
        if field != "eval_at_end":
            assert getattr(config, field) == pytest.approx(value), field
