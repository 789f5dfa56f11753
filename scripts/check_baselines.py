"""Check the classic baselines end to end and print the measured numbers.

1. Cumulative regret at T = 50 on 10-arm Gaussian bandits, sigma = 1 (``TextBandit-v0`` defaults):
   UCB (both forms), Thompson sampling, greedy, epsilon-greedy and random, 64 envs x seeds 0 1 2,
   mean and 95% CI. Expect UCB and Thompson well below random.
2. LinUCB vs random (and context-free UCB) on ``TextContextualBandit-v0``.
3. Tic-tac-toe: minimax as the agent never loses in 500 games against each opponent (random, mcts,
   noisy-mcts, minimax; half the games moving first), and a random agent never beats the minimax
   opponent in 500 games.

Usage::

    PYTHONPATH=. python scripts/check_baselines.py [--num-envs 64] [--seeds 0 1 2] [--games 500]

Exits with status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import sys

from agents.evaluation.checks import bandit_regret_summary, tictactoe_record
from analysis.summary import format_summary

BANDIT_AGENTS = ("ucb", "ucb-paper", "thompson", "greedy", "epsilon-greedy", "random")
CONTEXTUAL_AGENTS = ("linucb", "ucb", "random")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-envs", type=int, default=64, help="parallel bandit episodes per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="bandit env seeds")
    parser.add_argument("--games", type=int, default=500, help="tic-tac-toe games per opponent")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> int:
    progress = not args.no_progress
    failures = []

    print("== TextBandit-v0: 10 arms, Gaussian sigma = 1, T = 50 ==")
    bandit = bandit_regret_summary(
        "TextBandit-v0", BANDIT_AGENTS, num_envs=args.num_envs, seeds=args.seeds, progress=progress
    )
    print(format_summary(bandit))
    regret = bandit.set_index("agent")
    for better in ("ucb", "thompson"):
        if not regret.loc[better, "cum_regret_ci_high"] < regret.loc["random", "cum_regret_ci_low"]:
            failures.append(f"{better} is not significantly below random on TextBandit-v0")

    print("\n== TextContextualBandit-v0: 10 movies, T = 50 ==")
    contextual = bandit_regret_summary(
        "TextContextualBandit-v0",
        CONTEXTUAL_AGENTS,
        num_envs=args.num_envs,
        seeds=args.seeds,
        progress=progress,
    )
    print(format_summary(contextual))
    regret = contextual.set_index("agent")
    if not regret.loc["linucb", "cum_regret_ci_high"] < regret.loc["random", "cum_regret_ci_low"]:
        failures.append("linucb is not significantly below random on TextContextualBandit-v0")

    print(f"\n== TextTicTacToe-v0: {args.games} games per opponent, half moving first ==")
    minimax = tictactoe_record("minimax", games=args.games, progress=progress)
    print(minimax.to_string(index=False))
    for row in minimax.itertuples():
        if row.losses:
            failures.append(f"minimax lost {row.losses} games against {row.opponent}")
    random_vs_minimax = tictactoe_record("random", games=args.games, opponents=["minimax"], progress=progress)
    print(random_vs_minimax.to_string(index=False))
    if random_vs_minimax.wins.iloc[0]:
        failures.append(f"random beat the minimax opponent {random_vs_minimax.wins.iloc[0]} times")

    print()
    for failure in failures:
        print(f"FAIL: {failure}")
    print("all baseline checks passed" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(parse_args()))
