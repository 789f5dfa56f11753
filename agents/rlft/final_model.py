"""The fine-tuned model folder (``final_model/``) and its model card (``README.md``).

:func:`save_final_model` writes the ``save_pretrained`` folder (LoRA merged) atomically, synced to
disk. :func:`model_card` writes what a reader of ``final_model/`` needs: the base model, the environment
and its settings, the training config, and the final metrics (the last greedy evaluation's summary
and the last update's training metrics), with YAML front matter the Hub reads (``library_name``,
``base_model`` when it is a hub id, ``tags``).
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from agents.evaluation.io import fsync_path, fsync_tree, write_text
from agents.rlft.config import RLFTConfig

#: training metrics shown in the card (the last update's values), in this order
CARD_METRICS = (
    "env/return", "env/cumulative_regret", "env/coverage", "env/invalid_action_rate", "objective/kl",
    "objective/entropy", "policy/clipfrac_avg",
)  # fmt: skip


def _is_hub_id(model: str) -> bool:
    """``owner/name`` or ``name`` and not a path (a hub id is what ``base_model`` metadata takes)."""
    return not model.startswith(("/", ".", "~")) and model.count("/") <= 1 and "\\" not in model


def _table(rows: Mapping[str, Any]) -> str:
    lines = ["| | |", "|---|---|"]
    for key, value in rows.items():
        lines.append(f"| `{key}` | {value:.4g} |" if isinstance(value, float) else f"| `{key}` | {value!r} |")
    return "\n".join(lines)


def model_card(
    config: RLFTConfig,
    *,
    model: str,
    env_settings: Mapping[str, Any],
    last_metrics: Mapping[str, Any],
    eval_summary: pd.DataFrame | None,
) -> str:
    """The text of ``README.md`` for ``final_model/`` (see the module docstring).

    Args:
        config: the run's config.
        model: the model the run started from (hub id or folder).
        env_settings: every keyword of the environment with the value used.
        last_metrics: the last metrics record (``metrics.jsonl``'s last line).
        eval_summary: :func:`analysis.summary.summarize_steps` of the last evaluation, or None.
    """
    from analysis.summary import summary_views
    from analysis.tables import to_markdown

    base = "the embedded base model" if config.model is None else f"`{model}`"
    front: dict[str, Any] = {"library_name": "transformers", "pipeline_tag": "text-generation"}
    if config.model is not None and _is_hub_id(config.model):
        front["base_model"] = config.model
    front["tags"] = ["textrl", "rlft", "reinforcement-learning", "ppo", config.env_id]
    parts = [
        "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n",
        f"# {config.env_id} agent: RL fine-tuned with textrl\n",
        f"{base[0].upper()}{base[1:]} (`{model}`) after {config.total_updates} updates of RL fine-tuning "
        f"(textrl's RLFT: clipped policy gradient with a KL penalty to the frozen base model, "
        f"{config.resolved_advantage} advantages) on `{config.env_id}`, reproducing *LLMs are Greedy Agents* "
        "(Schmied et al. 2025, arXiv 2504.16078). The model answers the environment's prompt with a short "
        "rationale ending in `ACTION=X`.\n",
        "## Use\n",
        "```python\nfrom agents.llm import LLMAgent          # textrl\n"
        "agent = LLMAgent.from_pretrained(\"path/to/final_model\", temperature=0.0)\n"
        "# or plain transformers: AutoModelForCausalLM.from_pretrained(\"path/to/final_model\")\n```\n",
        "Evaluate it: `textrl evaluate --env " + config.env_id + " --agent llm --model path/to/final_model "
        "--agent-name rlft --out runs/rlft-eval`.\n",
        f"## Environment: `{config.env_id}`\n",
        "Every keyword with the value used (defaults included):\n\n" + _table(env_settings) + "\n",
        "## Final metrics\n",
    ]
    if eval_summary is not None and not eval_summary.empty:
        bandit, games = summary_views(eval_summary)
        tables = "\n\n".join(to_markdown(t) for t in (bandit, games) if not t.empty)
        parts.append(f"Greedy evaluation after the last update (seeds {config.eval_seeds} x "
                     f"{config.eval_num_envs} environments):\n\n{tables}\n")
    else:
        parts.append("No evaluation after the last update (`eval_at_end: false`).\n")
    shown = {k: last_metrics[k] for k in CARD_METRICS if last_metrics.get(k) is not None}
    if shown:
        update = last_metrics.get("update", config.total_updates)
        parts.append(f"Training metrics of the last update ({update}), sampled at temperature "
                     f"{config.temperature}:\n\n" + _table(shown) + "\n")
    parts.append("## Training config\n")
    parts.append("```yaml\n" + yaml.safe_dump(config.to_dict(), sort_keys=False) + "```\n")
    return "\n".join(parts)


def last_record(path: Path) -> dict[str, Any]:
    """The last line of ``metrics.jsonl`` (a run resumed after its last update has no new record)."""
    if not path.is_file():
        return {}
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return json.loads(lines[-1]) if lines else {}


def save_final_model(module: Any, tokenizer: Any, folder: Path, *, card: str | None = None) -> None:
    """``save_pretrained`` the LM (LoRA merged into a copy) and tokenizer, the value head alongside,
    and the model card ``README.md``; synced to disk, then moved into place."""
    lm = module.lm
    if hasattr(lm, "merge_and_unload"):
        lm = copy.deepcopy(lm).merge_and_unload()
    tmp = folder.parent / f".tmp_{folder.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    lm.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    if module.value_head is not None:
        from safetensors.torch import save_model

        save_model(module.value_head, str(tmp / "value_head.safetensors"))
    if card is not None:
        write_text(tmp / "README.md", card)
    fsync_tree(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)
    fsync_path(folder.parent)
