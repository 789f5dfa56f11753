"""Benchmark: TextBandit-v0 steps per second at growing horizons with a fixed history window.

The env renders incrementally (fixed prefix/suffix, a deque of the last ``history_window`` lines),
so the per-step cost should not grow with the horizon. Prints steps/second per horizon, timed
over the LAST ``--steps`` steps of an episode (where a non-incremental renderer would be slowest),
and the ratio of per-step time at the largest horizon to the smallest (target <= 1.5).

    python scripts/bench_env.py                       # horizons 50 500 5000, window 50
    python scripts/bench_env.py --horizons 50 5000 --history-window 20
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
from tqdm import tqdm

import textrl_envs  # noqa: F401  (registers the envs)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", type=int, nargs="+", default=[50, 500, 5000])
    parser.add_argument("--history-window", type=int, default=50)
    parser.add_argument("--steps", type=int, default=50, help="timed steps at the end of each episode")
    parser.add_argument("--repeats", type=int, default=20, help="episodes per horizon (best-of for timing)")
    return parser.parse_args(argv)


def time_per_step(horizon: int, history_window: int, steps: int, repeats: int) -> float:
    """Best (minimum over repeats) seconds per step over the last ``steps`` steps of an episode."""
    env = gym.make("TextBandit-v0", horizon=horizon, history_window=history_window).unwrapped
    names = env.action_names
    steps = min(steps, horizon)
    best = float("inf")
    for rep in range(repeats):
        env.reset(seed=rep)
        for t in range(horizon - steps):  # untimed warm-up to the end of the episode
            env.step(f"Thinking... ACTION={names[t % len(names)]}")
        start = time.perf_counter()
        for t in range(steps):
            env.step(f"Thinking... ACTION={names[t % len(names)]}")
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def main(args: argparse.Namespace) -> dict[int, float]:
    """Run the benchmark, print a table, return {horizon: seconds per step}."""
    results = {}
    for horizon in tqdm(args.horizons, desc="horizons"):
        results[horizon] = time_per_step(horizon, args.history_window, args.steps, args.repeats)
    print(f"TextBandit-v0, history_window={args.history_window}, timing the last {args.steps} steps")
    print(f"{'horizon':>8}  {'steps/s':>10}  {'us/step':>9}")
    for horizon, seconds in results.items():
        print(f"{horizon:>8}  {1 / seconds:>10.0f}  {seconds * 1e6:>9.1f}")
    low, high = min(results), max(results)
    ratio = results[high] / results[low]
    print(f"per-step time ratio horizon {high} / horizon {low}: {ratio:.2f} (target <= 1.5)")
    return results


if __name__ == "__main__":
    main(parse_args())
