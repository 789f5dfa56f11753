"""Pretrain the embedded base model from scratch: tokenizer, Llama model, AdamW, resumable checkpoints.

Reads top to bottom: train (or reload) the tokenizer, build the model, restore the checkpoint if
there is one, then loop: the packed episodes of step ``s`` (a pure function of ``(seed, s)``) ->
each run as one sequence with its 4-D attention mask (:func:`agents.rlft.value_head.packed_forward`:
the shared history once, every decision's branch seeing only its own prefix) -> mean negative
log-likelihood of all targets -> clipped AdamW step -> checkpoint every ``checkpoint_every`` steps.
(On 2 CPU cores the dense mask per episode ran ~2x faster than the tree of trunk + cached branches,
whose many small matrix products cost more than the mask's extra attention at these lengths.)
At the end the model and tokenizer are
saved with ``save_pretrained`` (safetensors) into ``out_dir``, loadable with ``from_pretrained``.

Checkpoint (``out_dir/checkpoint.safetensors``, replaced atomically): model parameters,
AdamW moments, torch RNG state and, in the safetensors metadata, the step and the optimizer's
non-tensor state. Loading uses ``safetensors`` only (no pickle). Because the data of step ``s``
depends on ``(seed, s)`` only, a resumed run computes bit-identical weights to an uninterrupted one
on the same machine (same thread count).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, safe_open, save_file
from tqdm.auto import tqdm
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from agents.base_model.config import BaseModelConfig, resolve_config
from agents.base_model.data import tokenizer_corpus
from agents.base_model.number_embedding import freeze_number_features, init_number_embeddings
from agents.base_model.prefetch import step_batches
from agents.base_model.tokenizer import train_tokenizer
from agents.evaluation.io import atomic_write, write_json
from agents.rlft.packing import collate
from agents.rlft.value_head import packed_forward

CHECKPOINT_FILE = "checkpoint.safetensors"
TOKENIZER_DIR = "tokenizer"  # the tokenizer is trained first and kept here, so a resume reuses it
INFO_FILE = "pretrain_info.json"


def model_config(config: BaseModelConfig, tokenizer: Any) -> LlamaConfig:
    """The transformers ``LlamaConfig`` of a base-model config (tied embeddings, no dropout)."""
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=True,  # the embedding is a large share of a tiny model
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        attention_dropout=0.0,
    )


def _warmup_cosine(peak: float, step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to ``peak * min_ratio`` at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return peak * (min_ratio + (1.0 - min_ratio) * cosine)


def learning_rate(config: BaseModelConfig, step: int) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``lr * min_lr_ratio`` at ``steps``.

    With ``config.copy_own_schedule`` the copy phase runs one such cycle over its ``copy_steps``, and
    the rest of training a second, fresh one (warm-up included) over the remaining steps, peaking at
    ``config.later_lr`` when it is set.
    """
    if config.copy_own_schedule and config.copy_steps:
        if step < config.copy_steps:
            return _warmup_cosine(config.lr, step, config.warmup_steps, config.copy_steps,
                                  config.min_lr_ratio)
        later = config.lr if config.later_lr is None else config.later_lr
        return _warmup_cosine(later, step - config.copy_steps, config.warmup_steps,
                              config.steps - config.copy_steps, config.min_lr_ratio)
    return _warmup_cosine(config.lr, step, config.warmup_steps, config.steps, config.min_lr_ratio)


def _atomic_save_file(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def save_checkpoint(
    path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int, wall_s: float = 0.0
) -> None:
    """Write model, optimizer and RNG state at ``step`` (steps done) atomically to ``path``.

    ``wall_s`` (training seconds so far, over all calls) is kept in the metadata so that a resumed
    run reports its whole wall time.
    """
    tensors: dict[str, torch.Tensor] = {}
    # named_parameters() lists the tied embedding once; clone so no two entries share memory
    for name, param in model.named_parameters():
        tensors[f"model.{name}"] = param.detach().cpu().clone().contiguous()
    opt_state = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in opt_state["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value.detach().cpu().clone().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    tensors["rng.torch"] = torch.get_rng_state()
    metadata = {
        "step": str(step),
        "optim_scalars": json.dumps(scalars),
        "param_groups": json.dumps(opt_state["param_groups"]),
        "wall_s": f"{wall_s:.1f}",
    }
    _atomic_save_file(tensors, path, metadata)


def load_checkpoint(
    path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[int, float]:
    """Restore a checkpoint written by :func:`save_checkpoint`; returns (steps done, wall seconds so far)."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    device = next(model.parameters()).device
    with torch.no_grad():
        for name, param in model.named_parameters():
            key = f"model.{name}"
            if key not in tensors:
                raise ValueError(
                    f"checkpoint {path} lacks parameter {name!r}; was it written by another config?"
                )
            param.copy_(tensors[key])
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value.to(device)
    for idx, scalars in json.loads(metadata["optim_scalars"]).items():
        state.setdefault(int(idx), {}).update(scalars)
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(metadata["param_groups"])})
    torch.set_rng_state(tensors["rng.torch"])
    return int(metadata["step"]), float(metadata.get("wall_s", 0.0))


def _device(config: BaseModelConfig) -> torch.device:
    if config.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but CUDA is not available; use 'auto' or 'cpu'")
    if config.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(config.device)


def _load_or_train_tokenizer(config: BaseModelConfig, out_dir: Path, seed: int, resume: bool) -> Any:
    tok_dir = out_dir / TOKENIZER_DIR
    if resume and (tok_dir / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(str(tok_dir))
    corpus = tokenizer_corpus(seed, config.tokenizer_docs, config.tictactoe_fraction)
    tokenizer = train_tokenizer(corpus, config.vocab_size, config.number_tokens)
    tmp = Path(tempfile.mkdtemp(dir=out_dir, prefix=".tokenizer-"))
    tokenizer.save_pretrained(str(tmp))
    if tok_dir.exists():
        for child in tok_dir.iterdir():
            child.unlink()
        tok_dir.rmdir()
    os.replace(tmp, tok_dir)
    return tokenizer


def pretrain(
    size: str | BaseModelConfig,
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    resume: bool = True,
    progress: bool = True,
    max_wall_s: float | None = None,
    stop_after: int | None = None,
    until_step: int | None = None,
) -> Path:
    """Pretrain the base model of ``size`` into ``out_dir`` and return the folder.

    Args:
        size: a name in ``BASE_MODEL_SIZES`` (``"quick"``, ``"default"``, ``"gpu"``) or a
            :class:`BaseModelConfig`.
        out_dir: folder for the model; created if missing. Holds the checkpoint while training.
        seed: seeds the data stream, the tokenizer corpus and the weight initialisation.
        resume: continue from ``out_dir``'s checkpoint (and tokenizer) if present; ``False`` starts over.
        progress: show a tqdm progress bar.
        max_wall_s: wall-time budget for this call (overrides the config's); when it runs out the
            model is saved as it is and ``pretrain_info.json`` records ``"stopped_early": true``.
        stop_after: stop (as if interrupted) after this many optimizer steps in this call, leaving the
            checkpoint to resume from and *not* saving the final model (for splitting long runs).
        until_step: save the model as it is after this many steps of the config's schedule (the
            learning rate still follows ``config.steps``): an exact snapshot of the full run at that
            step, reproducible like the full run (``pretrain_info.json`` records ``until_step``).

    Returns:
        ``out_dir`` as a ``Path``; unless stopped by ``stop_after`` it holds ``config.json``,
        ``model.safetensors``, the tokenizer files and ``pretrain_info.json``.
    """
    config = resolve_config(size)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if stop_after is not None and stop_after < 1:
        raise ValueError(f"stop_after must be >= 1 or None, got {stop_after}")
    if until_step is not None and not 1 <= until_step <= config.steps:
        raise ValueError(
            f"until_step must be in [1, {config.steps}] (the config's steps) or None, got {until_step}"
        )
    last_step = config.steps if until_step is None else until_step
    budget = config.max_wall_s if max_wall_s is None else max_wall_s
    if budget is not None and budget <= 0:
        raise ValueError(f"max_wall_s must be > 0 or None, got {budget}")
    start = time.monotonic()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = _device(config)
    if device.type == "cpu":
        torch.set_num_threads(config.num_threads)

    tokenizer = _load_or_train_tokenizer(config, out, seed, resume)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(model_config(config, tokenizer))
    if config.number_value_init:
        init_number_embeddings(model, tokenizer, config.number_value_scale)
    model = model.to(device)
    if config.number_value_frozen:
        freeze_number_features(model, tokenizer)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr, betas=(0.9, 0.95),
    )
    ckpt = out / CHECKPOINT_FILE
    step, wall_before = load_checkpoint(ckpt, model, optimizer) if resume and ckpt.is_file() else (0, 0.0)

    def wall_s() -> float:
        return wall_before + time.monotonic() - start
    use_bf16 = device.type == "cuda"

    model.train()
    stopped_early, last_loss, first_loss, steps_this_call = False, float("nan"), None, 0
    bar = tqdm(total=config.steps, initial=step, desc=f"pretrain base model ({config.name})",
               disable=not progress, unit="step")
    if step > last_step:
        raise ValueError(f"the checkpoint in {out} is at step {step}, past until_step={until_step}")

    def step_kwargs(s: int) -> dict[str, Any]:
        return dict(seed=seed, step=s, token_budget=config.tokens_per_step,
                    tictactoe_fraction=config.tictactoe_fraction, max_decisions=config.max_decisions,
                    copy=config.phase(s) == "copy", warmup=config.phase(s) == "warmup",
                    copy_documents=config.copy_documents, lookup_share=config.lookup_share,
                    lookup_full_prompt_share=config.lookup_full_prompt_share,
                    lookup_max_pulls=config.lookup_max_pulls,
                    informative_share=config.informative_decision_share,
                    max_stickiness=config.max_stickiness, summary_share=config.summary_share,
                    means_format=config.means_format, copy_means_format=config.copy_means_format)

    def forward_loss(sequences: list, n_targets: int) -> torch.Tensor:
        batch = collate(sequences, pad_id=tokenizer.pad_token_id, device=device).to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logp, _, _ = packed_forward(model, batch)
        return -logp.float().sum() / n_targets

    batches = step_batches(tokenizer, out / TOKENIZER_DIR, step_kwargs, step, last_step,
                           workers=config.data_workers)
    for sequences in batches:
        if budget is not None and time.monotonic() - start > budget:
            stopped_early = True
            break
        n_targets = sum(int(seq.target_ids.numel()) for seq in sequences)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        optimizer.zero_grad(set_to_none=True)
        loss_sum = 0.0
        # one padded batch per step (GPU: few kernel launches) or one episode at a time (CPU: no
        # padding, gradients accumulate, memory stays small). Lookup documents are always batched:
        # ~50 short one-branch documents a step pad little, and one forward beats fifty
        lookups = config.phase(step) == "copy" and config.copy_documents == "lookups"
        batched = config.batch_episodes or lookups
        for chunk in ([sequences] if batched else [[seq] for seq in sequences]):
            loss = forward_loss(chunk, n_targets)
            loss.backward()
            loss_sum += float(loss.detach())
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        step += 1
        steps_this_call += 1
        last_loss = loss_sum
        first_loss = loss_sum if first_loss is None else first_loss
        bar.update(1)
        bar.set_postfix(loss=f"{last_loss:.3f}")
        if step % config.checkpoint_every == 0 or step == last_step:
            save_checkpoint(ckpt, model, optimizer, step, wall_s())
        if stop_after is not None and steps_this_call >= stop_after and step < last_step:
            save_checkpoint(ckpt, model, optimizer, step, wall_s())
            bar.close()
            batches.close()  # stops the workers
            return out
    bar.close()
    batches.close()
    if stopped_early:
        save_checkpoint(ckpt, model, optimizer, step, wall_s())

    model.eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None
    model.save_pretrained(str(out), safe_serialization=True)
    # the tokenizer's files as first saved, not ``tokenizer.save_pretrained``: a resumed run reloaded
    # it, and a reloaded tokenizer writes load-time keys ("is_local") into tokenizer_config.json, so
    # the folder would depend on whether the run was ever interrupted
    for item in sorted((out / TOKENIZER_DIR).iterdir()):
        if item.is_file():
            shutil.copyfile(item, out / item.name)
    info = {
        "config": config.to_dict(), "seed": seed, "steps_done": step, "until_step": until_step,
        "stopped_early": stopped_early,
        "final_loss": last_loss, "first_loss": first_loss,
        "wall_s_this_call": round(time.monotonic() - start, 1),
        "wall_s": round(wall_s(), 1),
        "num_threads": torch.get_num_threads() if device.type == "cpu" else None,
        "parameters": sum(p.numel() for p in model.parameters()), "device": device.type,
    }
    write_json(out / INFO_FILE, info)
    return out
