"""``textrl compare``: the paper's remedies for greediness side by side on one model, in resumable stages.

Every method is evaluated on the same seeded bandit episodes (default: TextBandit-v0, 10 Gaussian
arms, sigma 1, horizon 50; 64 environments x seeds 0 1 2), greedy decoding at the generation budget
G, and the results go into one table and one figure against UCB and random (the paper's comparison),
plus the thinking-budget curve.

=========================  ===============================================================
stage (folder)             what
=========================  ===============================================================
``ucb``, ``random``        the references; ``expert``: the SFT expert (UCB, mean + sqrt(1/n))
``base``                   the LLM as it is
``try-all`` ...            the LLM with each evaluation mechanism (:mod:`agents.mechanisms`):
                           try-all, epsilon-greedy, context-randomization, context-summary,
                           self-correction, self-consistency (k samples at temperature > 0)
``rlft-train``, ``rlft``   RL fine-tuning (:func:`agents.rlft.train`), then its evaluation
``bonus-train``,           RL fine-tuning with the exploration bonus (+1 for an untried arm)
``exploration-bonus``
``sft-bc-train``,          expert SFT, behaviour cloning (:func:`agents.sft.train_sft`)
``sft-bc``
``sft-tc-train``,          expert SFT, thought cloning (the rationale template)
``sft-tc``
``budget-G<G>``            the LLM at generation budget G for each G in ``budgets``
                           (``budget_mode="rlft"``: RL-fine-tuned at G first, ``budget-G<G>-train``)
``comparison.md``          the table (also ``.csv``), ``comparison.png``, ``budget.csv``,
                           ``budget.png`` and every stage's wall time
=========================  ===============================================================

Resuming works as in ``textrl demo`` (:func:`agents.demo.run_stage`): a stage whose ``stage.json``
holds the same settings is reused, any other is redone, so an interrupted run continues where it
stopped. ``--skip`` leaves methods out (e.g. the expensive ``self-consistency``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.demo import run_stage
from agents.evaluation.cli import json_object
from agents.evaluation.io import model_fingerprint, write_text

BANDIT_ENV = "TextBandit-v0"
TAG = "compare"
MECHANISM_STAGES = (
    "try-all", "epsilon-greedy", "context-randomization", "context-summary", "self-correction",
    "self-consistency",
)  # fmt: skip
TRAINED_STAGES = ("rlft", "exploration-bonus", "sft-bc", "sft-tc")
REFERENCES = ("ucb", "random")
METHODS = ("base", *MECHANISM_STAGES, *TRAINED_STAGES, "expert", *REFERENCES, "budget")


@dataclass(frozen=True)
class ComparePlan:
    """The sizes of one comparison (``FULL`` or ``QUICK``; the command line overrides some).

    Attributes:
        base_model_size: the embedded base model's size when no ``--model`` is given.
        env_kwargs: the bandit (SPEC: 10 arms, Gaussian, sigma 1, horizon 50).
        num_envs, seeds: evaluation episodes per seed, and the seeds (the paper: 64 x 3).
        max_new_tokens: the generation budget G of every LLM stage (the paper: 256).
        batch_size: LLM generation batch.
        budgets, budget_mode: the thinking-budget sweep; ``"eval"`` evaluates the model at each G,
            ``"rlft"`` RL-fine-tunes it at each G first (the paper's setting; costly).
        epsilon: epsilon-greedy's exploration probability.
        self_consistency_k, self_consistency_temperature: samples per turn and their temperature.
        rlft: ``RLFTConfig`` fields of the RL stages; exploration_bonus: the bonus stage's bonus.
        sft: ``SFTConfig`` fields of both SFT stages.
    """

    base_model_size: str
    num_envs: int
    seeds: tuple[int, ...]
    rlft: dict[str, Any]
    sft: dict[str, Any]
    env_kwargs: dict[str, Any] = field(
        default_factory=lambda: {"n_arms": 10, "distribution": "gaussian", "noise": "medium", "horizon": 50}
    )
    max_new_tokens: int = 256
    batch_size: int = 64
    budgets: tuple[int, ...] = (16, 64, 256, 512)
    budget_mode: str = "eval"
    epsilon: float = 0.1
    self_consistency_k: int = 16
    self_consistency_temperature: float = 1.0
    exploration_bonus: float = 1.0


# RL: the demo's bandit recipe sized for a CPU (8 envs, 16 updates, 2 epochs x 4 minibatches, lr 2e-4
# with warm-up over the first rollout), without its +3 bonus: "rlft" is plain RL, the bonus is a stage.
_RLFT = {"num_envs": 8, "total_updates": 16, "epochs": 2, "num_minibatches": 4, "learning_rate": 2e-4,
         "min_learning_rate": 1e-5, "warmup_steps": 8, "eval_at_end": False}  # fmt: skip
# SFT: 4 x 32 expert episodes (6,400 decisions), 2 epochs of 8-episode batches (32 optimizer steps).
_SFT = {"data_num_envs": 32, "data_seeds": [100, 101, 102, 103], "epochs": 2, "batch_episodes": 8,
        "micro_batch_episodes": 2, "learning_rate": 5e-4, "min_learning_rate": 1e-5, "warmup_steps": 4,
        "eval_at_end": False}  # fmt: skip

FULL = ComparePlan(base_model_size="default", num_envs=64, seeds=(0, 1, 2), rlft=_RLFT, sft=_SFT)
QUICK = ComparePlan(
    base_model_size="quick", num_envs=4, seeds=(0,), max_new_tokens=32, budgets=(16, 64),
    env_kwargs={"n_arms": 10, "distribution": "gaussian", "noise": "medium", "horizon": 10},
    self_consistency_k=4, rlft={**_RLFT, "num_envs": 4, "total_updates": 2, "num_minibatches": 1},
    sft={**_SFT, "data_num_envs": 4, "data_seeds": [100, 101], "epochs": 1, "batch_episodes": 4},
)  # fmt: skip


def _llm(model: str, plan: ComparePlan, seed: int, *, max_new_tokens: int, temperature: float = 0.0):
    def build():
        from agents.llm import LLMAgent

        return LLMAgent.from_pretrained(
            model,
            temperature=temperature,
            max_new_tokens=max_new_tokens,
            batch_size=plan.batch_size,
            seed=seed,
        )

    return build


def run_compare(
    out: str | Path = "runs/compare",
    *,
    quick: bool = False,
    model: str | None = None,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    skip: tuple[str, ...] = (),
    progress: bool = True,
) -> Path:
    """Run the comparison (stages in the module docstring); return the path of ``comparison.md``."""
    from agents.evaluation import evaluate, write_run
    from agents.mechanisms import apply_mechanisms
    from agents.registry import make_agent
    from agents.sft.experts import UCBExpert

    plan = dataclasses.replace(QUICK if quick else FULL, **(overrides or {}))
    unknown = sorted(set(skip) - set(METHODS))
    if unknown:
        raise ValueError(f"cannot skip {unknown}; methods: {', '.join(METHODS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if model is None:
        from agents.base_model import ensure_base_model

        model = str(ensure_base_model(plan.base_model_size, progress=progress))
    print(f"[{TAG}] model: {model}")
    # A stage's identity is what its result depends on, not the whole plan: changing the SFT settings
    # redoes the SFT stages and keeps, say, a finished self-consistency run.
    evaluation = {"num_envs": plan.num_envs, "seeds": list(plan.seeds), "env_kwargs": plan.env_kwargs,
                  "batch_size": plan.batch_size}  # fmt: skip
    common = {"evaluation": evaluation, "seed": seed, "model": model_fingerprint(model)}
    evaluated: dict[str, Path] = {}
    used: list[Path] = []  # every stage folder this comparison ran or reused (its wall-time line)

    def stage(name: str, identity: dict[str, Any], work: Callable[[Path], None]) -> Path:
        folder = run_stage(out, name, identity, work, tag=TAG)
        used.append(folder)
        return folder

    mechanism_options = {
        "epsilon-greedy": {"epsilon": plan.epsilon},
        "self-consistency": {"k": plan.self_consistency_k},
    }

    def eval_stage(name: str, build: Callable[[], Any], mechanisms: tuple[str, ...] = (), **settings) -> None:
        options = {m: mechanism_options[m] for m in mechanisms if m in mechanism_options}

        def work(folder: Path) -> None:
            agent, env_kwargs = apply_mechanisms(
                build(), mechanisms, env_kwargs=plan.env_kwargs, seed=seed, options=options
            )  # fmt: skip
            steps = evaluate(BANDIT_ENV, agent, num_envs=plan.num_envs, seeds=list(plan.seeds),
                             env_kwargs=env_kwargs, agent_name=name, progress=progress)  # fmt: skip
            write_run(
                steps, folder, meta={"stage": name, "env": BANDIT_ENV, "env_kwargs": env_kwargs, **settings}
            )

        identity = {**common, **settings, "mechanisms": list(mechanisms), "options": options}
        evaluated[name] = stage(name, identity, work)

    def rlft_stage(name: str, max_new_tokens: int, **fields: Any) -> tuple[str, dict[str, Any]]:
        config = {"env_id": BANDIT_ENV, "env_kwargs": plan.env_kwargs, "model": model, "seed": seed,
                  "max_new_tokens": max_new_tokens, **plan.rlft, **fields}  # fmt: skip

        def work(folder: Path) -> None:
            from agents.rlft import RLFTConfig, train

            train(RLFTConfig(**{**config, "out": str(folder), "progress": progress}))

        folder = stage(name, {**common, "config": config}, work)
        return str(folder / "final_model"), config

    def sft_stage(name: str, mode: str) -> tuple[str, int, dict[str, Any]]:
        config = {"env_id": BANDIT_ENV, "env_kwargs": plan.env_kwargs, "model": model, "seed": seed,
                  "mode": mode, "max_new_tokens": plan.max_new_tokens, **plan.sft}  # fmt: skip

        def work(folder: Path) -> None:
            from agents.sft import SFTConfig, train_sft

            train_sft(SFTConfig(**{**config, "out": str(folder), "progress": progress}))

        folder = stage(name, {**common, "config": config}, work)
        longest = json.loads((folder / "sft.json").read_text())["answer_tokens_max"]
        return str(folder / "final_model"), max(plan.max_new_tokens, longest + 8), config

    G = plan.max_new_tokens
    wanted = [m for m in METHODS if m not in skip]
    for name in ("ucb", "random"):
        if name in wanted:
            eval_stage(name, lambda n=name: make_agent(n, seed=seed), agent=name)
    if "expert" in wanted:
        eval_stage("expert", lambda: UCBExpert(seed, rationale=False), agent="ucb-expert")
    if "base" in wanted:
        eval_stage("base", _llm(model, plan, seed, max_new_tokens=G), max_new_tokens=G)
    for mechanism in MECHANISM_STAGES:
        if mechanism in wanted:
            temperature = plan.self_consistency_temperature if mechanism == "self-consistency" else 0.0
            build = _llm(model, plan, seed, max_new_tokens=G, temperature=temperature)
            eval_stage(mechanism, build, (mechanism,), max_new_tokens=G, temperature=temperature)
    for name, train_name, bonus in (("rlft", "rlft-train", 0.0), ("exploration-bonus", "bonus-train", None)):
        if name in wanted:
            tuned, config = rlft_stage(
                train_name, G, exploration_bonus=plan.exploration_bonus if bonus is None else bonus
            )
            # the training config too: a retrained model in the same folder is another model
            eval_stage(name, _llm(tuned, plan, seed, max_new_tokens=G), max_new_tokens=G, trained=tuned,
                       training=config)
    for name, mode in (("sft-bc", "behaviour"), ("sft-tc", "thought")):
        if name in wanted:
            tuned, budget, config = sft_stage(f"{name}-train", mode)
            eval_stage(name, _llm(tuned, plan, seed, max_new_tokens=budget), max_new_tokens=budget,
                       trained=tuned, training=config)
    budget_runs: dict[int, str] = {}
    for budget in plan.budgets if "budget" in wanted else ():
        name = f"budget-G{budget}"
        target, training = model, None
        if plan.budget_mode == "rlft":
            target, training = rlft_stage(f"{name}-train", budget)
        elif budget == G and "base" in evaluated:
            budget_runs[budget] = "base"  # the same run as the base stage
            continue
        eval_stage(name, _llm(target, plan, seed, max_new_tokens=budget), max_new_tokens=budget,
                   trained=target, training=training)
        budget_runs[budget] = name
    return write_comparison(out, evaluated, budget_runs, plan=plan, model=model, stages=used)


def write_comparison(
    out: Path,
    evaluated: dict[str, Path],
    budget_runs: dict[int, str],
    *,
    plan: ComparePlan,
    model: str,
    stages: list[Path] | None = None,
) -> Path:
    """Write ``comparison.md`` / ``.csv`` / ``.png`` and ``budget.csv`` / ``.png``; print the table.

    The wall-time line lists ``stages`` (default: the evaluated ones): the stages of this comparison,
    not every stage folder in ``out`` (a skipped method, or one evaluated on other episodes by an
    earlier comparison, may have left one there)."""
    from agents.evaluation import load_steps
    from analysis.interventions import comparison_table, format_comparison, plot_budget, plot_comparison
    from analysis.plots import plots_available

    order = ["base", *MECHANISM_STAGES, *TRAINED_STAGES, "expert", *REFERENCES]
    runs = {name: load_steps(evaluated[name]) for name in order if name in evaluated}
    table = comparison_table(runs, baseline="base" if "base" in runs else None)
    table.to_csv(out / "comparison.csv", index=False)
    budget = None
    if budget_runs:
        budget = comparison_table(
            {f"G={g}": load_steps(evaluated[r]) for g, r in sorted(budget_runs.items())}
        )
        budget = budget.assign(budget=sorted(budget_runs))
        budget.to_csv(out / "budget.csv", index=False)
    folders = sorted(set(evaluated.values() if stages is None else stages))
    seconds = {p.name: json.loads((p / "stage.json").read_text())["seconds"] for p in folders}
    setting = ", ".join(f"{k}={v}" for k, v in plan.env_kwargs.items())
    lines = [
        f"# Interventions compared: {model}",
        "",
        f"{BANDIT_ENV} ({setting}); {plan.num_envs} environments x seeds {list(plan.seeds)}; greedy decoding "
        f"at G = {plan.max_new_tokens} tokens; 95% intervals (Student t over episodes).",
        "",
        format_comparison(table),
    ]
    if budget is not None:
        lines += ["", f"Thinking budget ({plan.budget_mode}):", "", format_comparison(budget)]
    lines += ["", "Wall time per stage (s): " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()),
              f"Total: {sum(seconds.values()):.0f} s"]  # fmt: skip
    report = write_text(out / "comparison.md", "\n".join(lines) + "\n")
    if plots_available():
        plot_comparison(table, out / "comparison.png", title=f"{Path(model).name} on {BANDIT_ENV}")
        if budget is not None:
            refs = table[table["run"].isin(REFERENCES)]
            plot_budget(budget, out / "budget.png", references=refs, title="thinking budget")
    print("\n".join(lines))
    return report


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare",
        help="compare exploration mechanisms, expert SFT, RLFT and thinking budgets on one model",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--out", default=None, help="output folder (default runs/compare, or runs/compare-quick)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: quick base model, 4 envs, horizon 10"
    )
    parser.add_argument(
        "--model", default=None, help="hub id or folder of a causal LM (default: embedded model)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of agents and training (default 0)")
    parser.add_argument(
        "--num-envs", type=int, default=None, help="evaluation episodes per seed (default 64)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="evaluation seeds (default 0 1 2)")
    parser.add_argument("--horizon", type=int, default=None, help="bandit horizon T (default 50)")
    parser.add_argument(
        "--env-kwargs",
        type=json_object,
        default={},
        help="more TextBandit-v0 options, e.g. '{\"n_arms\": 5}' (default: 10 Gaussian arms, sigma 1)",
    )
    parser.add_argument("--max-new-tokens", type=int, default=None, help="generation budget G (default 256)")
    parser.add_argument("--budgets", type=int, nargs="+", default=None, help="the G sweep (16 64 256 512)")
    parser.add_argument("--budget-mode", choices=("eval", "rlft"), default=None,
                        help="eval: the model at each G; rlft: RL-fine-tuned at each G first")  # fmt: skip
    parser.add_argument("--self-consistency-k", type=int, default=None, help="samples per turn (default 16)")
    parser.add_argument(
        "--rlft",
        type=json_object,
        default={},
        help='RLFTConfig fields of the RL stages, e.g. \'{"total_updates": 4, "num_envs": 4}\'',
    )
    parser.add_argument(
        "--sft",
        type=json_object,
        default={},
        help='SFTConfig fields of the SFT stages, e.g. \'{"data_num_envs": 8, "epochs": 1}\'',
    )
    parser.add_argument("--skip", nargs="+", default=[], choices=METHODS, metavar="METHOD",
                        help="methods to leave out: " + ", ".join(METHODS))  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(func=_run_from_args)
    return parser


def _run_from_args(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    plan = QUICK if args.quick else FULL
    for name in ("num_envs", "max_new_tokens", "budget_mode", "self_consistency_k"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.seeds is not None:
        overrides["seeds"] = tuple(args.seeds)
    if args.budgets is not None:
        overrides["budgets"] = tuple(args.budgets)
    if args.horizon is not None or args.env_kwargs:
        horizon = {} if args.horizon is None else {"horizon": args.horizon}
        overrides["env_kwargs"] = {**plan.env_kwargs, **args.env_kwargs, **horizon}
    if args.rlft:
        overrides["rlft"] = {**plan.rlft, **args.rlft}
    if args.sft:
        overrides["sft"] = {**plan.sft, **args.sft}
    start = time.perf_counter()
    out = args.out or ("runs/compare-quick" if args.quick else "runs/compare")
    report = run_compare(out, quick=args.quick, model=args.model, seed=args.seed, overrides=overrides,
                         skip=tuple(args.skip), progress=not args.no_progress)  # fmt: skip
    print(f"[{TAG}] finished in {time.perf_counter() - start:.0f} s; table: {report}")
    return 0
