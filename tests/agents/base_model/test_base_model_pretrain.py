from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

import agents.base_model.cache as cache_module
from agents.base_model import (
    BASE_MODEL_SIZES,
    BaseModelConfig,
    base_model_dir,
    default_cache_dir,
    ensure_base_model,
    pretrain,
    resolve_config,
)
from agents.base_model.pretrain import learning_rate
from textrl_envs.bandit_text import render_bandit_prompt

# a few seconds on 2 cores: 1 layer, 6 steps of ~1500 packed tokens
TINY = BaseModelConfig(
    name="tiny", vocab_size=512, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
    steps=6, tokens_per_step=1500, max_decisions=4, lr=3e-3, warmup_steps=2, checkpoint_every=2,
    tokenizer_docs=60, device="cpu", num_threads=1,
)


def test_sizes_and_unknown_size() -> None:
    assert {"quick", "reader", "gpu"} <= set(BASE_MODEL_SIZES)
    assert "default" not in BASE_MODEL_SIZES  # it ships with the package; nothing builds it here
    assert resolve_config("quick").name == "quick"
    with pytest.raises(ValueError, match="unknown base model size 'huge'; allowed"):
        resolve_config("huge")
    with pytest.raises(ValueError, match="unknown base model size"):
        pretrain("huge", "/nonexistent")
    with pytest.raises(ValueError, match=r"unknown base model size 'huge'; allowed: \[.*'default', "):
        ensure_base_model("huge")
    with pytest.raises(ValueError, match="ships with the package"):
        base_model_dir("default")
    with pytest.raises(TypeError, match="size must be a str"):
        ensure_base_model(3)  # type: ignore[arg-type]


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="divisible by num_heads"):
        BaseModelConfig(hidden_size=30, num_heads=4)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        BaseModelConfig(steps=0)
    with pytest.raises(ValueError, match="vocab_size must be >= 300"):
        BaseModelConfig(vocab_size=100)
    with pytest.raises(ValueError, match="tokens_per_step must be a positive int"):
        BaseModelConfig(tokens_per_step=0)
    with pytest.raises(ValueError, match="device must be one of"):
        BaseModelConfig(device="tpu")
    with pytest.raises(ValueError, match="tictactoe_fraction must be in"):
        BaseModelConfig(tictactoe_fraction=1.5)
    with pytest.raises(ValueError, match="data_workers must be an int >= 0, got -1"):
        BaseModelConfig(data_workers=-1)
    with pytest.raises(ValueError, match="batch_episodes must be True or False"):
        BaseModelConfig(batch_episodes=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stop_after must be >= 1"):
        pretrain(TINY, "/nonexistent", stop_after=0)
    with pytest.raises(TypeError, match="seed must be an int"):
        pretrain(TINY, "/nonexistent", seed=1.5)  # type: ignore[arg-type]


def test_learning_rate_schedule_by_hand() -> None:
    cfg = BaseModelConfig(lr=1.0, warmup_steps=2, steps=12, min_lr_ratio=0.1)
    assert learning_rate(cfg, 0) == pytest.approx(0.5)
    assert learning_rate(cfg, 1) == pytest.approx(1.0)
    assert learning_rate(cfg, 2) == pytest.approx(1.0)  # cosine starts at the peak
    assert learning_rate(cfg, 7) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert learning_rate(cfg, 12) == pytest.approx(0.1)


def test_copy_phase_on_its_own_schedule_by_hand() -> None:
    # copy steps 0..5 (warm-up 2, cosine over 2..6), then a fresh cycle over steps 6..15 (10 steps)
    cfg = BaseModelConfig(lr=1.0, warmup_steps=2, steps=16, copy_steps=6, copy_own_schedule=True,
                          min_lr_ratio=0.1)
    assert [learning_rate(cfg, s) for s in (0, 1, 2)] == pytest.approx([0.5, 1.0, 1.0])
    assert learning_rate(cfg, 4) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert learning_rate(cfg, 5) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.75)))
    assert [learning_rate(cfg, s) for s in (6, 7, 8)] == pytest.approx([0.5, 1.0, 1.0])  # restarts
    assert learning_rate(cfg, 12) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    # off, or with no copy phase: the one cycle over all steps
    for flat in (cfg.replace(copy_own_schedule=False), cfg.replace(copy_steps=0)):
        assert learning_rate(flat, 9) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    with pytest.raises(ValueError, match="copy_own_schedule must be True or False"):
        BaseModelConfig(copy_own_schedule=1)  # type: ignore[arg-type]
    # later_lr: the second cycle peaks there (same shape, scaled), the copy phase is untouched
    lower = cfg.replace(later_lr=0.2)
    copy_phase = [learning_rate(cfg, s) for s in range(6)]
    assert [learning_rate(lower, s) for s in range(6)] == pytest.approx(copy_phase)
    assert [learning_rate(lower, s) for s in (6, 7)] == pytest.approx([0.1, 0.2])
    assert learning_rate(lower, 12) == pytest.approx(0.2 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5))))
    with pytest.raises(ValueError, match="later_lr must be > 0 or None"):
        BaseModelConfig(later_lr=0.0)
    with pytest.raises(ValueError, match="needs copy_own_schedule=True and copy_steps > 0"):
        cfg.replace(copy_own_schedule=False, later_lr=0.2)  # it would be silently ignored


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pretrain(TINY, tmp_path_factory.mktemp("tiny") / "model", seed=0, progress=False)


def test_pretrained_folder_loads_with_from_pretrained(tiny_model: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    assert model.config.model_type == "llama"
    assert (tiny_model / "model.safetensors").is_file()
    info = json.loads((tiny_model / "pretrain_info.json").read_text())
    assert info["steps_done"] == 6 and not info["stopped_early"] and math.isfinite(info["final_loss"])
    assert info["wall_s"] >= info["wall_s_this_call"] > 0
    prompt = render_bandit_prompt(["red", "green"], [(0, 0.5)], cot=False)
    ids = tokenizer(prompt, return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=3, do_sample=False)
    assert out.shape[1] <= ids["input_ids"].shape[1] + 3
    assert tokenizer.eos_token_id == model.config.eos_token_id


def test_until_step_saves_the_full_runs_snapshot_and_the_run_continues_from_it(
    tiny_model: Path, tmp_path: Path
) -> None:
    snap = tmp_path / "snap"
    pretrain(TINY, snap, seed=0, progress=False, until_step=4)
    info = json.loads((snap / "pretrain_info.json").read_text())
    assert info["steps_done"] == 4 and info["until_step"] == 4
    at_4 = load_file(str(snap / "model.safetensors"))
    # the same run stopped (as if killed) after 4 steps holds the same weights in its checkpoint
    stopped = tmp_path / "stopped"
    pretrain(TINY, stopped, seed=0, progress=False, stop_after=4)
    ckpt = load_file(str(stopped / "checkpoint.safetensors"))
    for key, value in at_4.items():
        assert torch.equal(ckpt[f"model.{key}"], value), key
    # and the snapshot's folder finishes the full run bit-identically to the straight run
    pretrain(TINY, snap, seed=0, progress=False)
    straight = load_file(str(tiny_model / "model.safetensors"))
    assert all(torch.equal(load_file(str(snap / "model.safetensors"))[k], v) for k, v in straight.items())
    with pytest.raises(ValueError, match="until_step must be in"):
        pretrain(TINY, tmp_path / "bad", until_step=7)
    with pytest.raises(ValueError, match="past until_step"):
        pretrain(TINY, snap, seed=0, progress=False, until_step=2)


def test_resume_after_interruption_gives_the_same_weights(tiny_model: Path, tmp_path: Path) -> None:
    interrupted = tmp_path / "interrupted"
    pretrain(TINY, interrupted, seed=0, progress=False, stop_after=3)  # step 3 is not a checkpoint step
    assert not (interrupted / "model.safetensors").exists()
    assert (interrupted / "checkpoint.safetensors").is_file()
    pretrain(TINY, interrupted, seed=0, progress=False)
    resumed = load_file(str(interrupted / "model.safetensors"))
    straight = load_file(str(tiny_model / "model.safetensors"))
    assert resumed.keys() == straight.keys()
    for key in straight:
        assert torch.equal(resumed[key], straight[key]), key
    # the whole folder a rebuild must reproduce, byte for byte: a resumed run reloads its tokenizer, and
    # saving that reloaded object wrote load-time keys ("is_local") into tokenizer_config.json
    from agents.base_model.shipped import REPRODUCIBLE_FILES

    for name in REPRODUCIBLE_FILES:
        assert (interrupted / name).read_bytes() == (tiny_model / name).read_bytes(), name


def test_wall_time_budget_stops_early(tmp_path: Path) -> None:
    out = pretrain(TINY.replace(steps=10_000), tmp_path / "m", progress=False, max_wall_s=1e-3)
    info = json.loads((out / "pretrain_info.json").read_text())
    assert info["stopped_early"] and info["steps_done"] < 10_000
    AutoModelForCausalLM.from_pretrained(out)


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TEXTRL_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    assert base_model_dir("quick") == tmp_path / "c" / "base-model-quick-v3"
    monkeypatch.delenv("TEXTRL_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "textrl"


def test_ensure_base_model_builds_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(BASE_MODEL_SIZES, "quick", TINY)
    calls = []
    real_pretrain = cache_module.pretrain

    def counting_pretrain(*args, **kwargs):
        calls.append(args)
        return real_pretrain(*args, **kwargs)

    monkeypatch.setattr(cache_module, "pretrain", counting_pretrain)
    folder = ensure_base_model("quick", cache_dir=tmp_path, progress=False)
    assert folder == tmp_path / "base-model-quick-v3"
    assert (folder / "COMPLETE").is_file()
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    again = ensure_base_model("quick", cache_dir=tmp_path, progress=False)
    assert again == folder and len(calls) == 1
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    AutoTokenizer.from_pretrained(folder)


def test_batched_steps_and_data_workers_train_the_same_model(tiny_model: Path, tmp_path: Path) -> None:
    """The GPU recipe's switches change how a step is computed, not what: data made by a worker
    process equals the in-process data (the weights would differ otherwise), and one padded forward
    per step equals one forward per episode up to float summation order."""
    other = pretrain(TINY.replace(batch_episodes=True, data_workers=1), tmp_path / "batched", seed=0,
                     progress=False)
    a, b = load_file(str(tiny_model / "model.safetensors")), load_file(str(other / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=2e-4, rtol=1e-3)
    info_a = json.loads((tiny_model / "pretrain_info.json").read_text())
    info_b = json.loads((other / "pretrain_info.json").read_text())
    assert info_b["final_loss"] == pytest.approx(info_a["final_loss"], rel=1e-4)
    assert info_b["first_loss"] == pytest.approx(info_a["first_loss"], rel=1e-5)


def test_lookup_copy_phase_is_always_one_batch(tmp_path: Path) -> None:
    """Lookup documents run as one padded batch per step whatever ``batch_episodes`` says: a copy-only
    run gives the same bytes with the switch on or off (per-episode steps would differ in float
    summation order), and the phase trains on lookups, not on copy episodes."""
    cfg = TINY.replace(steps=3, copy_steps=3, copy_documents="lookups")
    runs = [pretrain(cfg.replace(batch_episodes=flag), tmp_path / str(flag), seed=0, progress=False)
            for flag in (False, True)]
    a, b = (load_file(str(run / "model.safetensors")) for run in runs)
    assert all(torch.equal(a[key], b[key]) for key in a)
    episodes = pretrain(cfg.replace(copy_documents="episodes"), tmp_path / "episodes", seed=0, progress=False)
    c = load_file(str(episodes / "model.safetensors"))
    assert not all(torch.allclose(a[key], c[key], atol=1e-4) for key in a)  # other data, other weights
    with pytest.raises(ValueError, match="copy_documents must be one of"):
        TINY.replace(copy_documents="documents")


def test_later_phase_lookups_reach_the_training_steps(tmp_path: Path, monkeypatch) -> None:
    """The lookup fields of the config reach the data of each step: with every later document a
    full-prompt lookup, the warm-up and main steps train on those and the copy step on bare ones."""
    import importlib

    from agents.base_model.data import training_sequences

    # the module, not the function of the same name that the package exports
    pretrain_module = importlib.import_module("agents.base_model.pretrain")

    cfg = TINY.replace(steps=3, copy_steps=1, reading_warmup_steps=1, copy_documents="lookups",
                       lookup_share=1.0, lookup_full_prompt_share=1.0, lookup_max_pulls=2,
                       informative_decision_share=0.5, max_stickiness=0.1, summary_share=0.7,
                       means_format="running_max")
    seen = {}

    def capture(tokenizer, tokenizer_dir, step_kwargs, step, last_step, workers=0):
        seen.update({s: step_kwargs(s) for s in range(step, last_step)})
        seen["tokenizer"] = tokenizer
        raise KeyboardInterrupt  # stop before any training

    monkeypatch.setattr(pretrain_module, "step_batches", capture)
    with pytest.raises(KeyboardInterrupt):
        pretrain(cfg, tmp_path / "run", seed=0, progress=False)
    tokenizer = seen["tokenizer"]
    assert all(seen[s]["informative_share"] == 0.5 and seen[s]["max_stickiness"] == 0.1
               and seen[s]["summary_share"] == 0.7 and seen[s]["means_format"] == "running_max"
               for s in range(3))
    for step, opening in ((0, "Step=0 Action="), (1, "You are"), (2, "You are")):
        for seq in training_sequences(tokenizer, **seen[step]):
            assert seq.turns == [0]  # one-decision lookup documents only
            trunk = tokenizer.decode(seq.input_ids[: int((seq.segment == -1).sum())].tolist())
            assert trunk.startswith(opening), (step, trunk[:40])
