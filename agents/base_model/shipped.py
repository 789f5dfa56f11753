"""The base model that ships inside the package: its folder, its manifest, and the checks on both.

The ``default`` embedded model is trained once, offline, with ``scripts/pretrain_base_model.py``
(as much CPU as it takes, more than a demo can spend) and its ``save_pretrained`` files are
committed under ``agents/base_model/weights/<size>/`` with a ``MANIFEST.json`` that holds:

- ``files``: the sha256 of every file of the folder (the weights are safetensors, fp32);
- ``command``, ``seed``, ``config`` (the :class:`~agents.base_model.config.BaseModelConfig` fields),
  ``data_version`` and ``code`` (the commit whose script trained it): what reproduces the weights
  (the data of optimizer step ``s`` is
  a pure function of ``(seed, s)``, so the same command on the same torch build and thread count
  gives the same bytes), plus ``torch`` / ``transformers`` versions and the wall time it took.

:func:`shipped_model_dir` returns the folder after checking the weights against the manifest (once
per process), so a corrupted or hand-edited file is an error that names the file, not a silently
different model.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from agents.evaluation.io import sha256_file, write_json

WEIGHTS_ROOT = Path(__file__).resolve().parent / "weights"
MANIFEST_FILE = "MANIFEST.json"
#: Sizes whose weights ship with the package (the others are pretrained into the cache on first use).
SHIPPED_SIZES = ("default",)
#: The files ``save_pretrained`` writes for the model and its tokenizer (and the training record).
SHIPPED_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                 "tokenizer_config.json", "pretrain_info.json")
#: The files a rebuild reproduces byte for byte (``pretrain_info.json`` records wall times).
REPRODUCIBLE_FILES = tuple(name for name in SHIPPED_FILES if name != "pretrain_info.json")
_verified: set[Path] = set()


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a shipped model folder.

    Raises:
        FileNotFoundError: the folder or its ``MANIFEST.json`` is missing.
        ValueError: the manifest is not valid JSON or lacks ``files``.
    """
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {MANIFEST_FILE} in {folder}: not a shipped base model folder")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ValueError(f"{path} has no 'files' table of sha256 sums")
    return manifest


def verify_folder(
    folder: str | os.PathLike[str],
    manifest: dict[str, Any] | None = None,
    names: tuple[str, ...] | None = None,
) -> None:
    """Check files of ``folder`` against the sha256 sums of a manifest.

    Args:
        folder: the model folder.
        manifest: the manifest to check against (default: the folder's own ``MANIFEST.json``); pass
            a shipped model's manifest to check that a rebuilt folder reproduces it byte for byte.
        names: the files to check (default: every file the manifest lists).

    Raises:
        FileNotFoundError: a listed file is missing. ValueError: a file's sha256 differs (named).
    """
    folder = Path(folder)
    manifest = read_manifest(folder) if manifest is None else manifest
    for name, expected in manifest["files"].items():
        if names is not None and name not in names:
            continue
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing (listed in the manifest)")
        actual = sha256_file(path)
        if actual != expected:
            raise ValueError(f"{path} has sha256 {actual}, the manifest says {expected}")


def shipped_model_dir(size: str = "default") -> Path:
    """The folder of a shipped base model, checked against its manifest (once per process).

    Raises:
        ValueError: ``size`` does not ship (the message lists the shipped sizes) or a file differs.
        FileNotFoundError: the weights are not in this checkout (rebuild them with the command the
            error prints).
    """
    if size not in SHIPPED_SIZES:
        raise ValueError(f"base model size {size!r} is not shipped; shipped sizes: {list(SHIPPED_SIZES)}")
    folder = WEIGHTS_ROOT / size
    if folder not in _verified:
        if not (folder / MANIFEST_FILE).is_file():
            raise FileNotFoundError(
                f"the shipped {size!r} base model is missing from {folder}; rebuild it with "
                f"`python scripts/pretrain_base_model.py --size {size} --out DIR --ship`"
            )
        verify_folder(folder)
        _verified.add(folder)
    return folder


def ship(built: str | os.PathLike[str], size: str, record: dict[str, Any],
         dest_root: str | os.PathLike[str] = WEIGHTS_ROOT) -> Path:
    """Copy a finished pretraining folder into ``dest_root/size`` and write its manifest.

    ``record`` is merged into the manifest (command, seed, config, data version, wall time, ...);
    ``files`` is computed here. The destination is replaced as a whole (built next to it, then
    renamed), so a crash never leaves half a model in the package.
    """
    built = Path(built)
    missing = [name for name in SHIPPED_FILES if not (built / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{built} is not a finished pretraining folder: missing {missing}")
    dest = Path(dest_root) / size
    staging = dest.with_name(f".{size}.staging")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in SHIPPED_FILES:
        shutil.copy2(built / name, staging / name)
    manifest = {**record, "size": size,
                "files": {name: sha256_file(staging / name) for name in SHIPPED_FILES}}
    write_json(staging / MANIFEST_FILE, manifest)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(staging, dest)
    _verified.discard(dest)
    return dest
