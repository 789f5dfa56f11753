"""RLFTConfig validation, YAML loading and command-line overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.rlft.config import RLFTConfig, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[3] / "configs").glob("*.yaml"))


def test_defaults_follow_the_paper():
    cfg = RLFTConfig()
    assert (cfg.clip_eps, cfg.kl_coef, cfg.kl_estimator, cfg.temperature) == (0.2, 0.05, "k3", 1.0)
    assert cfg.resolved_advantage == "mc"
    assert RLFTConfig(env_id="TextTicTacToe-v0").resolved_advantage == "gae"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load_and_validate(path):
    # a misspelt field or a value outside the allowed ones fails here, not minutes into a run
    cfg = load_config(path)
    assert cfg.env_id in ("TextBandit-v0", "TextTicTacToe-v0", "TextContextualBandit-v0")
    assert cfg.total_updates >= 1 and cfg.out.startswith("runs/")


def test_there_are_shipped_configs():
    assert {p.name for p in CONFIGS} >= {"bandit_tiny.yaml", "bandit_explore.yaml", "tictactoe_tiny.yaml"}


def test_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("env_id: TextBandit-v0\nkl_coef: 0.05\nlearning_rate: 1e-4\nenv_kwargs: {n_arms: 5}\n")
    cfg = load_config(path, {"kl_coef": "0.1", "total-updates": "7", "value_clip": "null"})
    assert cfg.kl_coef == 0.1 and cfg.total_updates == 7 and cfg.value_clip is None
    assert cfg.learning_rate == pytest.approx(1e-4) and cfg.env_kwargs == {"n_arms": 5}
    assert load_config(None, {"eval_seeds": "[3, 4]"}).eval_seeds == [3, 4]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kl_estimator": "k5"}, ValueError, r"kl_estimator must be one of \('k1', 'k2', 'k3'\)"),
        ({"advantage": "td"}, ValueError, r"advantage must be one of \('auto', 'gae', 'mc', 'loo', 'grpo'\)"),
        ({"optimizer": "sgd"}, ValueError, r"optimizer must be one of \('adamw', 'adafactor'\)"),
        ({"kl_in": "both"}, ValueError, "kl_in must be one of"),
        ({"mixed_precision": "fp16"}, ValueError, "mixed_precision must be one of"),
        ({"base_model_size": "huge"}, ValueError, "base_model_size must be one of"),
        ({"log_with": "wandb"}, ValueError, "log_with must be one of"),
        ({"num_envs": 0}, ValueError, "num_envs must be >= 1"),
        ({"kl_coef": -1.0}, ValueError, "kl_coef must be >= 0"),
        ({"temperature": 0.0}, ValueError, "temperature must be > 0"),
        ({"top_p": 1.5}, ValueError, r"top_p must be in \(0, 1\]"),
        ({"clip_eps": 1.0}, ValueError, r"clip_eps must be in \(0, 1\)"),
        ({"gamma": 1.5}, ValueError, r"gamma must be in \[0, 1\]"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate must be > 0"),
        ({"learning_rate": 1e-6, "min_learning_rate": 1e-5}, ValueError, "must not exceed learning_rate"),
        ({"max_grad_norm": 0.0}, ValueError, "max_grad_norm must be > 0"),
        ({"value_clip": -0.1}, ValueError, "value_clip must be > 0 or null"),
        ({"eval_seeds": []}, ValueError, "eval_seeds must name at least one seed"),
        ({"threads": 0}, ValueError, "threads must be >= 1 or null"),
        ({"env_id": ""}, ValueError, "env_id must be a registered"),
        ({"num_envs": "many"}, TypeError, "num_envs must be of type int"),
        ({"num_envs": True}, TypeError, "num_envs must be an int, got a bool"),
        ({"learning_rate": "fast"}, TypeError, "learning_rate must be a float"),
    ],
)
def test_validation_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        RLFTConfig(**kwargs)


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown config field\\(s\\) \\['kl'\\]; allowed fields: env_id"):
        load_config(None, {"kl": 0.1})
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="must hold a YAML mapping"):
        load_config(bad)
