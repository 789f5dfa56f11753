"""RLFTConfig validation, YAML loading and command-line overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.rlft.config import RLFTConfig, load_config
from agents.sft.config import SFTConfig

CONFIGS = sorted((Path(__file__).resolve().parents[3] / "configs").glob("*.yaml"))
# expert-SFT configs (``textrl sft --config``) carry "sft" in their name; the rest are ``textrl train``'s
RL_CONFIGS = [p for p in CONFIGS if "sft" not in p.name]
SFT_CONFIGS = [p for p in CONFIGS if "sft" in p.name]


def test_defaults_follow_the_paper():
    cfg = RLFTConfig()
    assert (cfg.clip_eps, cfg.kl_coef, cfg.kl_estimator, cfg.temperature) == (0.2, 0.05, "k3", 1.0)
    assert cfg.resolved_advantage == "mc"
    assert RLFTConfig(env_id="TextTicTacToe-v0").resolved_advantage == "gae"


@pytest.mark.parametrize("path", RL_CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load_and_validate(path):
    # a misspelt field or a value outside the allowed ones fails here, not minutes into a run
    cfg = load_config(path)
    assert cfg.env_id in ("TextBandit-v0", "TextTicTacToe-v0", "TextContextualBandit-v0")
    assert cfg.total_updates >= 1 and cfg.out.startswith("runs/")


@pytest.mark.parametrize("path", SFT_CONFIGS, ids=lambda p: p.name)
def test_shipped_sft_configs_load_and_validate(path):
    cfg = load_config(path, config_cls=SFTConfig)
    assert cfg.env_id in ("TextBandit-v0", "TextTicTacToe-v0", "TextContextualBandit-v0")
    assert cfg.mode in ("behaviour", "thought") and cfg.out.startswith("runs/")
    assert not set(cfg.data_seeds) & set(cfg.eval_seeds)


def test_there_are_shipped_configs():
    assert {p.name for p in CONFIGS} >= {"bandit_tiny.yaml", "bandit_explore.yaml", "tictactoe_tiny.yaml",
                                         "smollm2_sft_cpu.yaml"}


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
        ({"report_to": "mlflow"}, ValueError, r"report_to must be one of \('auto', 'all', 'none', 'tensor"),
        ({"report_to": "wandb,none"}, ValueError, "report_to must be auto, all, none, or trackers"),
        ({"resume": True, "overwrite": True}, ValueError, "resume and overwrite exclude each other"),
        ({"num_envs": 0}, ValueError, "num_envs must be >= 1"),
        ({"kl_coef": -1.0}, ValueError, "kl_coef must be >= 0"),
        ({"exploration_bonus_steps": -1}, ValueError, "exploration_bonus_steps must be >= 0"),
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
    with pytest.raises(ValueError, match=r"the options: unknown config field\(s\) kl; allowed fields: env"):
        load_config(None, {"kl": 0.1})
    with pytest.raises(ValueError, match=r"unknown config field\(s\) kl_coeff \(did you mean kl_coef\?\)"):
        load_config(None, {"kl_coeff": 0.1})
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="must hold a YAML mapping"):
        load_config(bad)


def test_trl_names_are_aliases(tmp_path):
    """Issue 15: TRL's names (output_dir, report_to, save_steps, ...) work in YAML and as options."""
    path = tmp_path / "c.yaml"
    path.write_text("output_dir: runs/x\nsave_steps: 5\nbeta: 0.1\nnum_ppo_epochs: 2\nlog_with: none\n")
    cfg = load_config(path, {"eval_steps": "3", "max_completion_length": "24", "cliprange": "0.3",
                             "report-to": "wandb,trackio"})
    assert (cfg.out, cfg.checkpoint_every, cfg.kl_coef, cfg.epochs) == ("runs/x", 5, 0.1, 2)
    assert (cfg.eval_every, cfg.max_new_tokens, cfg.clip_eps) == (3, 24, 0.3)
    assert cfg.report_to == "wandb,trackio" and cfg.trackers == ["wandb", "trackio"]  # options win
    assert RLFTConfig(report_to=["tensorboard", "wandb"]).report_to == "tensorboard,wandb"  # a TRL list


def test_trl_options_without_counterpart_say_what_to_use(tmp_path):
    with pytest.raises(ValueError, match=r"logging_steps \(a TRL option\) has no counterpart in textrl "
                                         r"train: textrl logs every update"):
        load_config(None, {"logging_steps": "10"})
    with pytest.raises(ValueError, match="num_train_epochs .* set total_updates"):
        load_config(None, {"num_train_epochs": "3"})


def test_a_field_given_twice_under_two_names_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("out: runs/a\noutput_dir: runs/b\n")
    with pytest.raises(ValueError, match=f"config file {path} sets out twice, as out and as output_dir"):
        load_config(path)


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    """Issue 15: the error said 'in "<unicode string>"' instead of the file."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 1\nkl_coef: [0.1\n")
    with pytest.raises(ValueError, match=f"config file {bad}, line 3, column 1: not valid YAML") as info:
        load_config(bad)
    assert "unicode string" not in str(info.value)


def test_choice_tuples_equal_the_modules_that_use_them():
    """config.py keeps its own copies (it must not import torch); they stay the same tuples."""
    from agents.rlft import config
    from agents.rlft.advantages import BASELINES
    from agents.rlft.losses import KL_ESTIMATORS

    assert (config.BASELINES, config.KL_ESTIMATORS) == (BASELINES, KL_ESTIMATORS)


def test_every_field_has_help_and_one_group():
    import dataclasses

    from agents.rlft.config import GROUPS

    fields = dataclasses.fields(RLFTConfig)
    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(f.name for f in fields) and len(grouped) == len(set(grouped))
    assert all(len(f.metadata["help"]) > 10 for f in fields)


def test_identity_leaves_out_operational_fields():
    a = RLFTConfig(out="runs/a", progress=False, report_to="none", checkpoint_every=2)
    b = RLFTConfig(out="runs/b", resume=True, threads=1)
    assert a.config_hash() == b.config_hash()
    assert RLFTConfig(seed=1).config_hash() != RLFTConfig(seed=0).config_hash()
    assert "out" not in a.identity() and a.identity()["seed"] == 0


def test_fields_added_later_keep_the_hash_of_runs_made_before_them():
    """group_size, reward_signal and exploration_bonus_steps arrived after runs existed: at their old
    behaviour's values a config hashes as it did then (the values below were printed by commit bac9b29,
    before them), so such a run still resumes and the demo still reuses its stages; any other value is a
    new run."""
    assert RLFTConfig().config_hash() == "6d90c9b232a01c5d"
    ttt = {"env_id": "TextTicTacToe-v0", "num_envs": 4, "episodes_per_env": 3, "seed": 5}
    assert RLFTConfig(**ttt).config_hash() == "0b7b23584284a8a0"
    assert RLFTConfig(reward_signal="regret").config_hash() != "6d90c9b232a01c5d"
    assert RLFTConfig(exploration_bonus_steps=8).config_hash() != "6d90c9b232a01c5d"
    assert "exploration_bonus_steps" not in RLFTConfig().identity()
    assert RLFTConfig(num_envs=4, group_size=2).config_hash() != RLFTConfig(num_envs=4).config_hash()
    assert "group_size" not in RLFTConfig().identity()
    assert RLFTConfig(reward_signal="regret").identity()["reward_signal"] == "regret"
