"""End-to-end runs on a tiny model: outputs, resume == uninterrupted, non-finite stop, 2 processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from agents.cli import main as textrl_main
from agents.rlft import trainer as trainer_module
from agents.rlft.checkpoint import latest_checkpoint
from agents.rlft.config import RLFTConfig
from agents.rlft.trainer import SetupError, train
from analysis.summary import format_summary, summarize_steps

ROOT = Path(__file__).resolve().parents[3]
TINY_ENV = {"n_arms": 3, "horizon": 3}


def tiny_config(model, out, **overrides):
    base = dict(
        model=str(model),
        out=str(out),
        env_kwargs=TINY_ENV,
        total_updates=3,
        num_envs=2,
        max_new_tokens=4,
        micro_batch_episodes=2,
        eval_at_end=False,
        progress=False,
        report_to="none",
        warmup_steps=1,
        learning_rate=1e-3,
        checkpoint_every=1,
        epochs=2,
    )
    base.update(overrides)
    return RLFTConfig(**base)


def read_metrics(out):
    lines = (Path(out) / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(ln).items() if not k.startswith("time/")} for ln in lines]


def test_resume_equals_uninterrupted(tiny_llama, tmp_path, interrupt):
    full = train(tiny_config(tiny_llama, tmp_path / "full"))
    expected = read_metrics(full)
    assert [m["update"] for m in expected] == [1, 2, 3]

    with pytest.raises(interrupt.Error):
        train(tiny_config(tiny_llama, tmp_path / "cut"), on_update=interrupt.at(2))
    assert latest_checkpoint(tmp_path / "cut").name == "step_000002"
    train(tiny_config(tiny_llama, tmp_path / "cut", resume=True))
    assert read_metrics(tmp_path / "cut") == expected
    for name in ("model.safetensors", "optimizer.pt", "scheduler.pt", "rng_rank0.pt", "state.json"):
        assert (tmp_path / "cut" / "checkpoints" / "step_000003" / name).is_file()
    assert (tmp_path / "cut" / "final_model" / "config.json").is_file()


def test_cli_run_writes_eval_log(tiny_llama, tmp_path, capsys):
    out = tmp_path / "cli"
    code = textrl_main(
        [
            "train",
            "--env",
            "TextBandit-v0",
            "--model",
            str(tiny_llama),
            "--out",
            str(out),
            "--total-updates",
            "1",
            "--env_kwargs",
            json.dumps(TINY_ENV),
            "--num_envs",
            "2",
            "--max_new_tokens",
            "3",
            "--eval_num_envs",
            "2",
            "--eval_seeds",
            "[5]",
            "--progress",
            "false",
            "--log_with",
            "none",
            "--kl_estimator",
            "k1",
            "--kl_in",
            "reward",
            "--exploration_bonus",
            "1",
            "--packing",
            "none",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    # issue 15: the run ends with its final evaluation's summary table (computed here from its step log)
    steps = pd.read_parquet(out / "eval" / "step_000001" / "steps.parquet")
    summary = summarize_steps(steps)
    assert "Final evaluation after 1 updates (greedy decoding, seeds [5] x 2 environments" in printed
    assert format_summary(summary) in printed and "cum_regret (95% CI)" in printed
    card = (out / "final_model" / "README.md").read_text()
    assert "Greedy evaluation after the last update (seeds [5] x 2 environments)" in card
    regret = summary.iloc[0]
    assert f"| rlft | TextBandit-v0 | 2 | {regret.cum_regret_mean:.3f} [" in card
    assert len(steps) == 2 * 3 and set(steps["agent"]) == {"rlft"}
    assert {"action_index", "regret", "valid_action", "env_reward"} <= set(steps.columns)
    (record,) = read_metrics(out)
    for key in (
        "objective/kl",
        "objective/entropy",
        "policy/clipfrac_avg",
        "policy/approxkl_avg",
        "loss/policy_avg",
        "loss/value_avg",
        "val/clipfrac_avg",
        "env/return",
        "env/cumulative_regret",
        "env/coverage",
        "env/invalid_action_rate",
        "env/greedy_fraction",
        "eval/cumulative_regret",
    ):
        assert key in record


def test_nonfinite_updates_stop_the_run(tiny_llama, tmp_path, monkeypatch):
    real = trainer_module.ppo_update

    def always_skipped(*args, **kwargs):
        metrics = real(*args, **kwargs)
        return {**metrics, "train/optimizer_steps": 0.0, "train/skipped_steps": 1.0}

    monkeypatch.setattr(trainer_module, "ppo_update", always_skipped)
    with pytest.raises(RuntimeError, match="2 updates in a row had a non-finite loss"):
        train(tiny_config(tiny_llama, tmp_path / "nan", max_nonfinite_updates=2, epochs=1, kl_coef=0.0))
    assert len(read_metrics(tmp_path / "nan")) == 2


def test_resume_without_checkpoint_fails(tiny_llama, tmp_path):
    with pytest.raises(SetupError, match="holds no complete checkpoint, so there is nothing to continue"):
        train(tiny_config(tiny_llama, tmp_path / "none", resume=True))


def test_two_cpu_processes_with_gloo(tiny_llama, tmp_path):
    out = tmp_path / "ddp"
    # ROOT first, then whatever the caller's path holds (packages installed with --target, say)
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": pythonpath, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--multi_gpu",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        "29517",
        str(ROOT / "scripts" / "train_rlft.py"),
        "--model",
        str(tiny_llama),
        "--out",
        str(out),
        "--env_kwargs",
        json.dumps(TINY_ENV),
        "--total_updates",
        "1",
        "--num_envs",
        "2",
        "--max_new_tokens",
        "3",
        "--eval_at_end",
        "false",
        "--progress",
        "false",
        "--log_with",
        "none",
        "--threads",
        "1",
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    # issue 15: "RL fine-tuning finished" was printed once per process
    assert result.stdout.count("RL fine-tuning finished") == 1, result.stdout
    assert result.stdout.count("No final evaluation") == 1
    (record,) = read_metrics(out)
    assert record["update"] == 1 and record["train/turns"] == 6  # mean over 2 processes of 2 envs x 3 turns
    assert (out / "checkpoints" / "step_000001" / "rng_rank1.pt").is_file()


def test_lora_run_keeps_base_as_reference(tiny_llama, tmp_path):
    pytest.importorskip("peft", reason="LoRA needs the lora extra (scripts/test.sh installs it)")
    from transformers import AutoModelForCausalLM

    out = train(tiny_config(tiny_llama, tmp_path / "lora", lora=True, lora_r=4, total_updates=1, epochs=1))
    (record,) = read_metrics(out)
    assert record["train/optimizer_steps"] == 1 and record["objective/kl"] >= 0
    merged = AutoModelForCausalLM.from_pretrained(out / "final_model")  # LoRA merged: a plain model folder
    assert not any("lora" in name for name, _ in merged.named_parameters())


def test_a_second_run_in_one_process_may_choose_other_settings(tiny_llama, tmp_path):
    """accelerate's process-wide state would refuse a run whose precision differs from an earlier
    Accelerator's (seen on a GPU machine: a CPU test, then a bf16 run); a single process resets it."""
    from accelerate import Accelerator

    Accelerator(cpu=True, mixed_precision="no")  # an earlier evaluation or notebook cell
    out = train(tiny_config(tiny_llama, tmp_path / "bf16", mixed_precision="bf16", total_updates=1))
    assert [m["update"] for m in read_metrics(out)] == [1]
