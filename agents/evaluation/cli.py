"""``textrl evaluate``: run one agent on one environment and write a run folder.

Usage::

    textrl evaluate --env TextBandit-v0 --agent ucb --num-envs 64 --seeds 0 1 2 --out runs/ucb
    textrl evaluate --env TextBandit-v0 --agent thompson --env-kwargs '{"noise": "low"}' --out runs/ts
    textrl evaluate --env TextTicTacToe-v0 --agent minimax --env-kwargs '{"opponent": "mcts"}' --out runs/mm
    textrl evaluate --env TextBandit-v0 --agent llm --model path/to/model --num-envs 16 --out runs/llm \
        --agent-name my-model
    textrl evaluate --env TextBandit-v0 --agent llm --mechanism try-all context-summary --out runs/llm-ta
    textrl evaluate --env TextBandit-v0 --agent llm --agent-kwargs '{"temperature": 1.0}' \
        --mechanism self-consistency --mechanism-kwargs '{"self-consistency": {"k": 16}}' --out runs/llm-sc

Writes ``OUT/steps.parquet`` (``--format csv``: ``steps.csv``), ``OUT/summary.json`` and
``OUT/run.json`` (these arguments), then prints the summary table (cumulative regret with 95% CI,
coverage at the last step, invalid-action rate; win/draw/loss rates for tic-tac-toe).

The agent's own randomness is seeded with ``seed`` from ``--agent-kwargs`` (default 0), so a run is
reproducible from its ``run.json``.

``--mechanism`` applies exploration mechanisms (:mod:`agents.mechanisms`) to any agent: the agent
wrappers ``try-all``, ``epsilon-greedy``, ``self-correction``, ``self-consistency`` (listed innermost
first) and the environment options ``context-summary`` and ``context-randomization``. The run's
``agent`` column then reads e.g. ``llm+try-all``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from agents.evaluation.io import STEP_FORMATS, write_run
from agents.mechanisms import EVALUATION_MECHANISMS
from agents.registry import AGENT_NAMES


def json_object(text: str) -> dict[str, Any]:
    """argparse ``type=`` for ``--env-kwargs``/``--agent-kwargs``: a JSON object, else an argparse error."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({error.msg} at char {error.pos}): {text!r}"
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f'must be a JSON object like \'{{"noise": "low"}}\', got {text!r}')
    return value


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``evaluate`` sub-command to the ``textrl`` parser."""
    parser = subparsers.add_parser(
        "evaluate",
        help="run an agent on seeded episodes and write the step log and summary",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--env", required=True, help="environment id, e.g. TextBandit-v0")
    parser.add_argument("--agent", required=True, choices=AGENT_NAMES, help="agent name")
    parser.add_argument(
        "--agent-name",
        default=None,
        metavar="NAME",
        help="label of the run's rows in the step log, the summary and reports (default: --agent)",
    )
    parser.add_argument("--num-envs", type=int, default=64, help="parallel episodes per seed (default 64)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="env seeds (default 0)")
    parser.add_argument("--out", required=True, help="run folder to write")
    parser.add_argument("--env-kwargs", type=json_object, default={}, help="JSON object of env options")
    parser.add_argument("--agent-kwargs", type=json_object, default={}, help="JSON object of agent options")
    parser.add_argument("--model", default=None, help="llm agent only: hub id or local model folder")
    parser.add_argument(
        "--mechanism", nargs="+", default=[], choices=EVALUATION_MECHANISMS, metavar="NAME",
        help="exploration mechanisms to apply, innermost first: " + ", ".join(EVALUATION_MECHANISMS),
    )
    parser.add_argument("--mechanism-kwargs", type=json_object, default={},
                        help='JSON object of options per mechanism, e.g. \'{"self-consistency": {"k": 8}}\'')
    parser.add_argument("--format", choices=STEP_FORMATS, default="parquet", help="step log file format")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run_evaluate, _parser=parser)
    return parser


def run_evaluate(args: argparse.Namespace) -> int:
    """Run the ``evaluate`` sub-command; a bad option value ends with an argparse error (exit 2)."""
    import gymnasium as gym

    from agents.evaluation.harness import check_num_envs, check_seeds, evaluate, resolve_env_id
    from agents.mechanisms import apply_mechanisms
    from agents.registry import make_agent

    parser: argparse.ArgumentParser = args._parser
    agent_kwargs = dict(args.agent_kwargs)
    if args.model is not None:
        if args.agent != "llm":
            parser.error(f"--model is only for --agent llm, not {args.agent!r}")
        agent_kwargs["model"] = args.model
    seed = agent_kwargs.pop("seed", 0)
    agent_name = "+".join([args.agent, *args.mechanism]) if args.agent_name is None else args.agent_name
    if not agent_name.strip():
        parser.error("--agent-name must not be empty")
    try:  # option errors become argparse errors; errors while running keep their traceback
        env_id = resolve_env_id(args.env)
        check_num_envs(args.num_envs)
        check_seeds(args.seeds)
        gym.make(args.env, **args.env_kwargs).close()  # checks the env options once, up front
        agent = make_agent(args.agent, seed=seed, **agent_kwargs)
        agent, env_kwargs = apply_mechanisms(
            agent, args.mechanism, env_id=env_id, env_kwargs=args.env_kwargs, options=args.mechanism_kwargs,
            seed=seed,
        )
    except (ValueError, TypeError) as error:
        parser.error(str(error))
    steps = evaluate(
        env_id,
        agent,
        num_envs=args.num_envs,
        seeds=args.seeds,
        env_kwargs=env_kwargs,
        agent_name=agent_name,
        progress=not args.no_progress,
    )
    from analysis.summary import format_summary, summarize_steps

    summary = summarize_steps(steps)
    meta = {k: v for k, v in vars(args).items() if k not in ("func", "_parser")}
    meta["agent_seed"] = seed  # the seed actually used (default 0 when --agent-kwargs has none)
    meta["env_kwargs"] = env_kwargs  # with the mechanisms' env options
    out = write_run(steps, args.out, fmt=args.format, meta=meta, summary=summary)
    print(format_summary(summary))
    print(f"wrote {out / ('steps.' + args.format)}, {out / 'summary.json'}, {out / 'run.json'}")
    return 0
