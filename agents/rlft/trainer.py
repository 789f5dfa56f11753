"""RL fine-tuning of an LLM policy on a textrl environment: :func:`train`.

The loop, top to bottom (the paper's algorithm, SPEC "RL fine-tuning")::

    for update in range(total_updates):
        episodes = collect_rollout(policy, envs, ...)          # sampling at temperature 1
        metrics  = ppo_update(model, reference, episodes, ...)  # clipped objective + KL to reference
        log(metrics); maybe evaluate greedily on held-out seeds; maybe checkpoint

Runs unchanged under ``accelerate launch`` (DDP, one rollout per process on its own seeds, gradients
averaged), in bf16 autocast on a GPU (``mixed_precision="auto"``) and optionally with LoRA (peft).

Before it writes anything, a run checks its config, trackers, output folder, environment and model
(:mod:`agents.rlft.prepare`); a problem raises :class:`SetupError` and leaves the folder as it was.
Output folder ``config.out`` (:mod:`agents.rlft.run_folder`):

- ``run.json``: the run's identity (config hash), resolved environment settings and model;
  ``config.yaml``: the whole config.
- ``metrics.jsonl``: one JSON object per update: ``update``, ``objective/kl``, ``objective/entropy``,
  ``policy/clipfrac_avg``, ``policy/approxkl_avg``, ``loss/policy_avg``, ``loss/value_avg``,
  ``val/clipfrac_avg``, ``env/return``, ``env/cumulative_regret``, ``env/coverage``,
  ``env/invalid_action_rate``, ``env/greedy_fraction``, ``train/*`` (lr, grad norm, tokens, skipped
  steps), ``time/*`` (seconds, env steps trained per second) and, on evaluation updates, ``eval/*``.
  The same values go to accelerate's trackers (``report_to``; their files under ``logs/``).
- ``eval/step_XXXXXX/``: the tidy step log of a greedy evaluation (``steps.parquet``, ``summary.json``,
  ``run.json``), the format of ``textrl evaluate``.
- ``checkpoints/step_XXXXXX/`` (:mod:`agents.rlft.checkpoint`); ``final_model/`` (``save_pretrained``,
  loadable by ``LLMPolicy.from_pretrained``; a LoRA run is merged first) with a ``README.md`` model
  card (:mod:`agents.rlft.final_model`).

Only the main process prints (warnings go to stderr).
"""

from __future__ import annotations

import copy
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd
import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration, set_seed
from tqdm.auto import tqdm

import textrl_envs  # noqa: F401  (registers the environments)
from agents.evaluation.io import write_run
from agents.llm.agent import LLMAgent
from agents.llm.policy import LLMPolicy
from agents.rlft.checkpoint import CheckpointError, load_latest_checkpoint
from agents.rlft.config import RLFTConfig
from agents.rlft.final_model import last_record, model_card, save_final_model
from agents.rlft.optim import make_optimizer, make_scheduler
from agents.rlft.packing import PackedBatch, PackedSequence
from agents.rlft.prepare import load_policy_model, preflight, resolve_model_path
from agents.rlft.rollout import collect_rollout, rollout_metrics
from agents.rlft.run_folder import (
    METRICS_FILE,
    SetupError,
    clear_run_files,
    truncate_metrics,
    write_run_files,
)
from agents.rlft.step_end import StepEnd
from agents.rlft.update import ppo_update
from agents.rlft.value_head import PolicyWithValue, forward_any

__all__ = ["NonFiniteLossError", "SetupError", "resolve_model_path", "train"]

TRAIN_SEED_OFFSET = 10**9  # training episodes never reuse the evaluation seeds (seed * 100_000 + slot)


class GreedyAgent(LLMAgent):
    """The policy as a :class:`TextAgent` decoding greedily (evaluation). As an :class:`LLMAgent` it
    reuses each environment's prompt prefix across turns (exact; a 50-step episode otherwise re-reads
    its whole history at every step)."""

    def __init__(self, policy: LLMPolicy, name: str = "rlft") -> None:
        super().__init__(policy, temperature=0.0, name=name)


class NonFiniteLossError(RuntimeError):
    """``max_nonfinite_updates`` updates in a row had a non-finite loss or gradient."""


def forget_single_process_state() -> None:
    """Let a second run in one process choose its own settings.

    accelerate keeps one process-wide state and refuses an ``Accelerator`` whose device or precision
    differs from the first one's (a notebook that trains on the GPU, then evaluates with ``cpu=True``;
    the test suite on a GPU machine). In a single process nothing else holds on to that state, so it
    is reset; under a launcher (WORLD_SIZE > 1) the launcher's settings stay.
    """
    from accelerate.state import AcceleratorState

    if AcceleratorState._shared_state and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        AcceleratorState._reset_state(reset_partial_state=True)


def build_accelerator(config: RLFTConfig, trackers: list[str]) -> Accelerator:
    forget_single_process_state()
    precision = config.mixed_precision
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() else "no"
    project = ProjectConfiguration(project_dir=config.out, logging_dir=str(Path(config.out) / "logs"))
    # cpu=True without CUDA: several CPU processes (torchrun / `accelerate launch --multi_gpu`) then use gloo
    return Accelerator(
        mixed_precision=precision,
        log_with=trackers or None,
        project_config=project,
        cpu=not torch.cuda.is_available(),
    )


def _train_seeds(config: RLFTConfig, update: int, rank: int, world: int) -> list[list[int]]:
    per_env = config.episodes_per_env
    block = config.num_envs * per_env
    start = TRAIN_SEED_OFFSET + config.seed * 10**7 + (update * world + rank) * block
    group = config.group_size  # slots i and i + 1 .. of one group replay the same seeds
    return [[start + (i // group) * per_env + j for j in range(per_env)] for i in range(config.num_envs)]


def _mix(*parts: int) -> int:
    value = 0
    for part in parts:
        value = (value * 1_000_003 + int(part)) % (2**62)
    return value


def evaluate_policy(
    policy: LLMPolicy, config: RLFTConfig, out_dir: Path, update: int, *, agent_name: str = "rlft"
) -> tuple[dict[str, float], pd.DataFrame]:
    """Greedy evaluation on ``config.eval_seeds``; writes the tidy run folder; returns the ``eval/*``
    metrics and the summary table.

    ``config`` may be any config with the same evaluation fields (``agents.sft`` passes its own)."""
    from agents.evaluation import evaluate
    from analysis.summary import summarize_steps

    agent = GreedyAgent(policy, name=agent_name)
    steps = evaluate(
        config.env_id,
        agent,
        num_envs=config.eval_num_envs,
        seeds=config.eval_seeds,
        env_kwargs=config.env_kwargs,
        agent_name=agent_name,
        progress=False,
    )
    agent.reset([])  # frees the evaluation's cached prompts
    summary = summarize_steps(steps)
    meta = {"command": f"{agent_name}-eval", "update": update, **config.to_dict()}
    write_run(steps, out_dir, summary=summary, meta=meta)
    row = summary.iloc[0]
    metrics = {
        "eval/cumulative_regret": float(row["cum_regret_mean"]),
        "eval/cumulative_regret_ci_low": float(row["cum_regret_ci_low"]),
        "eval/cumulative_regret_ci_high": float(row["cum_regret_ci_high"]),
        "eval/coverage": float(row["coverage_last"]),
        "eval/invalid_action_rate": float(row["invalid_rate"]),
        "eval/return": float(row["return_mean"]),
    }
    if "win_rate" in row:
        metrics["eval/win_rate"] = float(row["win_rate"])
    return metrics, summary


def _restore(config, out, unwrapped, optimizer, scheduler, accelerator, say) -> dict[str, Any]:
    """Load the newest good checkpoint; under several processes all of them agree on its update."""
    rank, world = accelerator.process_index, accelerator.num_processes
    kwargs = {"rank": rank, "config_hash": config.config_hash(), "warn": say}
    try:
        _, state = load_latest_checkpoint(out, unwrapped, optimizer, scheduler, **kwargs)
        if world > 1:
            updates = accelerator.gather(torch.tensor([state["update"]], device=accelerator.device))
            agreed = int(updates.min())
            if state["update"] != agreed:  # this rank could not read a newer checkpoint's RNG file, say
                _, state = load_latest_checkpoint(
                    out, unwrapped, optimizer, scheduler, at_most=agreed, **kwargs
                )
            if state["update"] != agreed:
                raise CheckpointError(f"the processes cannot agree on a checkpoint (update {agreed})")
    except (CheckpointError, FileNotFoundError) as error:
        raise SetupError(f"cannot resume {out}: {error}") from None
    return state


def train(config: RLFTConfig, *, on_update: Callable[[int, dict[str, float]], None] | None = None) -> Path:
    """Run RL fine-tuning as configured; return the output folder.

    Args:
        config: the run's :class:`RLFTConfig`.
        on_update: called as ``on_update(update, metrics)`` after each update is logged and
            checkpointed (tests use it to interrupt a run).

    Raises:
        SetupError: before anything is written: a tracker package is missing, the output folder holds
            another run (or, with ``resume``, no run of this config and no checkpoint that loads), the
            environment or the model cannot be made. The message says what to do.
        NonFiniteLossError: ``max_nonfinite_updates`` updates in a row had a non-finite loss.
    """
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    checks = preflight(config)  # read-only, on every process
    model_path, lm, tokenizer = load_policy_model(config)
    accelerator = build_accelerator(config, checks.trackers)
    rank, world, is_main = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process

    def say(message: str) -> None:
        if is_main:
            print(f"[rlft] {message}", file=sys.stderr, flush=True)

    set_seed(config.seed)
    reference = None
    if config.lora:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=config.lora_target_modules or "all-linear",
            task_type="CAUSAL_LM",
        )
        lm = get_peft_model(lm, lora)
    elif config.kl_coef > 0:
        reference = copy.deepcopy(lm).eval().requires_grad_(False).to(accelerator.device)
    module = PolicyWithValue(lm, with_value_head=config.resolved_advantage == "gae")
    optimizer = make_optimizer(module, config)
    scheduler = make_scheduler(optimizer, config, steps_per_update=config.epochs * config.num_minibatches)
    model, optimizer = accelerator.prepare(module, optimizer)
    unwrapped = accelerator.unwrap_model(model)
    unwrapped.eval()  # no dropout: the rollout policy and the trained policy must be the same function

    def ref_forward(batch: PackedBatch | list[PackedSequence]) -> torch.Tensor:
        with accelerator.autocast():
            if reference is not None:
                return forward_any(reference, batch)[0]
            with unwrapped.lm.disable_adapter():  # LoRA: the base weights are the reference
                return forward_any(unwrapped.lm, batch)[0]

    start, nonfinite = 0, 0
    if config.resume:
        state = _restore(config, out, unwrapped, optimizer, scheduler, accelerator, say)
        start, nonfinite = int(state["update"]), int(state.get("nonfinite_in_a_row", 0))
    accelerator.wait_for_everyone()  # every process has checked the folder before the first write
    metrics_path = out / METRICS_FILE
    if is_main:  # the first write of the run
        if config.overwrite:
            clear_run_files(out)
        out.mkdir(parents=True, exist_ok=True)
        write_run_files(config, env_settings=checks.env_settings, model=model_path)
        if config.resume:
            truncate_metrics(metrics_path, start, warn=say)
            say(f"resuming {out} after update {start}")
    accelerator.wait_for_everyone()
    if checks.trackers:
        accelerator.init_trackers(
            "textrl-rlft",
            config={k: v for k, v in config.to_dict().items() if isinstance(v, (int, float, str, bool))},
        )

    policy = LLMPolicy(
        unwrapped.lm,
        tokenizer,
        max_new_tokens=config.max_new_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
        batch_size=max(config.num_envs, 1),
    )
    envs = [gym.make(config.env_id, **config.env_kwargs) for _ in range(config.num_envs)]
    pad_id = int(tokenizer.pad_token_id)
    summaries: dict[int, pd.DataFrame] = {}  # update -> summary of the evaluation after it

    def run_eval(update: int) -> dict[str, float]:
        result: dict[str, float] = {}
        if is_main:
            with accelerator.autocast():
                result, summaries[update] = evaluate_policy(
                    policy, config, out / "eval" / f"step_{update:06d}", update
                )
        accelerator.wait_for_everyone()
        return result

    eval_metrics = run_eval(0) if config.eval_at_start and start == 0 else {}
    bar = tqdm(
        total=config.total_updates,
        initial=start,
        desc="rlft",
        unit="update",
        disable=not (config.progress and is_main),
    )
    last_eval = 0 if eval_metrics else -1
    record: dict[str, Any] = {}
    step_end = StepEnd(
        out, accelerator, bar, unwrapped, optimizer, scheduler,
        checkpoint_every=config.checkpoint_every, config_hash=config.config_hash(),
        total=config.total_updates, first_step=start, start_metrics=eval_metrics, callback=on_update,
    )
    for update in range(start, config.total_updates):
        t0 = time.perf_counter()
        with torch.no_grad(), accelerator.autocast():
            episodes = collect_rollout(
                policy,
                envs,
                _train_seeds(config, update, rank, world),
                sample_seed=_mix(config.seed, update, rank),
                temperature=config.temperature,
                top_p=config.top_p,
                max_new_tokens=config.max_new_tokens,
                bonus=config.exploration_bonus,
                bonus_steps=config.exploration_bonus_steps,
                reward_signal=config.reward_signal,
            )
        t1 = time.perf_counter()
        generator = torch.Generator().manual_seed(_mix(config.seed, update, 7))
        stats = ppo_update(
            model,
            ref_forward if config.kl_coef > 0 else None,
            episodes,
            config,
            optimizer,
            scheduler,
            accelerator,
            pad_id=pad_id,
            generator=generator,
        )
        t2 = time.perf_counter()
        nonfinite = nonfinite + 1 if stats["train/optimizer_steps"] == 0 else 0
        record = {**rollout_metrics(episodes), **stats}
        record = _mean_over_processes(accelerator, record)
        n_steps = sum(len(e) for e in episodes) * world
        record.update(
            {
                "time/rollout_s": t1 - t0,
                "time/update_s": t2 - t1,
                "time/env_steps_trained_per_s": n_steps / max(t2 - t1, 1e-9),
            }
        )
        done = update + 1
        if config.eval_every and done % config.eval_every == 0:
            record.update(run_eval(done))
            last_eval = done
        if config.eval_at_end and done == config.total_updates and last_eval != done:
            record.update(run_eval(done))
        record = step_end.log(
            done, record, {"return": f"{record['env/return']:.2f}", "kl": f"{record['objective/kl']:.3f}"}
        )
        if nonfinite >= config.max_nonfinite_updates:
            bar.close()
            accelerator.end_training()
            raise NonFiniteLossError(
                f"stopping: {nonfinite} updates in a row had a non-finite loss or gradient (last at update "
                f"{done}); lower learning_rate, check rewards, or raise max_nonfinite_updates"
            )
        step_end.checkpoint(done, record, nonfinite)
    bar.close()
    if is_main:
        card = model_card(
            config,
            model=model_path,
            env_settings=checks.env_settings,
            last_metrics=record or last_record(metrics_path),
            eval_summary=summaries.get(config.total_updates),
        )
        save_final_model(unwrapped, tokenizer, out / "final_model", card=card)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return out


def _mean_over_processes(accelerator: Accelerator, record: dict[str, float]) -> dict[str, float]:
    if accelerator.num_processes == 1:
        return record
    keys = sorted(record)
    values = torch.tensor([float(record[k]) for k in keys], dtype=torch.float64, device=accelerator.device)
    values = accelerator.reduce(values, reduction="mean").cpu().tolist()
    return dict(zip(keys, values, strict=True))
