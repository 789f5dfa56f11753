"""How low can the regret go on the study's bandit, and how much lower must a run be to show it?

On ``TextBandit-v0``'s default task (10 Gaussian arms, means ~ U(0, 1), sigma = 1, horizon 50) the
arms are hard to tell apart: a pull's noise is as large as the whole spread of the means. This
script plays, on the same seeded episodes as ``textrl evaluate`` (64 envs x seeds 0 1 2 by default):

- **explore-then-commit k** (k = 1 .. 10): pull the first k arms once each, then always the best
  empirical mean among them. k = 10 is the ``greedy`` baseline; the embedded base model and the
  paper's LLMs behave like a small k (coverage@50 ~ k / 10).
- **posterior mean + q sd**: a Gaussian posterior per arm (prior N(0.5, 1/12), the mean and variance
  of U(0, 1); known sigma), play the arm with the highest ``mean + q * sd`` (Bayes-UCB). With q around
  0.5 it is the best simple rule we know for this task: a floor for what RL can reach.
- UCB (BanditBench form) and random, the report's references.

It prints each agent's mean cumulative regret at T with its 95% interval, coverage@T, the
interval's half-width, and the top-arm share (:func:`analysis.metrics.top_arm_share`, the issue's
name-bias check, <= 25%). A deterministic rule whose first pull is always the same arm, as a greedy
decoder's is on the fixed first prompt, exploits that arm whenever it is the best of the k tried:
explore-then-commit k gives each of its k labels about (1 + (T - k) / k) / T of the pulls (50% at
k = 2, 25% at k = 4 for T = 50) and its top-arm share is the largest of them, so a policy that meets
the 25% bound under greedy decoding explores at least 4 or 5 arms.

With ``--base-steps`` (a ``steps.csv`` / ``steps.parquet`` of the model the question is about, on
the same episodes) it also prints, for each agent, the paired difference
agent - base (:func:`analysis.summary.paired_difference`) and whether the two runs' own intervals
separate: the arithmetic behind "RL lowers the regret with non-overlapping intervals".

Usage::

    PYTHONPATH=. python scripts/bandit_regret_floor.py [--num-envs 64] [--seeds 0 1 2] \\
        [--base-steps runs/demo/base/steps.parquet]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from agents.baselines.bandit import BanditAgent, argmax_random_tie, empirical_means, gaussian_posterior
from agents.baselines.common import action_text, require_key
from agents.evaluation import evaluate
from agents.protocol import Info
from agents.registry import make_agent
from analysis.metrics import top_arm_share
from analysis.summary import paired_difference, summarize_steps

ENV_ID = "TextBandit-v0"
ENV_KWARGS = {"n_arms": 10, "distribution": "gaussian", "noise": "medium", "horizon": 50}


class ExploreThenCommit(BanditAgent):
    """Pull arms 0 .. k-1 once each (index order), then the best empirical mean among them."""

    def __init__(self, k: int, seed: int | None = None) -> None:
        super().__init__(seed)
        self.k = int(k)
        self.name = f"commit-after-{self.k}"

    def decide(self, observation: str, info: Info, slot: int) -> str:
        names = require_key(info, "action_names", self.name)
        counts, sums = self.stats(info, slot)
        if counts.sum() < self.k:
            return action_text(names[int(counts.sum())])
        means = np.where(counts > 0, empirical_means(counts, sums), -np.inf)
        return action_text(names[argmax_random_tie(means, self._rng(slot))])


class PosteriorOptimism(BanditAgent):
    """Highest ``posterior mean + q * posterior sd`` under a N(prior_mean, prior_var) prior per arm
    (known noise ``sigma``; :func:`agents.baselines.bandit.gaussian_posterior`). Untried arms keep the
    prior, so they are explored only while nothing tried looks better than an average arm.
    """

    def __init__(self, q: float, sigma: float = 1.0, prior_mean: float = 0.5, prior_var: float = 1 / 12,
                 seed: int | None = None) -> None:
        super().__init__(seed)
        self.q, self.sigma, self.prior_mean, self.prior_var = float(q), float(sigma), prior_mean, prior_var
        self.name = f"posterior+{self.q:g}sd"

    def decide(self, observation: str, info: Info, slot: int) -> str:
        names = require_key(info, "action_names", self.name)
        counts, sums = self.stats(info, slot)
        mean, sd = gaussian_posterior(counts, sums, prior_mean=self.prior_mean,
                                      prior_std=self.prior_var**0.5, noise_std=self.sigma)
        score = mean + self.q * sd
        return action_text(names[argmax_random_tie(score, self._rng(slot))])


def read_steps(path: str) -> pd.DataFrame:
    """A step log written by ``textrl evaluate`` / the demo (``.parquet`` or ``.csv``)."""
    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)


def agents_to_play(commit_ks: Sequence[int], qs: Sequence[float]) -> list:
    return [
        *(ExploreThenCommit(k, seed=0) for k in commit_ks),
        *(PosteriorOptimism(q, seed=0) for q in qs),
        make_agent("ucb", seed=0),
        make_agent("random", seed=0),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-envs", type=int, default=64, help="parallel episodes per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="env seeds")
    parser.add_argument("--commit-k", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 8, 10],
                        help="explore-then-commit: arms tried before committing")
    parser.add_argument("--q", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0],
                        help="posterior rule: sds of optimism")
    parser.add_argument("--base-steps", help="step log of the model to compare against (same episodes)")
    args = parser.parse_args(argv)
    base = read_steps(args.base_steps) if args.base_steps else None
    if base is not None:
        (base_row,) = summarize_steps(base).itertuples()
        print(f"base ({base_row.agent}): regret {base_row.cum_regret_mean:.2f} "
              f"[{base_row.cum_regret_ci_low:.2f}, {base_row.cum_regret_ci_high:.2f}]")
    t0 = time.perf_counter()
    rows = []
    for agent in agents_to_play(args.commit_k, args.q):
        steps = evaluate(ENV_ID, agent, num_envs=args.num_envs, seeds=args.seeds, env_kwargs=ENV_KWARGS,
                         progress=False)
        (s,) = summarize_steps(steps).itertuples()
        low, high = s.cum_regret_ci_low, s.cum_regret_ci_high
        row = {"agent": s.agent, "regret": s.cum_regret_mean, "ci_low": low, "ci_high": high,
               "half_width": (high - low) / 2, "coverage": s.coverage_last,
               "top_arm_share": float(top_arm_share(steps)["top_arm_share"].iloc[0])}
        if base is not None:
            diff, low, high, _ = paired_difference(steps, base)
            row.update(paired_diff=diff, paired_low=low, paired_high=high,
                       separate=bool(s.cum_regret_ci_high < base_row.cum_regret_ci_low))
        rows.append(row)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    elapsed = time.perf_counter() - t0
    print(f"{args.num_envs} envs x seeds {args.seeds}: {len(table)} agents in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
