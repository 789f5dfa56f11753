"""`textrl report` end to end on tiny synthetic run folders, run_probes, and the error paths."""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd
import pytest

from analysis import plots
from analysis.cli import register
from analysis.probes import FrequentAgent, UCBRationaleAgent, run_probes
from analysis.report import build_report
from analysis.runs import load_run
from analysis.summary import summarize_steps
from textrl_envs import env_settings

PROBE_KW = {
    "frequency_bias_kwargs": {"repetitions": (0, 5, 50, 95), "n_prefixes": 2},
    "knowing_doing_kwargs": {"n_prompts": 6, "context_summary": True},
    "progress": False,
}


@pytest.fixture
def run_dirs(tmp_path, frames):
    base = tmp_path / "base"
    base.mkdir()
    frames.bandit("llm").to_csv(base / "steps.csv", index=False)
    (base / "run.json").write_text(json.dumps({"env_kwargs": {"n_arms": 3}}))  # a run.json before issue 15
    ucb = tmp_path / "ucb"
    ucb.mkdir()
    pd.concat([frames.bandit("ucb"), frames.tictactoe()]).to_parquet(ucb / "steps.parquet")
    settings = {"TextBandit-v0": env_settings("TextBandit-v0", {"n_arms": 3}),
                "TextTicTacToe-v0": env_settings("TextTicTacToe-v0")}
    (ucb / "run.json").write_text(json.dumps({"env_settings": settings}))
    run_probes(FrequentAgent(), base, **PROBE_KW)
    return base, ucb


def _parser():
    parser = argparse.ArgumentParser(prog="textrl")
    register(parser.add_subparsers(dest="command"))
    return parser


def test_run_probes_writes_documented_files(run_dirs):
    base, _ = run_dirs
    fb = pd.read_csv(base / "frequency_bias.csv")
    kd = pd.read_csv(base / "knowing_doing.csv")
    meta = json.loads((base / "probes.json").read_text())
    assert len(fb) == 8 and len(kd) == 6
    assert meta["agent"] == "frequent" and meta["knowing_doing"]["context_summary"] is True
    assert meta["frequency_bias"]["method"] == "score"
    assert [row["window"] for row in meta["frequency_bias"]["shares"]] == ["0-10", "45-55", "90-100"]
    assert sum(row["percent"] for row in meta["knowing_doing"]["table"]) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="probes must be a non-empty subset"):
        run_probes(FrequentAgent(), base, probes=("coverage",))


def test_report_end_to_end(run_dirs, tmp_path):
    base, ucb = run_dirs
    run_probes(
        UCBRationaleAgent("ucb"),
        ucb,
        probes=("knowing_doing",),
        progress=False,
        knowing_doing_kwargs={"n_prompts": 5},
    )
    out = tmp_path / "report"
    path = build_report([base, ucb], out)
    text = path.read_text()
    assert path == out / "report.md"
    # summary values computed by hand in test_summary: regret 1.85, invalid 1/8, return 1.7
    assert "| base | llm | TextBandit-v0 | 2 | 1.850 [" in text
    # tic-tac-toe rows get their own columns (issue 15: coverage and regret were shown for games):
    # return (1 - 1 + 0) / 3, win 1/3, draw 0, loss 1/3, invalid 1/6, illegal 1/6
    assert "| ucb | m | TextTicTacToe-v0 | 3 | 0.000 | 0.333 | 0.000 | 0.333 | 0.167 | 0.167 |" in text
    ttt_header = next(line for line in text.splitlines() if line.startswith("| run | agent | env_id | games"))
    assert "coverage" not in ttt_header and "regret" not in ttt_header
    # exploration table: arm 1 takes 4 of the 8 pulls (test_metrics.test_top_arm_share_by_hand); its
    # name, not its index (issue 15): the second button of a 3-arm bandit is "green"
    assert "`top_arm_share`" in text
    row = next(line for line in text.splitlines() if line.startswith("| base | llm | TextBandit-v0 | 0."))
    assert row.endswith("| green | 0.500 |"), row
    assert "| base | TextBandit-v0 | n_arms=3, distribution='gaussian'" in text  # the settings section
    assert "## Frequency bias" in text and "### base (probed agent: `frequent`)" in text
    assert "Per-arm summary in the prompt's context: **yes**" in text  # base probed with the summary
    assert "Per-arm summary in the prompt's context: **no**" in text  # ucb probed without
    assert "| correct | 100.0 [" in text  # the UCB follower: correct x optimal
    summary = pd.read_csv(out / "summary.csv")
    expected = pd.concat([summarize_steps(load_run(base).steps), summarize_steps(load_run(ucb).steps)])
    assert summary["cum_regret_mean"].tolist() == pytest.approx(expected["cum_regret_mean"].tolist())
    pytest.importorskip("matplotlib")
    for name in (
        "regret_TextBandit-v0.png",
        "coverage_TextBandit-v0.png",
        "frequency_bias.png",
        "knowing_doing_base.png",
        "knowing_doing_ucb.png",
    ):
        assert (out / name).stat().st_size > 1000, name
        assert f"]({name})" in text


def test_report_without_matplotlib(run_dirs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    out = tmp_path / "report"
    text = build_report(list(run_dirs), out).read_text()
    assert "Plots were skipped: matplotlib is not installed" in text and "textrl[plots]" in text
    assert not list(out.glob("*.png"))
    assert "## Knowing-doing gap" in text  # tables stay


def test_cli_report(run_dirs, tmp_path, capsys):
    out = tmp_path / "cli"
    args = _parser().parse_args(
        ["report", *map(str, run_dirs), "--out", str(out), "--no-plots", "--names", "base-model", "UCB"]
    )
    assert args.func(args) == 0
    assert "wrote" in capsys.readouterr().out
    text = (out / "report.md").read_text()
    assert "| base-model | llm |" in text and not list(out.glob("*.png"))
    args = _parser().parse_args(["report", str(tmp_path / "nope"), "--out", str(out)])
    assert args.func(args) == 2
    assert "does not exist" in capsys.readouterr().err


def test_report_error_paths(tmp_path, frames, run_dirs):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_report([tmp_path / "missing"], tmp_path / "out")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(FileNotFoundError, match="no steps.parquet or steps.csv"):
        build_report([tmp_path / "empty_dir"], tmp_path / "out")
    empty = tmp_path / "empty_log"
    empty.mkdir()
    frames.bandit().iloc[0:0].to_csv(empty / "steps.csv", index=False)
    with pytest.raises(ValueError, match="holds no decisions"):
        build_report([empty], tmp_path / "out")
    cols = tmp_path / "cols"
    cols.mkdir()
    frames.bandit().drop(columns=["regret"]).to_csv(cols / "steps.csv", index=False)
    with pytest.raises(ValueError, match=r"missing columns \['regret'\]"):
        build_report([cols], tmp_path / "out")
    with pytest.raises(ValueError, match="non-empty list of run folders"):
        build_report([], tmp_path / "out")
    with pytest.raises(ValueError, match="got 1 names for 2 run folders"):
        build_report(list(run_dirs), tmp_path / "out", names=["a"])
    (run_dirs[0] / "probes.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_run(run_dirs[0])


def _run(folder, steps, env_kwargs=None):
    folder.mkdir()
    steps.to_parquet(folder / "steps.parquet")
    if env_kwargs is not None:
        (folder / "run.json").write_text(json.dumps({"env_kwargs": env_kwargs}))
    return folder


def test_report_refuses_or_separates_runs_with_different_settings(tmp_path, frames, capsys):
    """Issue 15: horizon-10 and horizon-50 runs were drawn on one plot as one environment."""
    h10 = _run(tmp_path / "h10", frames.bandit("ucb"), {"n_arms": 3, "horizon": 10})
    h50 = _run(tmp_path / "h50", frames.bandit("ucb"), {"n_arms": 3, "horizon": 50})
    same = _run(tmp_path / "same", frames.bandit("random"), {"n_arms": 3, "horizon": 10})
    unknown = _run(tmp_path / "unknown", frames.bandit("llm"))  # no run.json: compared with nothing
    with pytest.raises(ValueError, match=r"different settings \(horizon: 10 \(h10\), 50 \(h50\)\)"):
        build_report([h10, h50], tmp_path / "out")
    build_report([h10, same, unknown], tmp_path / "ok", plots_enabled=False)  # same settings: fine
    args = _parser().parse_args(["report", str(h10), str(h50), "--out", str(tmp_path / "cli")])
    assert args.func(args) == 2
    assert "--separate-settings" in capsys.readouterr().err
    text = build_report([h10, h50, unknown], tmp_path / "sep", separate_settings=True).read_text()
    assert "| h10 | ucb | TextBandit-v0 (horizon=10) | 2 |" in text
    assert "| h50 | ucb | TextBandit-v0 (horizon=50) | 2 |" in text
    assert "| unknown | llm | TextBandit-v0 (settings not recorded) | 2 |" in text
    assert "| unknown | TextBandit-v0 (settings not recorded) | settings not recorded |" in text
    assert "| #1 | 0.500 |" in text  # no settings, no name guessed: the index, marked
    if plots.plots_available():
        assert (tmp_path / "sep" / "regret_TextBandit-v0_horizon_10.png").is_file()
        assert (tmp_path / "sep" / "regret_TextBandit-v0_horizon_50.png").is_file()


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        ("regret", [float("nan")] * 8, r"column 'regret' must hold finite numbers, but has NaN in rows "
                                       r"0, 1, 2, 3, 4, 5, 6, 7 \(0-based rows of the step log; 8 of 8"),
        ("reward", [0.0] * 3 + [float("inf")] + [0.0] * 4, r"column 'reward' .* has inf in row 3 \("),
        ("env_reward", [float("nan"), float("-inf")] + [0.0] * 6, r"NaN in row 0 and inf in row 1 "),
    ],
)
def test_report_rejects_non_finite_values(tmp_path, frames, column, values, match, capsys):
    """Issue 15: an all-NaN regret column was reported as 0.000 [0.000, 0.000], and inf passed."""
    steps = frames.bandit().assign(**{column: values})
    folder = _run(tmp_path / "bad", steps)
    with pytest.raises(ValueError, match=match):
        build_report([folder], tmp_path / "out")
    args = _parser().parse_args(["report", str(folder), "--out", str(tmp_path / "cli")])
    assert args.func(args) == 2
    assert f"column {column!r} must hold finite numbers" in capsys.readouterr().err


def test_report_pairs_runs_played_on_the_same_episodes(tmp_path, frames):
    """Each run minus the first on the same episodes; a run with other episodes is named, not paired."""
    from scipy import stats

    base = frames.bandit("base")  # episode regrets 1.8 (seed 0) and 1.9 (seed 1), by the fixture's docstring
    half = frames.bandit("rlft").assign(regret=lambda f: f["regret"] / 2)  # 0.9 and 0.95
    other = half[half["seed"] == 0].assign(agent="short")  # one of the two episodes only
    named = (("base", base), ("rlft", half), ("short", other))
    folders = [_run(tmp_path / name, frame, {"n_arms": 3}) for name, frame in named]
    text = build_report(folders, tmp_path / "out", plots_enabled=False).read_text()
    diffs = [-0.9, -0.95]
    mean = sum(diffs) / 2
    half_width = stats.t.ppf(0.975, 1) * (abs(diffs[0] - diffs[1]) / 2**0.5) / 2**0.5
    row = (f"| TextBandit-v0 | rlft | base | cum_regret | 2 | {mean:.3f} | {mean - half_width:.3f} | "
           f"{mean + half_width:.3f} |")
    assert row in text
    assert "Not paired (other episodes than the first run's, or settings not recorded): `short`." in text
    # the same episodes without recorded settings, or with other settings: not paired either
    unknown = _run(tmp_path / "unknown", half)
    other_k = _run(tmp_path / "k5", half.assign(n_actions=5), {"n_arms": 5})
    text = build_report([folders[0], unknown, other_k], tmp_path / "sep", plots_enabled=False,
                        separate_settings=True).read_text()
    assert "Paired differences" not in text
    text = build_report([folders[0], unknown], tmp_path / "unk", plots_enabled=False).read_text()
    assert "settings not recorded): `unknown (rlft)`." in text
    single = build_report(folders[:1], tmp_path / "one", plots_enabled=False).read_text()
    assert "Paired differences" not in single
