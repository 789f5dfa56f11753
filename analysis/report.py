"""``textrl report``: Markdown tables and PNG plots comparing several runs side by side.

:func:`build_report` loads each run folder (:func:`analysis.runs.load_run`), then writes into
``out_dir``:

- ``report.md``: the summary tables of every run (bandits: regret with 95% CI, coverage, invalid
  rate, return; tic-tac-toe: return and game outcomes), each run's environment settings, the
  exploration metrics of bandit runs (suffix failures, MinFrac, greedy fraction, top-arm share by arm
  name), the paired differences of runs played on the same episodes, the frequency-bias shares and
  the knowing-doing table of runs that hold probe outputs (saying whether the knowing-doing prompts
  had the per-arm summary in context), the paper's numbers for comparison, and the plots;
- ``summary.csv``: the summary table as data;
- PNG plots (with matplotlib): ``regret_<env>.png`` and ``coverage_<env>.png`` (every run and agent
  on one axes, so an LLM run sits between its UCB and random references), ``frequency_bias.png`` and
  ``knowing_doing_<run>.png``. Without matplotlib the report keeps its tables and says how to get
  the plots.

Runs of one environment made with different settings (``run.json``'s ``env_settings``: horizon 10
and 50, say) are refused, naming the runs and the keywords, unless ``separate_settings`` shows each
setting as its own environment (:mod:`analysis.settings`). Non-finite numbers in a step log are
refused too, naming the column and the rows (:func:`analysis.metrics.validate_steps`).

Example::

    textrl report runs/base runs/rlft runs/ucb runs/random --out runs/report
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from agents.evaluation.io import write_text
from analysis import metrics, plots
from analysis.probes.frequency_bias import entropy_repetition_correlation, frequency_bias_shares
from analysis.probes.knowing_doing import knowing_doing_counts, knowing_doing_table
from analysis.runs import RunData, load_run
from analysis.settings import action_names, check_comparable, describe, separate_labels
from analysis.summary import paired_difference, same_episodes, summary_views
from analysis.tables import format_cell, to_markdown

__all__ = ["PAPER_REFERENCE", "build_report"]

PAPER_REFERENCE = """\
Numbers reported by Schmied et al. (2025, arXiv 2504.16078), for comparison:

- Action coverage, 10 arms, with CoT: Gemma2 2B 40%, 9B and 27B 65%; without CoT ~25% at every size.
- Frequency bias: 2B picks the frequent action 96% of the time (entropy-repetition correlation -0.67),
  27B 14% (+0.61) but is greedy instead; after RLFT the 2B frequent share in the 0-10 window falls
  70% -> 35% and "other" rises 8% -> 35%.
- Knowing-doing (27B, % of actions): correct & greedy 58.1, correct & optimal 21.6, correct & other
  10.6; incorrect & greedy 7.2, incorrect & optimal 0.6, incorrect & other 2.0.
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "run"


def _label(run: RunData, agent: str) -> str:
    return run.name if run.summary["agent"].nunique() == 1 and agent == run.name else f"{run.name} ({agent})"


def _pct(value: float, low: float, high: float) -> str:
    """``12.3 [10.1, 14.6]`` from shares in [0, 1]."""
    if pd.isna(value):
        return "-"
    return f"{100 * value:.1f} [{format_cell(100 * low, 1)}, {format_cell(100 * high, 1)}]"


def _summary_section(runs: Sequence[RunData]) -> tuple[str, pd.DataFrame]:
    table = pd.concat([r.summary.assign(run=r.name) for r in runs], ignore_index=True)
    table = table[["run", *[c for c in table.columns if c != "run"]]]
    bandit, games = summary_views(table)
    parts = ["## Summary\n\nOne row per run, agent and environment; `return_mean` sums the raw environment "
             "reward per episode (game).\n"]
    if not bandit.empty:
        parts.append("Bandits: cumulative regret per episode with a Student-t 95% interval over episodes; "
                     "`coverage_last` is the final share of actions tried.\n\n" + to_markdown(bandit) + "\n")
    if not games.empty:
        parts.append("Tic-tac-toe: outcome shares over games; `illegal_move_rate` is the share of moves "
                     "naming an occupied cell (part of `invalid_rate`).\n\n" + to_markdown(games) + "\n")
    return "\n".join(parts), table


def _settings_section(runs: Sequence[RunData]) -> str:
    rows = []
    for run in runs:
        for env_id, values in run.env_settings.items():
            rows.append({"run": run.name, "env_id": env_id, "settings": describe(values)})
    return ("## Environment settings\n\nEvery keyword with the value each run used (defaults included), "
            "from the run's `run.json`.\n\n" + to_markdown(pd.DataFrame(rows)) + "\n")


def _arm_label(run: RunData, env_id: str, index: int, n_actions: int) -> str:
    names = action_names(env_id, run.env_settings.get(env_id), n_actions)
    return names[index] if names is not None and 0 <= index < len(names) else f"#{index}"


def _exploration_section(runs: Sequence[RunData]) -> str:
    frames = []
    for run in runs:
        steps = run.steps[~run.steps["env_id"].map(metrics.is_tictactoe)]
        if steps.empty:
            continue
        keys = metrics.GROUP_KEYS
        merged = (
            metrics.suffix_failure_frequency(steps)[[*keys, "suffix_failure"]]
            .merge(metrics.min_frac(steps)[[*keys, "min_frac", "min_frac_normalized"]], on=keys)
            .merge(metrics.greedy_fraction(steps)[[*keys, "greedy_fraction"]], on=keys)
            .merge(metrics.top_arm_share(steps), on=keys)
        )
        n_actions = steps.groupby(keys, sort=True)["n_actions"].max().rename("n_actions").reset_index()
        merged = merged.merge(n_actions, on=keys)
        merged["top_arm"] = [
            _arm_label(run, str(e), int(i), int(k))
            for e, i, k in merged[["env_id", "top_arm", "n_actions"]].itertuples(index=False, name=None)
        ]
        frames.append(merged.drop(columns="n_actions").assign(run=run.name))
    if not frames:
        return ""
    table = pd.concat(frames, ignore_index=True)
    table = table[["run", *[c for c in table.columns if c != "run"]]]
    return (
        "## Exploration (bandit runs)\n\n`suffix_failure`: share of episodes that never play the best "
        "arm in the second half; `min_frac`: smallest share of pulls any arm got (x k in "
        "`min_frac_normalized`, 1 = uniform); `greedy_fraction`: share of steps (after the first) "
        "choosing the best empirical mean among tried arms; `top_arm_share`: share of all pulls that go "
        "to the most-pulled arm `top_arm` (its name; `#i` where the run did not record its settings; "
        "episodes draw their arm means afresh, so a high share means the agent picks arms by name, not by "
        "reward).\n\n" + to_markdown(table) + "\n"
    )


def _paired_section(runs: Sequence[RunData]) -> str:
    """Every (run, agent) minus the first one of its environment, per episode, where both hold the same
    episodes (:func:`analysis.summary.paired_difference`): regret for bandits, return for games.

    Only runs whose settings were recorded (``run.json``) and are equal are paired: the same seeds
    with other settings are other episodes."""
    rows, unpaired = [], []
    env_ids = sorted({str(e) for r in runs for e in r.steps["env_id"].unique()})
    for env_id in env_ids:
        groups = [
            (_label(run, str(agent)), part, run.env_settings.get(env_id))
            for run in runs
            for agent, part in run.steps[run.steps["env_id"] == env_id].groupby("agent", sort=True)
        ]
        if len(groups) < 2:
            continue
        value = "return" if metrics.is_tictactoe(env_id) else "cum_regret"
        ref_name, ref, ref_settings = groups[0]
        for name, steps, settings in groups[1:]:
            if settings is None or settings != ref_settings or not same_episodes(steps, ref):
                unpaired.append(f"`{name}`")
                continue
            mean, low, high, n = paired_difference(steps, ref, value)
            rows.append({"env_id": env_id, "run": name, "minus": ref_name, "statistic": value,
                         "episodes": n, "mean": mean, "ci_low": low, "ci_high": high})
    if not rows and not unpaired:
        return ""
    text = ("## Paired differences\n\nEach run minus the first run of its environment on the same "
            "seeded episodes (same arm means and reward draws; games: same opponent seeds), mean and "
            "Student-t 95% interval of the per-episode difference: the shared difficulty cancels, so "
            "this interval is narrower than the two runs' own.\n")
    if rows:
        text += "\n" + to_markdown(pd.DataFrame(rows)) + "\n"
    if unpaired:
        text += (f"\nNot paired (other episodes than the first run's, or settings not recorded): "
                 f"{', '.join(unpaired)}.\n")
    return text


def _curve_plots(runs: Sequence[RunData], out: Path) -> list[str]:
    lines = []
    env_ids = sorted({e for r in runs for e in r.steps["env_id"].unique() if not metrics.is_tictactoe(e)})
    for env_id in env_ids:
        for kind, func, ylabel in (
            ("regret", metrics.regret_curve, "cumulative regret"),
            ("coverage", metrics.coverage_curve, "action coverage C_t"),
        ):
            curves = {}
            for run in runs:
                steps = run.steps[run.steps["env_id"] == env_id]
                if steps.empty:
                    continue
                curve = func(steps)
                for agent, part in curve.groupby("agent", sort=True):
                    curves[_label(run, str(agent))] = part
            name = f"{kind}_{_slug(env_id)}.png"
            plots.plot_curves(curves, out / name, title=f"{env_id}: {ylabel} (mean, 95% CI)", ylabel=ylabel)
            lines.append(f"![{kind} {env_id}]({name})")
    return lines


def _probed_title(run: RunData) -> str:
    agent = run.probes_meta.get("agent")
    return f"### {run.name}" + (f" (probed agent: `{agent}`)" if agent else "")


def _frequency_section(runs: Sequence[RunData], out: Path, draw: bool) -> str:
    probed = [r for r in runs if r.frequency_bias is not None and not r.frequency_bias.empty]
    if not probed:
        return ""
    parts = ["## Frequency bias\n",
             "Share of choices (%, Wilson 95% CI) by class of the chosen action, per window of target "
             "repetitions. An action both frequent and greedy counts as greedy; `frequent_any` is the "
             "share choosing the most frequent action regardless.\n"]
    shares = {}
    for run in probed:
        table = frequency_bias_shares(run.frequency_bias)
        shares[run.name] = table
        shown = pd.DataFrame({"window": table["window"], "prompts": table["prompts"]})
        for cls in ("frequent", "greedy", "other", "invalid"):
            triples = zip(table[cls], table[f"{cls}_ci_low"], table[f"{cls}_ci_high"], strict=True)
            shown[f"{cls} %"] = [_pct(v, lo, hi) for v, lo, hi in triples]
        shown["frequent_any %"] = 100 * table["frequent_any"]
        shown["mean entropy (nats)"] = table["entropy_mean"]
        method = str(run.frequency_bias["method"].iloc[0])
        corr = entropy_repetition_correlation(run.frequency_bias)
        parts.append(f"{_probed_title(run)}\n\nMethod: `{method}`; entropy-repetition correlation: "
                     f"{format_cell(corr)}.\n\n{to_markdown(shown, 1)}\n")
    if draw:
        plots.plot_frequency_bias(shares, out / "frequency_bias.png")
        parts.append("![frequency bias](frequency_bias.png)\n")
    return "\n".join(parts)


def _knowing_doing_section(runs: Sequence[RunData], out: Path, draw: bool) -> str:
    probed = [r for r in runs if r.knowing_doing is not None and not r.knowing_doing.empty]
    if not probed:
        return ""
    parts = ["## Knowing-doing gap\n",
             "Rationale correct (the agent's own top UCB arm is the true top arm) by action class, in % "
             "of all valid actions (Wilson 95% CI). Unparsable rationales count as incorrect and are "
             "also counted apart.\n"]
    for run in probed:
        table = knowing_doing_table(run.knowing_doing)
        counts = knowing_doing_counts(run.knowing_doing)
        matrix = pd.DataFrame({"rationale": ["correct", "incorrect"]})
        for action in ("optimal", "greedy", "other"):
            cells = table[table["action"] == action].set_index("rationale")
            matrix[action] = [
                f"{cells.loc[r, 'percent']:.1f} [{cells.loc[r, 'ci_low']:.1f}, {cells.loc[r, 'ci_high']:.1f}]"
                if pd.notna(cells.loc[r, "percent"]) else "-"
                for r in ("correct", "incorrect")
            ]
        summary = counts["context_summary"]
        in_context = "yes" if summary == [True] else "no" if summary == [False] else "mixed"
        shown = (to_markdown(matrix) if counts["valid_actions"] else
                 "**No valid answers**: no answer named a valid action, so there is nothing to tabulate.")
        parts.append(
            f"{_probed_title(run)}\n\nPer-arm summary in the prompt's context: **{in_context}**. Answers: "
            f"{counts['answers']}, valid actions: {counts['valid_actions']}, invalid (no action, left "
            f"out): {counts['invalid_actions']}, unparsable rationales: {counts['unparsable']}.\n\n"
            f"{shown}\n"
        )
        if draw:
            name = f"knowing_doing_{_slug(run.name)}.png"
            plots.plot_knowing_doing(table, out / name, title=f"Knowing-doing: {run.name}")
            parts.append(f"![knowing-doing {run.name}]({name})\n")
    return "\n".join(parts)


def _unique_names(paths: Sequence[Path], names: Sequence[str] | None) -> list[str]:
    if names is not None:
        if len(names) != len(paths):
            raise ValueError(f"got {len(names)} names for {len(paths)} run folders")
        return list(names)
    result: list[str] = []
    for path in paths:
        base = path.resolve().name or "run"
        name, i = base, 2
        while name in result:
            name, i = f"{base}-{i}", i + 1
        result.append(name)
    return result


def _separate(runs: Sequence[RunData]) -> list[RunData]:
    """Runs whose env ids are relabelled with their differing settings (:func:`separate_labels`)."""
    labels = separate_labels([(r.name, r.env_settings) for r in runs])
    result = []
    for run in runs:
        mapping = {env_id: labels[(run.name, env_id)] for env_id in run.env_settings}
        result.append(dataclasses.replace(
            run,
            steps=run.steps.assign(env_id=run.steps["env_id"].map(mapping)),
            summary=run.summary.assign(env_id=run.summary["env_id"].map(mapping)),
            env_settings={mapping[e]: v for e, v in run.env_settings.items()},
        ))
    return result


def build_report(
    run_dirs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    names: Sequence[str] | None = None,
    plots_enabled: bool = True,
    separate_settings: bool = False,
) -> Path:
    """Write ``report.md``, ``summary.csv`` and the PNG plots for ``run_dirs`` into ``out_dir``.

    Args:
        run_dirs: run folders (see :mod:`analysis.runs`), shown in this order.
        out_dir: output folder (created if needed).
        names: labels of the runs (default: folder names, made unique).
        plots_enabled: False skips the plots even when matplotlib is installed.
        separate_settings: runs of one env id made with different settings (``run.json``'s
            ``env_settings``) are shown as different environments, labelled with the differing
            settings; by default such runs are refused.

    Returns:
        The path of ``report.md``.

    Raises:
        ValueError: no run folders, names of the wrong length, a run whose log is empty, lacks
            columns or holds non-finite numbers, or (without ``separate_settings``) runs of one env
            id made with different settings (the message names the runs and the keywords).
        FileNotFoundError: a run folder or its step log is missing.
    """
    if isinstance(run_dirs, (str, os.PathLike)) or len(run_dirs) == 0:
        raise ValueError("run_dirs must be a non-empty list of run folders")
    paths = [Path(p) for p in run_dirs]
    runs = [load_run(p, n) for p, n in zip(paths, _unique_names(paths, names), strict=True)]
    if separate_settings:
        runs = _separate(runs)
    else:
        check_comparable([(r.name, r.env_settings) for r in runs])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    draw = plots_enabled and plots.plots_available()

    summary_text, summary = _summary_section(runs)
    write_text(out / "summary.csv", summary.to_csv(index=False))
    parts = [
        "# textrl report\n",
        "Runs: " + ", ".join(f"`{r.name}` ({r.path})" for r in runs) + ".\n",
        summary_text,
        _settings_section(runs),
        _exploration_section(runs),
        _paired_section(runs),
    ]
    if draw:
        images = _curve_plots(runs, out)
        if images:
            parts.append("## Regret and coverage curves\n\n" + "\n\n".join(images) + "\n")
    elif plots_enabled:
        parts.append(f"## Plots\n\nPlots were skipped: matplotlib is not installed; {plots.INSTALL_HINT}.\n")
    parts.append(_frequency_section(runs, out, draw))
    parts.append(_knowing_doing_section(runs, out, draw))
    parts.append("## The paper's numbers\n\n" + PAPER_REFERENCE)
    report = out / "report.md"
    write_text(report, "\n".join(p for p in parts if p))
    return report
