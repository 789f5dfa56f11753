"""The environment settings of runs: what a report checks before it puts runs side by side.

A run folder's ``run.json`` records ``env_settings`` (env id -> every keyword with the value used,
defaults included; :func:`textrl_envs.env_settings`). Older folders hold only the keywords that were
passed (``env_kwargs``); they are resolved against today's defaults. A folder without either has
settings "not recorded" and is compared with nothing.

Two runs of one env id with different settings (horizon 10 and horizon 50, say) do not belong on one
regret plot: :func:`check_comparable` refuses them, naming the runs and the differing keywords, and
:func:`separate_labels` gives each setting its own env label instead (``textrl report
--separate-settings``). :func:`action_names` turns an ``action_index`` back into the arm's name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

__all__ = [
    "Settings",
    "action_names",
    "base_env_id",
    "check_comparable",
    "describe",
    "differing_keys",
    "resolve_run_settings",
    "separate_labels",
]

#: env id -> resolved settings, or None where the run did not record them
Settings = dict[str, "dict[str, Any] | None"]


def resolve_run_settings(run_meta: Mapping[str, Any], env_ids: Sequence[str]) -> Settings:
    """The settings of each env id of a run, from its ``run.json`` (see the module docstring)."""
    from textrl_envs import env_settings

    recorded = run_meta.get("env_settings")
    kwargs = run_meta.get("env_kwargs")
    result: Settings = {}
    for env_id in env_ids:
        if isinstance(recorded, Mapping) and isinstance(recorded.get(env_id), Mapping):
            result[env_id] = dict(recorded[env_id])
        elif isinstance(kwargs, Mapping):
            result[env_id] = env_settings(env_id, kwargs)
        else:
            result[env_id] = None
    return result


def differing_keys(settings: Sequence[Mapping[str, Any]]) -> list[str]:
    """Keywords whose value is not the same in every mapping (a missing keyword counts as a value)."""
    keys = sorted({k for s in settings for k in s})
    missing = object()
    return [k for k in keys if len({json.dumps(s.get(k, missing), default=str) for s in settings}) > 1]


def describe(settings: Mapping[str, Any] | None, keys: Sequence[str] | None = None) -> str:
    """``"horizon=10, noise='low'"`` (all keywords, or ``keys`` only); "settings not recorded" for None."""
    if settings is None:
        return "settings not recorded"
    shown = list(settings) if keys is None else list(keys)
    return ", ".join(f"{k}={settings.get(k)!r}" for k in shown)


def _by_env(runs: Sequence[tuple[str, Settings]]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, settings in runs:
        for env_id, values in settings.items():
            if values is not None:
                groups.setdefault(env_id, []).append((name, values))
    return groups


def check_comparable(runs: Sequence[tuple[str, Settings]]) -> None:
    """Raise ``ValueError`` when runs of one env id were made with different settings.

    ``runs`` holds ``(run name, settings)`` pairs; runs whose settings were not recorded are skipped.
    The message names each differing keyword with every run's value.
    """
    for env_id, group in sorted(_by_env(runs).items()):
        keys = differing_keys([values for _, values in group])
        if not keys:
            continue
        details = "; ".join(
            f"{key}: " + ", ".join(f"{values.get(key)!r} ({name})" for name, values in group) for key in keys
        )
        raise ValueError(
            f"the runs on {env_id} were made with different settings ({details}); one table and one plot "
            f"would mix them. Report runs with the same settings, or pass --separate-settings to show "
            f"each setting apart"
        )


def separate_labels(runs: Sequence[tuple[str, Settings]]) -> dict[tuple[str, str], str]:
    """``(run name, env id) -> env label``: the env id, plus the differing settings where runs differ.

    ``TextBandit-v0`` run at horizon 10 and 50 becomes ``"TextBandit-v0 (horizon=10)"`` and
    ``"TextBandit-v0 (horizon=50)"``; a run without recorded settings then gets
    ``"TextBandit-v0 (settings not recorded)"``. Env ids whose runs agree keep their plain id.
    """
    groups = _by_env(runs)
    labels: dict[tuple[str, str], str] = {}
    for name, settings in runs:
        for env_id, values in settings.items():
            keys = differing_keys([v for _, v in groups.get(env_id, [])])
            labels[(name, env_id)] = f"{env_id} ({describe(values, keys)})" if keys else env_id
    return labels


def base_env_id(label: str) -> str:
    """The env id inside a label of :func:`separate_labels` (env ids hold no ``" ("``)."""
    return str(label).split(" (", 1)[0]


@lru_cache(maxsize=64)
def _names(env_id: str, settings_json: str) -> tuple[str, ...] | None:
    import gymnasium as gym

    import textrl_envs  # noqa: F401  (registers the ids)

    try:
        env = gym.make(env_id, **json.loads(settings_json))
    except Exception:  # an env we cannot rebuild (not installed, changed keywords): indices stay
        return None
    try:
        return tuple(str(n) for n in env.unwrapped.action_names)
    except AttributeError:
        return None
    finally:
        env.close()


def action_names(
    env_id: str, settings: Mapping[str, Any] | None, n_actions: int | None = None
) -> list[str] | None:
    """The action names of ``env_id`` made with ``settings`` (index = action index), or None.

    None when the settings were not recorded, the env cannot be made, or it has another number of
    actions than ``n_actions`` (the step log's), so a caller never shows a wrong name.
    """
    if settings is None:
        return None
    names = _names(base_env_id(env_id), json.dumps(dict(settings), sort_keys=True, default=str))
    if names is None or (n_actions is not None and len(names) != int(n_actions)):
        return None
    return list(names)
