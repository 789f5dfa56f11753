from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from agents.base_model.shipped import (
    MANIFEST_FILE,
    REPRODUCIBLE_FILES,
    SHIPPED_FILES,
    read_manifest,
    sha256_file,
    ship,
    shipped_model_dir,
    verify_folder,
)


def _fake_build(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i, name in enumerate(SHIPPED_FILES):
        (folder / name).write_bytes(f"{name} {i}".encode() * 1000)
    return folder


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = bytes(range(256)) * 9000  # > 1 MiB block: read in several blocks
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_ship_writes_a_manifest_that_verifies(tmp_path: Path) -> None:
    built = _fake_build(tmp_path / "built")
    dest = ship(built, "default", {"command": "python x.py", "seed": 0}, dest_root=tmp_path / "weights")
    assert dest == tmp_path / "weights" / "default"
    manifest = read_manifest(dest)
    assert manifest["command"] == "python x.py" and manifest["size"] == "default"
    assert manifest["files"]["model.safetensors"] == hashlib.sha256(
        (built / "model.safetensors").read_bytes()).hexdigest()
    verify_folder(dest)
    verify_folder(built, manifest, REPRODUCIBLE_FILES)  # the build folder is the same bytes
    # shipping again replaces the folder as a whole, leaving no staging folder behind
    ship(built, "default", {"seed": 1}, dest_root=tmp_path / "weights")
    assert read_manifest(dest)["seed"] == 1
    assert sorted(p.name for p in (tmp_path / "weights").iterdir()) == ["default"]


def test_a_changed_or_missing_file_is_named(tmp_path: Path) -> None:
    dest = ship(_fake_build(tmp_path / "built"), "default", {}, dest_root=tmp_path / "weights")
    (dest / "tokenizer.json").write_text("edited")
    with pytest.raises(ValueError, match=r"tokenizer\.json has sha256 .* the manifest says"):
        verify_folder(dest)
    (dest / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"tokenizer\.json is missing"):
        verify_folder(dest)
    # pretrain_info.json (wall times) is not part of what a rebuild must reproduce
    (dest / "pretrain_info.json").write_text("{}")
    verify_folder(tmp_path / "built", read_manifest(dest), REPRODUCIBLE_FILES[:1])


def test_bad_manifests_and_sizes(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no MANIFEST.json"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"size": "default"}))
    with pytest.raises(ValueError, match="no 'files' table"):
        read_manifest(tmp_path)
    with pytest.raises(ValueError, match="'quick' is not shipped; shipped sizes"):
        shipped_model_dir("quick")
    with pytest.raises(FileNotFoundError, match="not a finished pretraining folder"):
        ship(tmp_path, "default", {}, dest_root=tmp_path / "w")


def test_the_shipped_default_matches_its_manifest_and_loads() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agents.base_model import ensure_base_model

    folder = ensure_base_model("default")
    manifest = read_manifest(folder)
    for name, digest in manifest["files"].items():  # hashlib, not the module's helper
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert {"command", "code", "seed", "config", "data_version"} <= set(manifest)
    assert manifest["seed"] == 0
    # the recipe is a named size of the pretraining script, field for field: the command rebuilds it
    from agents.base_model import resolve_config

    recipe = manifest["config"]["name"]
    assert f"--size {recipe} " in manifest["command"]
    assert resolve_config(recipe).to_dict() == manifest["config"]
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert sum(p.numel() for p in model.parameters()) == manifest["parameters"]
    assert tokenizer.eos_token_id == model.config.eos_token_id


def test_the_shipped_default_reads_the_rewards_in_its_context() -> None:
    """The reading probe (issue 12) on the shipped weights: k arms explored once each, in random order
    and with random labels; the model must name the best of them far above chance (1 / k). A model
    that chooses by name or position, or ignores the rewards, scores chance: the arms and rewards
    are exchangeable across labels. Measured: 94% / 85% / 95% of the exploiting answers for
    k = 3 / 4 / 5 (40 prompts each; p < 1e-11 each against chance)."""
    from agents.base_model import ensure_base_model
    from agents.llm import LLMAgent
    from analysis.probes.reading import reading, reading_scores

    agent = LLMAgent.from_pretrained(str(ensure_base_model("default")), temperature=0.0, max_new_tokens=64,
                                     batch_size=40)
    scores = reading_scores(reading(agent, ks=(3, 4, 5), n_prompts=40, progress=False)).set_index("k")
    for k in (3, 4, 5):
        row = scores.loc[k]
        # a reward-blind model names the best of its tried arms in 1 / k of them: with >= 24 exploiting
        # answers, p < 1e-4 and a share at least 0.4 above chance fail it with overwhelming probability
        assert row["named_tried"] * 40 >= 24, (k, row["named_tried"])
        assert row["p_tried"] < 1e-4 and row["best_given_tried"] >= row["chance"] + 0.4, (k, row.to_dict())
