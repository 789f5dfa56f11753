"""The study on a real pretrained model, stage by stage: bandit evaluations beside UCB and random, both
probes, tic-tac-toe, and the report (README "SmolLM2-135M-Instruct").

    python scripts/study_real_model.py                      # SmolLM2, the full table (~1-1.5 h on 2 cores)
    python scripts/study_real_model.py --quick --out /tmp/s # every stage on a toy scale (~3 min)
    python scripts/study_real_model.py --model HuggingFaceTB/SmolLM2-135M-Instruct  # the hub original

Stages (each a run folder under ``--out``; a finished stage, whose ``stage.json`` is written last, is
reused, so an interrupted study resumes):

==============  ==========================================================================
``ucb``         UCB (BanditBench, alpha 0.5) on TextBandit-v0
``random``      uniformly random arms on the same seeds
``llm-action``  the model, greedy, answering with the action only (``cot: false``)
``llm-cot``     the model, greedy, thinking step by step first (``cot: true``; G = 256 tokens)
probes          frequency bias (log-prob scoring of ``ACTION=<arm>``) and knowing-doing, written
                into ``llm-action`` (``frequency_bias.csv``, ``knowing_doing.csv``, ``probes.json``)
``ttt-llm``     the model on TextTicTacToe-v0 against the random opponent
``ttt-random``  random legal moves against the same opponent
``report``      ``textrl report`` of all of the above
==============  ==========================================================================
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run_stage(folder: Path, settings: dict, work: Callable[[Path], None]) -> None:
    """Run ``work(folder)`` unless ``folder/stage.json`` records the same settings (then reuse it)."""
    marker = folder / "stage.json"
    if marker.is_file() and json.loads(marker.read_text()).get("settings") == settings:
        print(f"[study] {folder.name}: finished earlier, reused")
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"[study] {folder.name}: running", flush=True)
    start = time.perf_counter()
    work(folder)
    seconds = time.perf_counter() - start
    from agents.evaluation.io import write_json

    write_json(marker, {"settings": settings, "seconds": round(seconds, 1)})
    print(f"[study] {folder.name}: done in {seconds:.0f} s", flush=True)


def evaluate_stage(env_id: str, make_agent: Callable[[], object], name: str, env_kwargs: dict, num_envs: int,
                   args):
    def work(folder: Path) -> None:
        from agents.evaluation import evaluate, write_run

        steps = evaluate(
            env_id,
            make_agent(),
            num_envs=num_envs,
            seeds=args.seeds,
            env_kwargs=env_kwargs,
            agent_name=name,
            progress=not args.no_progress,
        )
        write_run(steps, folder, meta={"env": env_id, "agent": name, "env_kwargs": env_kwargs})

    return work


def llm(model: str, max_new_tokens: int, batch_size: int):
    def build():
        from agents.llm import LLMAgent

        return LLMAgent.from_pretrained(
            model, temperature=0.0, max_new_tokens=max_new_tokens, batch_size=batch_size
        )

    return build


def scripted(name: str):
    def build():
        from agents.registry import make_agent

        return make_agent(name, seed=0)

    return build


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m-instruct", help="named model, hub id or folder")
    p.add_argument("--out", default="runs/smollm2", help="study folder (one sub-folder per stage)")
    p.add_argument("--num-envs", type=int, default=64, help="bandit episodes per seed")
    p.add_argument("--cot-num-envs", type=int, default=None,
                   help="bandit episodes per seed of the chain-of-thought stage (default: --num-envs; "
                        "CoT decodes up to --cot-tokens per step, the costliest stage)")
    p.add_argument("--ttt-num-envs", type=int, default=64, help="tic-tac-toe games per seed")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--arms", type=int, default=10)
    p.add_argument("--horizon", type=int, default=50)
    p.add_argument("--action-tokens", type=int, default=32, help="token budget of action-only answers")
    p.add_argument("--cot-tokens", type=int, default=256, help="budget of CoT answers (the paper's G)")
    p.add_argument("--ttt-tokens", type=int, default=128, help="token budget of tic-tac-toe answers")
    p.add_argument("--fb-prefixes", type=int, default=4, help="frequency-bias prefixes (x 21 repetitions)")
    p.add_argument("--kd-prompts", type=int, default=64, help="knowing-doing prompts")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--quick", action="store_true", help="every stage on a toy scale (checks the plumbing)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.num_envs, args.ttt_num_envs, args.horizon, args.arms = 2, 2, 3, 5
        args.action_tokens, args.cot_tokens, args.ttt_tokens = 12, 24, 24
        args.fb_prefixes, args.kd_prompts = 1, 2
    out = Path(args.out)
    bandit = {"n_arms": args.arms, "distribution": "gaussian", "noise": "medium", "horizon": args.horizon}
    ttt = {"opponent": "random"}
    common = {"seeds": args.seeds, "model": args.model}
    stages = [
        ("ucb", "TextBandit-v0", scripted("ucb"), bandit, {"num_envs": args.num_envs}),
        ("random", "TextBandit-v0", scripted("random"), bandit, {"num_envs": args.num_envs}),
        (
            "llm-action",
            "TextBandit-v0",
            llm(args.model, args.action_tokens, args.batch_size),
            {**bandit, "cot": False},
            {"num_envs": args.num_envs, "tokens": args.action_tokens},
        ),
        (
            "llm-cot",
            "TextBandit-v0",
            llm(args.model, args.cot_tokens, args.batch_size),
            {**bandit, "cot": True},
            {"num_envs": args.cot_num_envs or args.num_envs, "tokens": args.cot_tokens},
        ),
        (
            "ttt-llm",
            "TextTicTacToe-v0",
            llm(args.model, args.ttt_tokens, args.batch_size),
            ttt,
            {"num_envs": args.ttt_num_envs, "tokens": args.ttt_tokens},
        ),
        ("ttt-random", "TextTicTacToe-v0", scripted("random"), ttt, {"num_envs": args.ttt_num_envs}),
    ]
    for name, env_id, build, env_kwargs, extra in stages:
        settings = {**common, **extra, "env": env_id, "env_kwargs": env_kwargs}
        stage = evaluate_stage(env_id, build, name, env_kwargs, extra["num_envs"], args)
        run_stage(out / name, settings, stage)

    def probes(folder: Path) -> None:
        from agents.llm import LLMAgent
        from analysis.probes import run_probes

        agent = LLMAgent.from_pretrained(args.model, temperature=0.0, max_new_tokens=args.cot_tokens)
        run_probes(
            agent,
            folder,
            frequency_bias_kwargs={
                "n_prefixes": args.fb_prefixes,
                "candidate_template": "ACTION={name}",  # a chat model answers directly
                **({"repetitions": [0, 5]} if args.quick else {}),
            },
            knowing_doing_kwargs={"n_prompts": args.kd_prompts, "context_summary": True},
            progress=not args.no_progress,
        )

    probe_settings = {**common, "fb_prefixes": args.fb_prefixes, "kd_prompts": args.kd_prompts}
    run_stage(out / "probes", probe_settings, probes)
    for file in ("frequency_bias.csv", "knowing_doing.csv", "probes.json"):  # the report reads them here
        shutil.copy2(out / "probes" / file, out / "llm-action" / file)

    from analysis.report import build_report

    names = [name for name, *_ in stages]
    report = build_report(
        [out / n for n in names], out / "report", names=names, separate_settings=True
    )  # action-only and chain-of-thought runs side by side, each setting labelled
    print(f"[study] wrote {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
