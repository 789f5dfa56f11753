"""The names a TRL user guesses: aliases of :class:`~agents.rlft.config.RLFTConfig` fields, and the TRL
options that have no textrl counterpart (each with what to use instead).

Both YAML keys and command-line options go through :func:`canonical_keys`, so ``--output_dir runs/x``,
``output_dir: runs/x`` and ``--out runs/x`` are the same. This module imports nothing heavy: the
command line's ``--help`` reads it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

#: alias -> field. TRL / transformers ``TrainingArguments`` names first, then textrl's earlier names.
ALIASES: dict[str, str] = {
    "output_dir": "out",
    "overwrite_output_dir": "overwrite",
    "resume_from_checkpoint": "resume",
    "save_steps": "checkpoint_every",
    "eval_steps": "eval_every",
    "model_name_or_path": "model",
    "use_peft": "lora",
    "max_completion_length": "max_new_tokens",
    "num_ppo_epochs": "epochs",  # TRL PPOConfig
    "num_iterations": "epochs",  # TRL GRPOConfig (mu: passes over each batch)
    "num_mini_batches": "num_minibatches",
    "cliprange": "clip_eps",  # TRL PPOConfig
    "epsilon": "clip_eps",  # TRL GRPOConfig
    "beta": "kl_coef",  # TRL GRPOConfig
    "lam": "gae_lambda",
    "vf_coef": "value_coef",
    "cliprange_value": "value_clip",
    "env": "env_id",
    "log_with": "report_to",  # textrl's name before it took TRL's
}

#: TRL options without a textrl counterpart -> what to use instead (the error message says it).
NOT_APPLICABLE: dict[str, str] = {
    "logging_steps": "textrl logs every update (metrics.jsonl and the report_to trackers)",
    "num_train_epochs": "textrl trains on fresh rollouts, not on a dataset: set total_updates (rollout + "
    "update iterations); epochs (TRL's num_ppo_epochs) sets the passes over each rollout",
    "max_steps": "set total_updates (rollout + update iterations; each makes epochs x num_minibatches "
    "optimizer steps)",
    "per_device_train_batch_size": "set num_envs (environments per process per rollout) and "
    "micro_batch_episodes (episodes per forward/backward)",
    "gradient_accumulation_steps": "gradients accumulate over each minibatch by themselves: set "
    "num_minibatches and micro_batch_episodes",
    "bf16": "set mixed_precision: bf16 (auto picks bf16 on a GPU)",
    "lr_scheduler_type": "the schedule is fixed: linear warm-up over warmup_steps, then cosine decay to "
    "min_learning_rate",
    "warmup_ratio": "set warmup_steps (optimizer steps)",
}


def _suggest(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=3, cutoff=0.75)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def canonical_keys(values: Mapping[str, Any], fields: Iterable[str], where: str) -> dict[str, Any]:
    """``values`` with dashes turned into underscores and aliases into field names.

    Args:
        values: option or YAML key -> value.
        fields: the config's field names.
        where: what ``values`` came from, for messages ("config file x.yaml", "the command line").

    Raises:
        ValueError: a key that is not a field or an alias (naming close matches and the allowed
            fields), a TRL option without a counterpart (saying what to use instead), or a field given
            twice under two names.
    """
    fields = list(fields)
    result: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    unknown = []
    for raw_key, value in values.items():
        key = str(raw_key).replace("-", "_")
        if key in NOT_APPLICABLE and key not in fields:  # a config may have the name itself (textrl sft)
            raise ValueError(f"{raw_key} (a TRL option) has no counterpart in textrl train: "
                             f"{NOT_APPLICABLE[key]}")
        name = key if key in fields else ALIASES.get(key, key)
        if name not in fields:
            unknown.append(f"{raw_key}{_suggest(key, [*fields, *ALIASES])}")
            continue
        if name in result:
            raise ValueError(f"{where} sets {name} twice, as {given_as[name]} and as {raw_key}; keep one")
        result[name], given_as[name] = value, str(raw_key)
    if unknown:
        raise ValueError(
            f"{where}: unknown config field(s) {', '.join(unknown)}; allowed fields: {', '.join(fields)}"
        )
    return result


def aliases_of(field_name: str) -> list[str]:
    """The aliases of one field, in :data:`ALIASES` order."""
    return [alias for alias, name in ALIASES.items() if name == field_name]
