"""``textrl train``'s command line: help generated from the config's fields, errors as one line with
exit status 2 (nothing written), no torch import for ``--help``."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from agents.cli import main
from agents.rlft.config import GROUPS, RLFTConfig

ROOT = Path(__file__).resolve().parents[3]


def test_help_lists_every_field_with_its_declared_help_in_trl_groups(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one line per option (no break in "non-finite" at the hyphen)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines: compare word by word
    for title in GROUPS:
        assert f"{title}:" in text
    for f in dataclasses.fields(RLFTConfig):
        assert f"--{f.name} " in text
        assert " ".join(f.metadata["help"].split()) in text, f.name
    kl = "--kl_coef FLOAT beta: weight of the KL to the frozen reference model (default: 0.05); also --beta"
    assert kl in text
    assert "--out STR output folder" in text and "also --output_dir" in text
    assert "--checkpoint_every INT" in text and "also --save_steps" in text
    assert "accelerate launch --multi_gpu --num_processes 2" in text and "--cpu" not in text


def test_dashes_and_trl_names_parse_to_the_same_config():
    from agents.rlft.cli import build_parser, config_from_args

    args = build_parser().parse_args(
        ["--output_dir", "runs/x", "--save-steps", "2", "--report_to", "none", "--kl-coef", "0.1", "--env",
         "TextTicTacToe-v0", "--resume"]
    )  # fmt: skip
    cfg = config_from_args(args)
    assert (cfg.out, cfg.checkpoint_every, cfg.report_to, cfg.kl_coef) == ("runs/x", 2, "none", 0.1)
    assert cfg.env_id == "TextTicTacToe-v0" and cfg.resume is True


@pytest.mark.parametrize("command", [["--help"], ["train", "--help"], ["evaluate", "--help"],
                                     ["report", "--help"], ["demo", "--help"]])  # fmt: skip
def test_help_imports_neither_torch_nor_pandas(command):
    """Issue 15: `textrl --help` took 16-40 s, importing torch through the train sub-command's config."""
    code = (
        "import sys\nfrom agents.cli import main\n"
        f"try:\n    main({command!r})\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'pandas', 'scipy', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def run_cli(args, capsys):
    code = main(["train", *args])
    captured = capsys.readouterr()
    return code, captured.err


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--env", "NoSuchEnv-v0"], "textrl train: error: env_id 'NoSuchEnv-v0': "),
        (["--env_kwargs", "{horizon: 0}"],
         "textrl train: error: env_kwargs {'horizon': 0} for TextBandit-v0: horizon must be an integer >= 1"),
        (["--num_envs", "0"], "textrl train: error: num_envs must be >= 1, got 0"),
        (["--logging_steps", "5"], "textrl train: error: logging_steps (a TRL option) has no counterpart"),
        (["--report_to", "wandb,nope"], "textrl train: error: report_to must be one of"),
    ],
)
def test_errors_are_one_line_and_exit_2_before_anything_is_written(tiny_llama, tmp_path, capsys, args, match):
    """Issue 15: errors in `textrl train` were tracebacks."""
    out = tmp_path / "out"
    code, err = run_cli(["--model", str(tiny_llama), "--out", str(out), *args], capsys)
    assert code == 2 and err.startswith(match) and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_config_file_and_model_errors(tiny_llama, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kl_coef: [0.1\n")
    code, err = run_cli(["--config", str(bad)], capsys)
    assert code == 2 and err.startswith(f"textrl train: error: config file {bad}, line 2, column 1: not")
    code, err = run_cli(["--config", str(tmp_path / "none.yaml")], capsys)
    assert code == 2 and "config file not found" in err
    code, err = run_cli(["--model", str(tmp_path / "nomodel"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "model folder" in err and "does not exist" in err and not (tmp_path / "o").exists()


def test_a_folder_holding_a_run_is_refused_with_exit_2(tiny_llama, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.jsonl").write_text('{"update": 1}\n')
    code, err = run_cli(["--model", str(tiny_llama), "--out", str(out)], capsys)
    assert code == 2 and "already holds a run (metrics.jsonl); pass --resume" in err
    assert [p.name for p in out.iterdir()] == ["metrics.jsonl"]
