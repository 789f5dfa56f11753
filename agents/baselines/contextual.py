"""LinUCB (disjoint model) for ``TextContextualBandit-v0``, BanditBench's contextual baseline.

Each arm ``a`` keeps its own ridge regression of the raw reward on the user's preference vector
``x`` (``info["context"]``, shape (d,)):

    A_a = ridge * I + sum x x^T        b_a = sum r x        theta_a = A_a^-1 b_a
    score_a(x) = theta_a . x + alpha * sqrt(x^T A_a^-1 x)

and the arm with the largest score is pulled (ties at random). BanditBench uses ``alpha = 0.5``.

Why ``ridge = 1e-4`` by default: the preference vectors are rows of the SVD's ``U_d`` (norm ~0.07,
entries ~1/sqrt(n_users)) while rewards are ratings of a few points, all positive for most arms.
An untried arm's score is its bonus ``alpha * |x| / sqrt(ridge)``; it must be comparable to the
rewards, or the first arm tried (estimate ~3 > 0) wins forever. With ``ridge = 1e-4`` the bonus is
0.5 * 0.07 / 0.01 = 3.5 rating points. Measured on ``TextContextualBandit-v0`` (10 arms, 50 users,
32 envs x seeds 0-1, cumulative regret): ridge 1 -> 94 (coverage 25%), 1e-3 -> 69, 1e-4 -> 53,
1e-5 -> 101 (explores too long); random 111, context-free UCB 56.
The context acted on is the one in the info passed to ``act`` (the env's info describes the *next*
decision); ``observe`` then adds ``(x, env_reward)`` to the executed arm's regression.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.baselines.bandit import argmax_random_tie
from agents.baselines.common import ScriptedAgent, action_text, require_key
from agents.protocol import Info


def linucb_scores(A: np.ndarray, b: np.ndarray, x: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(estimates, bonuses) per arm for context ``x``; the LinUCB score is their sum.

    Args:
        A: (k, d, d) per-arm ridge Gram matrices. b: (k, d) per-arm reward-weighted context sums.
        x: (d,) context. alpha: width of the confidence bonus.
    """
    theta = np.linalg.solve(A, b[..., None])[..., 0]  # (k, d)
    estimates = theta @ x  # (k,)
    a_inv_x = np.linalg.solve(A, np.broadcast_to(x, b.shape)[..., None])[..., 0]  # (k, d) rows A_a^-1 x
    bonuses = alpha * np.sqrt(np.maximum(a_inv_x @ x, 0.0))  # (k,)
    return estimates, bonuses


class LinUCBAgent(ScriptedAgent):
    """Disjoint LinUCB on the user context vector.

    Args:
        seed: randomness of the tie-breaking (all arms tie before any data).
        alpha: confidence width (0.5 in BanditBench).
        ridge: ridge penalty, the initial ``A_a = ridge * I`` (1e-4, see the module docstring;
            scale it with the squared norm of the contexts for other data).
        rationale: write each arm's estimate + bonus before ``ACTION=``.

    Attributes (after ``reset``): ``A[slot]`` (k, d, d) and ``b[slot]`` (k, d).
    """

    name = "linucb"

    def __init__(
        self, seed: int | None = None, *, alpha: float = 0.5, ridge: float = 1e-4, rationale: bool = True
    ) -> None:
        super().__init__(seed)
        if not float(alpha) >= 0.0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if not float(ridge) > 0.0:
            raise ValueError(f"ridge must be > 0 (A must stay invertible), got {ridge}")
        self.alpha, self.ridge, self.rationale = float(alpha), float(ridge), bool(rationale)

    def _reset_state(self, infos: Sequence[Info]) -> None:
        self.A: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        self._acted_on: list[np.ndarray | None] = []
        for info in infos:
            k = len(require_key(info, "action_names", self.name))
            d = np.asarray(require_key(info, "context", self.name)).shape[0]
            self.A.append(np.tile(self.ridge * np.eye(d), (k, 1, 1)))  # (k, d, d)
            self.b.append(np.zeros((k, d)))  # (k, d)
            self._acted_on.append(None)

    def decide(self, observation: str, info: Info, slot: int) -> str:
        names = require_key(info, "action_names", self.name)
        x = np.asarray(require_key(info, "context", self.name), dtype=np.float64)  # (d,)
        rng = self._rng(slot)
        if x.shape != self.b[slot].shape[1:]:
            raise ValueError(f"context has shape {x.shape}, expected ({self.b[slot].shape[1]},) as at reset")
        estimates, bonuses = linucb_scores(self.A[slot], self.b[slot], x, self.alpha)
        choice = argmax_random_tie(estimates + bonuses, rng)
        self._acted_on[slot] = x
        why = ""
        if self.rationale:
            why = "LinUCB estimate + bonus: " + "; ".join(
                f"{n} {e:.2f} + {u:.2f} = {e + u:.2f}"
                for n, e, u in zip(names, estimates, bonuses, strict=True)
            )
        return action_text(names[choice], why)

    def observe(self, infos: Sequence[Info], env_ids: Sequence[int]) -> None:
        """Add ``(context acted on, raw reward)`` to the executed arm's ridge regression."""
        for info, slot in zip(infos, env_ids, strict=True):
            x = self._acted_on[slot]
            if x is None:
                raise RuntimeError(f"linucb: observe() for slot {slot} before act() chose an action there")
            action = int(require_key(info, "action_index", self.name))
            reward = float(require_key(info, "env_reward", self.name))
            self.A[slot][action] += np.outer(x, x)
            self.b[slot][action] += reward * x
            self._acted_on[slot] = None
