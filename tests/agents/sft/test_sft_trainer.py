"""Expert SFT end to end on a tiny model: one step lowers the loss, outputs, resume, hand-off to RL,
two processes, error paths."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from accelerate import Accelerator

from agents.cli import main as textrl_main
from agents.llm import LLMPolicy
from agents.llm.tiny import make_tiny_model
from agents.rlft.config import load_config
from agents.rlft.optim import make_optimizer
from agents.rlft.run_folder import SetupError
from agents.rlft.update import prepare
from agents.rlft.value_head import PolicyWithValue
from agents.sft import SFTConfig, train_sft
from agents.sft.trainer import _batch, answer_nll, build_dataset, sft_step

torch.set_num_threads(2)
ROOT = Path(__file__).resolve().parents[3]
ENV = {"n_arms": 3, "horizon": 3}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("sft_tiny"), seed=0, hidden_size=32, num_layers=2)


def tiny_config(model, out, **overrides):
    base = dict(
        model=str(model), out=str(out), env_kwargs=ENV, mode="behaviour", data_num_envs=4, data_seeds=[100],
        batch_episodes=2, micro_batch_episodes=1, epochs=2, eval_at_end=False, progress=False,
        report_to="none", learning_rate=1e-3, warmup_steps=1, checkpoint_every=1, max_new_tokens=4,
        eval_num_envs=2,
    )  # fmt: skip
    base.update(overrides)
    return SFTConfig(**base)


def _free_port() -> int:
    """A TCP port free right now (other test sessions on the machine may hold a fixed one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_metrics(out):
    lines = (Path(out) / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(ln).items() if not k.startswith("time/")} for ln in lines]


@pytest.mark.parametrize("mode", ["behaviour", "thought"])
def test_one_sft_step_lowers_the_loss_on_its_batch(tiny, tmp_path, mode):
    config = tiny_config(tiny, tmp_path, mode=mode, learning_rate=3e-3)
    policy = LLMPolicy.from_pretrained(tiny)
    episodes, _ = build_dataset(config, policy)
    prep = prepare(episodes[:2], packing="tree")
    accelerator = Accelerator(cpu=True)
    module = PolicyWithValue(policy.model)
    optimizer = make_optimizer(module, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    model, optimizer = accelerator.prepare(module, optimizer)
    batch = _batch(prep, [0, 1], policy.pad_id, True, "cpu", "tree")
    with torch.no_grad():
        before = float(answer_nll(model, batch)) / prep.num_tokens
    stats = sft_step(model, prep, [0, 1], config, optimizer, scheduler, accelerator, pad_id=policy.pad_id)
    with torch.no_grad():
        after = float(answer_nll(model, batch)) / prep.num_tokens
    assert stats["loss/sft"] == pytest.approx(before, rel=1e-5)  # the logged loss is the batch's, pre-step
    assert stats["train/tokens"] == prep.num_tokens and stats["train/skipped_steps"] == 0
    assert after < before - 0.01


def test_cli_run_outputs_and_rl_fine_tuning_takes_its_model(tiny, tmp_path, capsys):
    out = tmp_path / "bc"
    args = ["sft", "--env", "TextBandit-v0", "--model", str(tiny), "--out", str(out), "--mode", "behaviour",
            "--env_kwargs", json.dumps(ENV), "--data_num_envs", "4", "--data_seeds", "[100]",
            "--batch_episodes", "2", "--epochs", "1", "--eval_num_envs", "2", "--eval_seeds", "[5]",
            "--max_new_tokens", "4", "--progress", "false", "--log_with", "none"]  # fmt: skip
    assert textrl_main(args) == 0
    assert "expert SFT finished" in capsys.readouterr().out
    metrics = read_metrics(out)
    assert [m["update"] for m in metrics] == [1, 2]  # 4 episodes / 2 per step, one epoch
    assert "eval/cumulative_regret" in metrics[-1] and metrics[-1]["loss/sft"] > 0
    steps = pd.read_parquet(out / "eval" / "step_000002" / "steps.parquet")
    assert set(steps["agent"]) == {"sft-behaviour"} and len(steps) == 2 * 3
    expert = pd.read_parquet(out / "expert" / "steps.parquet")
    assert len(expert) == 4 * 3 and expert["valid_action"].all()
    info = json.loads((out / "sft.json").read_text())
    assert info["episodes"] == 4 and info["turns"] == 12 and info["eval_max_new_tokens"] == 4
    rl_args = ["train", "--model", str(out / "final_model"), "--out", str(tmp_path / "rl"), "--env_kwargs",
               json.dumps(ENV), "--total_updates", "1", "--num_envs", "2", "--max_new_tokens", "3",
               "--eval_at_end", "false", "--progress", "false", "--log_with", "none"]  # fmt: skip
    assert textrl_main(rl_args) == 0
    assert (tmp_path / "rl" / "final_model" / "config.json").is_file()


def test_resume_equals_uninterrupted(tiny, tmp_path, interrupt):
    expected = read_metrics(train_sft(tiny_config(tiny, tmp_path / "full", epochs=1)))
    assert [m["update"] for m in expected] == [1, 2]

    with pytest.raises(interrupt.Error):
        train_sft(tiny_config(tiny, tmp_path / "cut", epochs=1), on_step=interrupt.at(1))
    train_sft(tiny_config(tiny, tmp_path / "cut", epochs=1, resume=True))
    assert read_metrics(tmp_path / "cut") == expected


def test_two_cpu_processes_equal_one(tiny, tmp_path):
    one = read_metrics(train_sft(tiny_config(tiny, tmp_path / "one", epochs=1, checkpoint_every=0)))
    # ROOT first, then whatever the caller's path holds (packages installed with --target, say)
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": pythonpath, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--num_machines", "1",
           "--multi_gpu", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(_free_port()),
           str(ROOT / "scripts" / "train_sft.py"), "--model", str(tiny), "--out", str(tmp_path / "two"),
           "--env_kwargs", json.dumps(ENV), "--mode", "behaviour", "--data_num_envs", "4", "--data_seeds",
           "[100]", "--batch_episodes", "2", "--micro_batch_episodes", "1", "--epochs", "1",
           "--learning_rate", "1e-3", "--warmup_steps", "1", "--eval_at_end", "false", "--progress", "false",
           "--log_with", "none", "--threads", "1"]  # fmt: skip
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    two = read_metrics(tmp_path / "two")
    # each process trains one of the batch's two episodes; the loss is the batch's token mean either way,
    # and the averaged gradients make the second step's loss (after one update) match too
    for a, b in zip(one, two, strict=True):
        assert a["train/tokens"] == b["train/tokens"]
        assert a["loss/sft"] == pytest.approx(b["loss/sft"], rel=1e-4)


def test_output_folder_follows_textrl_trains_rules(tiny, tmp_path):
    out = tmp_path / "run"
    train_sft(tiny_config(tiny, out, epochs=1))
    assert json.loads((out / "run.json").read_text())["command"] == "textrl sft"
    with pytest.raises(SetupError, match="already holds a run"):  # a fresh run never adopts another's files
        train_sft(tiny_config(tiny, out, epochs=1))
    with pytest.raises(SetupError, match="seed: 0 in the run, 1 now"):  # nor does a resume of another config
        train_sft(tiny_config(tiny, out, epochs=1, seed=1, resume=True))
    before = read_metrics(out)
    train_sft(tiny_config(tiny, out, epochs=1, overwrite=True))  # --overwrite starts afresh
    assert read_metrics(out) == before  # same config and seed: the same run again


def test_errors(tiny, tmp_path):
    with pytest.raises(SetupError, match="holds no complete checkpoint"):
        train_sft(tiny_config(tiny, tmp_path / "none", resume=True))
    with pytest.raises(ValueError, match="the expert data has 4 episodes, fewer than batch_episodes"):
        train_sft(tiny_config(tiny, tmp_path / "few", batch_episodes=8))


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"mode": "both"}, ValueError, "mode must be one of"),
        ({"data_seeds": [1000]}, ValueError, "data_seeds and eval_seeds overlap"),
        ({"batch_episodes": 0}, ValueError, "batch_episodes must be >= 1"),
        ({"max_steps": 0}, ValueError, "max_steps must be >= 1 or null"),
        ({"epochs": "two"}, TypeError, "epochs must be of type int"),
        ({"no_such_field": 1}, ValueError, "unknown config field"),
    ],
)
def test_config_errors(overrides, error, match):
    with pytest.raises(error, match=match):
        load_config(None, overrides, config_cls=SFTConfig)
