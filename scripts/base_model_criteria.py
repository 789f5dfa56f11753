"""Measure a base model against the criteria a base model must meet before RL can show anything
(does it follow the format, read the rewards, explore greedily, play legal tic-tac-toe, know UCB?).

    python scripts/base_model_criteria.py                                  # the shipped default model
    python scripts/base_model_criteria.py --model runs/base-model --refs   # + UCB, greedy, random
    python scripts/base_model_criteria.py --num-envs 16 --seeds 0 --skip probes   # a quick look

Each evaluation is the harness of ``textrl evaluate`` (greedy decoding, the paper's default prompt
with chain-of-thought, 10 Gaussian arms, sigma 1, horizon 50). Printed per agent: cumulative regret
at T=50, coverage@50, greedy fraction (``analysis.metrics.greedy_fraction``) and invalid rate, each
with a 95% interval, and the top-arm share; then tic-tac-toe against the random opponent (return with
a Student-t interval, illegal moves), the reading probe (``analysis.probes.reading``: the best-mean
arm named among k arms tried once each, against chance) and the knowing-doing probe's parse rate.
``--out`` keeps the step logs (parquet) and a ``criteria.json`` of every number printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BANDIT_KWARGS = {"n_arms": 10, "distribution": "gaussian", "noise": "medium", "horizon": 50, "cot": True}
REFERENCES = ("ucb", "greedy", "random")


def mean_ci(values) -> tuple[float, float, float]:
    """Mean and Student-t 95% interval."""
    import numpy as np
    from scipy import stats

    x = np.asarray(values, dtype=float)
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0
    return float(x.mean()), float(x.mean()) - half, float(x.mean()) + half


def bandit_row(name: str, steps) -> dict:
    from analysis.metrics import coverage_curve, greedy_fraction, top_arm_share
    from analysis.summary import summarize_steps

    s = summarize_steps(steps).iloc[0]
    g = greedy_fraction(steps).iloc[0]
    top = top_arm_share(steps).iloc[0]
    cov = coverage_curve(steps)
    last = cov[cov["step"] == cov["step"].max()].iloc[0]
    row = {
        "agent": name,
        "regret": [float(s.cum_regret_mean), float(s.cum_regret_ci_low), float(s.cum_regret_ci_high)],
        "coverage_at_T": [float(last["mean"]), float(last["ci_low"]), float(last["ci_high"])],
        "greedy_fraction": [float(g.greedy_fraction), float(g.ci_low), float(g.ci_high)],
        "top_arm_share": float(top.top_arm_share),
        "top_arm": str(top.top_arm),
        "invalid_rate": float(s.invalid_rate),
    }
    r, c, gf = row["regret"], row["coverage_at_T"], row["greedy_fraction"]
    print(
        f"{name:8s} regret {r[0]:6.2f} [{r[1]:.2f}, {r[2]:.2f}]"
        f"  coverage@50 {c[0]:.1%} [{c[1]:.1%}, {c[2]:.1%}]"
        f"  greedy {gf[0]:.0%} [{gf[1]:.0%}, {gf[2]:.0%}]"
        f"  top-arm {row['top_arm_share']:.0%} ({row['top_arm']})  invalid {row['invalid_rate']:.1%}",
        flush=True,
    )
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None,
                   help="folder, hub id or named model (default: the shipped base model)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--max-new-tokens", type=int, default=128, help="generation budget G of a bandit answer")
    p.add_argument("--refs", action="store_true", help="also UCB, greedy and random on the same seeds")
    p.add_argument("--context-summary", action="store_true", help="the paper's summary prompt variant")
    p.add_argument("--skip", nargs="*", default=[], choices=["bandit", "ttt", "probes"])
    p.add_argument("--out", default=None, help="folder for the step logs and criteria.json")
    args = p.parse_args(argv)

    import textrl_envs  # noqa: F401
    from agents.base_model import ensure_base_model
    from agents.evaluation import evaluate
    from agents.llm import LLMAgent
    from agents.registry import make_agent

    model = args.model or str(ensure_base_model("default"))
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    bandit = {**BANDIT_KWARGS, **({"context_summary": True} if args.context_summary else {})}
    result: dict = {"model": model, "seeds": args.seeds, "num_envs": args.num_envs, "bandit_kwargs": bandit}
    print(f"model {model}; TextBandit-v0 {bandit}; {args.num_envs} envs x seeds {args.seeds}", flush=True)

    def llm(max_new_tokens: int) -> LLMAgent:
        return LLMAgent.from_pretrained(model, temperature=0.0, max_new_tokens=max_new_tokens, batch_size=64)

    if "bandit" not in args.skip:
        rows = []
        agents = [("llm", lambda: llm(args.max_new_tokens))]
        if args.refs:
            agents += [(name, lambda n=name: make_agent(n, seed=0)) for name in REFERENCES]
        for name, build in agents:
            t0 = time.perf_counter()
            steps = evaluate("TextBandit-v0", build(), num_envs=args.num_envs, seeds=args.seeds,
                             env_kwargs=bandit, agent_name=name, progress=False)  # fmt: skip
            rows.append({**bandit_row(name, steps), "wall_s": round(time.perf_counter() - t0, 1)})
            if out:
                steps.to_parquet(out / f"bandit_{name}.parquet")
        result["bandit"] = rows
    if "ttt" not in args.skip:
        from analysis.metrics import tictactoe_outcomes

        result["tictactoe"] = []
        for name, build in [("llm", lambda: llm(48)), ("random", lambda: make_agent("random", seed=0))]:
            steps = evaluate("TextTicTacToe-v0", build(), num_envs=args.num_envs, seeds=args.seeds,
                             env_kwargs={"opponent": "random"}, agent_name=name, progress=False)  # fmt: skip
            o = tictactoe_outcomes(steps).iloc[0]
            ret = mean_ci(steps.groupby(["seed", "episode"])["env_reward"].sum())
            games = int(steps.groupby(["seed", "episode"]).ngroups)
            row = {"agent": name, "return": list(ret), "games": games,
                   "win": float(o.win_rate), "draw": float(o.draw_rate), "loss": float(o.loss_rate),
                   "illegal_move_rate": float(o.illegal_move_rate),
                   "invalid_rate": float(1 - steps["valid_action"].mean())}  # fmt: skip
            print(f"ttt {name:6s} return {ret[0]:+.2f} [{ret[1]:+.2f}, {ret[2]:+.2f}] over {games} games"
                  f"  win {row['win']:.0%} draw {row['draw']:.0%} loss {row['loss']:.0%}"
                  f"  illegal {row['illegal_move_rate']:.1%}  invalid {row['invalid_rate']:.1%}",
                  flush=True)  # fmt: skip
            result["tictactoe"].append(row)
    if "probes" not in args.skip:
        from analysis.probes import (
            format_reading_scores,
            knowing_doing,
            knowing_doing_counts,
            reading,
            reading_scores,
        )

        kd = knowing_doing(llm(192), n_prompts=64, context_summary=True, progress=False)
        parsed = float((kd["parse_status"] == "ok").mean())
        print(f"knowing-doing: <ucb_values> parsed in {parsed:.0%} of {len(kd)} answers", flush=True)
        scores = reading_scores(reading(llm(args.max_new_tokens), progress=False))
        print(format_reading_scores(scores), flush=True)
        result["knowing_doing"] = {"parsed": parsed, **{k: v for k, v in knowing_doing_counts(kd).items()
                                                         if isinstance(v, (int, float))}}  # fmt: skip
        result["reading"] = json.loads(scores.to_json(orient="records"))
    if out:
        (out / "criteria.json").write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
