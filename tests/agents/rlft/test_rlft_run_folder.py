"""Issue 15's reproductions of the output-folder bugs, replayed: identity, overwrite, validation before
writing, corrupt checkpoints, a torn metrics line; and the files a run writes (run.json, model card)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from agents.rlft.checkpoint import latest_checkpoint
from agents.rlft.config import RLFTConfig
from agents.rlft.run_folder import RunFolderError, SetupError, truncate_metrics
from agents.rlft.trainer import train

TINY_ENV = {"n_arms": 3, "horizon": 3}


def tiny_config(model, out, **overrides):
    base = dict(
        model=str(model), out=str(out), env_kwargs=TINY_ENV, total_updates=3, num_envs=2, max_new_tokens=4,
        micro_batch_episodes=2, eval_at_end=False, progress=False, report_to="none", warmup_steps=1,
        learning_rate=1e-3, checkpoint_every=1,
    )  # fmt: skip
    base.update(overrides)
    return RLFTConfig(**base)


def read_metrics(out):
    lines = (Path(out) / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(ln).items() if not k.startswith("time/")} for ln in lines]


def snapshot(folder):
    """Every file under ``folder`` with a hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def finished(tiny_llama, tmp_path_factory):
    """A finished seed-0 run of 3 updates with a checkpoint after each, and its metrics."""
    out = train(tiny_config(tiny_llama, tmp_path_factory.mktemp("finished") / "run", seed=0))
    return out, read_metrics(out)


@pytest.fixture
def copy_of(finished, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(finished[0], folder)
    return folder


def test_run_json_records_identity_settings_and_model(finished, tiny_llama):
    out, _ = finished
    run = json.loads((out / "run.json").read_text())
    config = tiny_config(tiny_llama, out, seed=0)
    assert run["config_hash"] == config.config_hash() and run["identity"] == config.identity()
    assert run["model"] == str(tiny_llama)
    assert run["env_settings"]["TextBandit-v0"]["horizon"] == 3
    assert run["env_settings"]["TextBandit-v0"]["noise"] == "medium"  # a default, recorded
    state = json.loads((out / "checkpoints" / "step_000003" / "state.json").read_text())
    assert state["config_hash"] == config.config_hash()


def test_final_model_has_a_model_card(finished, tiny_llama):
    card = (finished[0] / "final_model" / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: transformers\n")
    assert "base_model" not in card.split("---")[1]  # a local folder is not a hub id
    assert str(tiny_llama) in card and "# TextBandit-v0 agent" in card
    assert "| `horizon` | 3 |" in card and "| `noise` | 'medium' |" in card  # every env setting
    assert "No evaluation after the last update" in card  # eval_at_end was off
    record = finished[1][-1]
    assert f"| `objective/kl` | {record['objective/kl']:.4g} |" in card  # the last update's metrics
    assert "```yaml\nenv_id: TextBandit-v0\n" in card


def test_resume_refuses_another_runs_folder_and_overwrite_starts_afresh(
    finished, copy_of, tiny_llama, interrupt
):
    """Issue 15, item 1: a seed-1 run killed at update 2 in a folder holding a finished seed-0 run, then
    --resume, finished at once and wrote a final_model byte-identical to seed 0's."""
    before = snapshot(copy_of)
    with pytest.raises(RunFolderError, match=r"already holds a run \(run.json, config.yaml, metrics.jsonl, "
                                             r"checkpoints, final_model\); pass --resume to continue it, "
                                             r"--overwrite to delete it"):
        train(tiny_config(tiny_llama, copy_of, seed=1))
    with pytest.raises(RunFolderError, match=r"cannot resume the run in .*: it was made with another config "
                                             r"\(seed: 0 in the run, 1 now; from .*run.json\)"):
        train(tiny_config(tiny_llama, copy_of, seed=1, resume=True))
    assert snapshot(copy_of) == before  # refused before writing anything

    with pytest.raises(interrupt.Error):
        train(tiny_config(tiny_llama, copy_of, seed=1, overwrite=True), on_update=interrupt.at(2))
    assert latest_checkpoint(copy_of).name == "step_000002"  # seed 0's step_000003 was deleted
    assert not (copy_of / "final_model").exists()
    train(tiny_config(tiny_llama, copy_of, seed=1, resume=True))
    assert [m["update"] for m in read_metrics(copy_of)] == [1, 2, 3]
    seed0 = (finished[0] / "final_model" / "model.safetensors").read_bytes()
    assert (copy_of / "final_model" / "model.safetensors").read_bytes() != seed0


def test_a_folder_from_before_run_json_is_judged_by_its_config_yaml(copy_of, tiny_llama):
    (copy_of / "run.json").unlink()
    with pytest.raises(RunFolderError, match=r"\(seed: 0 in the run, 1 now; from .*config.yaml\)"):
        train(tiny_config(tiny_llama, copy_of, seed=1, resume=True))
    (copy_of / "config.yaml").unlink()
    with pytest.raises(RunFolderError, match="without run.json or config.yaml"):
        train(tiny_config(tiny_llama, copy_of, seed=0, resume=True))


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"env_id": "NoSuchEnv-v0"}, r"env_id 'NoSuchEnv-v0': .*textrl's environments: TextBandit-v0"),
        ({"env_kwargs": {"n_arms": 3, "horizon": 0}}, r"env_kwargs .* for TextBandit-v0: horizon must be"),
        ({"model": "/no/such/model"}, r"model '/no/such/model': model folder '/no/such/model' does not"),
        ({"report_to": "wandb"}, r"report_to=wandb needs the wandb package, which is not installed: "
                                 r"pip install 'textrl\[wandb\]'"),
    ],
)
def test_a_failing_run_leaves_the_previous_run_untouched(copy_of, tiny_llama, overrides, match):
    """Issue 15, item 2: env_id NoSuchEnv-v0 pointed at a finished run's folder deleted its metrics."""
    if overrides.get("report_to") == "wandb" and __import__("importlib").util.find_spec("wandb"):
        pytest.skip("wandb is installed")
    before = snapshot(copy_of)
    with pytest.raises(SetupError, match=match):
        train(tiny_config(overrides.pop("model", tiny_llama), copy_of, overwrite=True, **overrides))
    assert snapshot(copy_of) == before


def test_a_corrupt_checkpoint_and_a_torn_metrics_line_are_survived(finished, copy_of, tiny_llama, capsys):
    """Issue 15, items 3 and 4, as one kill: update 3's metrics line half written, its checkpoint damaged.
    Before, --resume stopped with a SafetensorError that never named the file, or a JSONDecodeError
    (every file of a checkpoint is covered on a small module in test_rlft_checkpoint.py)."""
    bad = copy_of / "checkpoints" / "step_000003"
    (bad / "model.safetensors").write_bytes(b"junk")
    lines = (copy_of / "metrics.jsonl").read_text().splitlines()
    (copy_of / "metrics.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:25])
    train(tiny_config(tiny_llama, copy_of, seed=0, resume=True))
    err = capsys.readouterr().err
    assert f"checkpoint {bad} cannot be restored ({bad / 'model.safetensors'}: SafetensorError" in err
    assert "dropped a torn last line" in err and "after update 2" in err
    assert read_metrics(copy_of) == finished[1]  # update 3 redone from step 2: the same numbers
    assert (bad / "state.json").read_text().startswith("{")  # rewritten, complete


def test_no_readable_checkpoint_is_a_setup_error(copy_of, tiny_llama):
    for step in (1, 2, 3):
        (copy_of / "checkpoints" / f"step_{step:06d}" / "model.safetensors").write_bytes(b"")
    before = snapshot(copy_of)
    with pytest.raises(SetupError, match=r"no checkpoint of this run can be restored: .*step_000003/model"):
        train(tiny_config(tiny_llama, copy_of, seed=0, resume=True))
    assert snapshot(copy_of) == before


def test_truncate_metrics_keeps_through_and_names_a_broken_middle_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"update": 1}\n{"update": 2}\n{"update": 3}\n{"upd')
    warnings = []
    truncate_metrics(path, 2, warn=warnings.append)
    assert path.read_text() == '{"update": 1}\n{"update": 2}\n'
    assert len(warnings) == 1 and "torn last line" in warnings[0]
    path.write_text('{"update": 1}\nnot json\n{"update": 3}\n')
    with pytest.raises(SetupError, match=r"metrics.jsonl, line 2: not a metrics record"):
        truncate_metrics(path, 3)
