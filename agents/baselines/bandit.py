"""Classic multi-armed bandit baselines: greedy, epsilon-greedy, UCB (two forms), Thompson sampling.

Each agent answers like the paper's expert rationales: a few short lines of arithmetic, then
``ACTION=<arm name>``. The decisions come from pure functions of per-arm pull counts and raw reward
sums (:func:`empirical_means`, :func:`ucb_scores`, :func:`gaussian_posterior`, :func:`beta_posterior`),
so they can be checked by hand.

Where the statistics come from: a ``TextBandit-v0`` info carries ``counts`` and ``sums`` (this step
included), which the agents read directly. On an env without them (the contextual bandit used
context-free), the agent keeps its own tally from ``observe`` (``action_index`` and the raw
``env_reward`` of each step). Either way the raw, un-normalised reward is used.

Untried arms: UCB and greedy first pull every arm once, in index order (UCB's value is infinite for
an untried arm; for greedy it is the usual initialisation), with the paper's try-all rationale
"Action X has not been tried yet, let's explore it."
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.baselines.common import ScriptedAgent, action_text, require_key
from agents.protocol import Info

UCB_FORMS = ("banditbench", "paper")
THOMPSON_DISTRIBUTIONS = ("auto", "gaussian", "beta")


def empirical_means(counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Mean raw reward per arm, 0.0 for an arm never pulled. ``counts``, ``sums``: (k,) -> (k,)."""
    counts = np.asarray(counts, dtype=np.float64)
    sums = np.asarray(sums, dtype=np.float64)
    return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)


def ucb_scores(
    counts: np.ndarray, sums: np.ndarray, *, form: str = "banditbench", alpha: float = 0.5
) -> np.ndarray:
    """Upper confidence bound per arm (``inf`` for an untried arm).

    - ``form="banditbench"``: ``mean_a + sqrt(alpha * ln(t) / n_a)`` with ``t`` the total number of
      pulls so far and ``alpha`` = 0.5 in BanditBench.
    - ``form="paper"``: ``mean_a + sqrt(1 / n_a)``, the rationale template of the paper's expert data.

    Example: counts (4, 1), sums (2.16, 0.3), paper form -> (0.54 + 0.5, 0.3 + 1.0) = (1.04, 1.3).
    """
    if form not in UCB_FORMS:
        raise ValueError(f"form must be one of {UCB_FORMS}, got {form!r}")
    counts = np.asarray(counts, dtype=np.float64)
    means = empirical_means(counts, sums)
    safe_n = np.maximum(counts, 1.0)  # untried arms are overwritten with inf below
    if form == "paper":
        bonus = np.sqrt(1.0 / safe_n)
    else:
        bonus = np.sqrt(alpha * np.log(max(counts.sum(), 1.0)) / safe_n)
    return np.where(counts > 0, means + bonus, np.inf)


def gaussian_posterior(
    counts: np.ndarray, sums: np.ndarray, *, prior_mean: float, prior_std: float, noise_std: float
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior (mean, std) of each arm's mean under a Gaussian prior and known Gaussian noise.

    Conjugate update: precision = 1 / prior_std^2 + n / noise_std^2,
    mean = (prior_mean / prior_std^2 + sum / noise_std^2) / precision, std = precision^-1/2.
    """
    counts = np.asarray(counts, dtype=np.float64)
    sums = np.asarray(sums, dtype=np.float64)
    precision = 1.0 / prior_std**2 + counts / noise_std**2
    mean = (prior_mean / prior_std**2 + sums / noise_std**2) / precision
    return mean, 1.0 / np.sqrt(precision)


def beta_posterior(
    counts: np.ndarray, sums: np.ndarray, *, a0: float = 1.0, b0: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Beta posterior parameters (a, b) per arm from 0/1 rewards: a = a0 + successes, b = b0 + failures.

    Raises ``ValueError`` when the sums cannot come from rewards in [0, 1] (not a Bernoulli bandit).
    """
    counts = np.asarray(counts, dtype=np.float64)
    sums = np.asarray(sums, dtype=np.float64)
    if np.any(sums < -1e-9) or np.any(sums > counts + 1e-9):
        raise ValueError(
            "Beta Thompson sampling needs rewards in [0, 1] (a Bernoulli bandit); got reward sums "
            f"{sums.tolist()} for pull counts {counts.tolist()}. Use distribution='gaussian'."
        )
    return a0 + sums, b0 + (counts - sums)


def argmax_random_tie(values: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the largest value; ties broken uniformly at random (avoids always favouring arm 0)."""
    values = np.asarray(values, dtype=np.float64)
    best = np.flatnonzero(values >= values.max() - 1e-12)
    return int(best[0] if best.size == 1 else best[rng.integers(best.size)])


class BanditAgent(ScriptedAgent):
    """Base of the bandit baselines: per-slot (counts, sums) tally, read from the info when present."""

    name = "bandit"

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self._counts: list[np.ndarray] = []  # (k,) int64 per slot, filled by reset/observe
        self._sums: list[np.ndarray] = []  # (k,) float64 per slot

    def _reset_state(self, infos: Sequence[Info]) -> None:
        sizes = [len(require_key(info, "action_names", self.name)) for info in infos]
        self._counts = [np.zeros(k, dtype=np.int64) for k in sizes]
        self._sums = [np.zeros(k, dtype=np.float64) for k in sizes]

    def observe(self, infos: Sequence[Info], env_ids: Sequence[int]) -> None:
        """Add each slot's executed action and raw reward to the agent's own tally."""
        for info, slot in zip(infos, env_ids, strict=True):
            action = int(require_key(info, "action_index", self.name))
            self._counts[slot][action] += 1
            self._sums[slot][action] += float(require_key(info, "env_reward", self.name))

    def stats(self, info: Info, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """(counts, sums) for one slot: the env's own tally when the info has it, else the agent's."""
        if "counts" in info and "sums" in info:
            return np.asarray(info["counts"], dtype=np.int64), np.asarray(info["sums"], dtype=np.float64)
        if slot >= len(self._counts):
            raise RuntimeError(f"{self.name}: no statistics for slot {slot}; call agent.reset(infos) first")
        return self._counts[slot], self._sums[slot]

    @staticmethod
    def _explore_untried(names: Sequence[str], counts: np.ndarray, rationale: bool) -> str | None:
        """The try-all answer for the first untried arm (index order), or None when all were tried."""
        untried = np.flatnonzero(counts == 0)
        if untried.size == 0:
            return None
        name = names[int(untried[0])]
        return action_text(
            name, f"Action {name} has not been tried yet, let's explore it." if rationale else ""
        )


class GreedyAgent(BanditAgent):
    """Pull every arm once, then always the arm with the best empirical mean (ties at random).

    Args:
        seed: randomness of the tie-breaking.
        rationale: write the best mean before ``ACTION=`` (False: the action only).
    """

    name = "greedy"

    def __init__(self, seed: int | None = None, *, rationale: bool = True) -> None:
        super().__init__(seed)
        self.rationale = bool(rationale)

    def decide(self, observation: str, info: Info, slot: int) -> str:
        names = require_key(info, "action_names", self.name)
        counts, sums = self.stats(info, slot)
        explore = self._explore_untried(names, counts, self.rationale)
        if explore is not None:
            return explore
        return self._exploit(names, counts, sums, slot)

    def _exploit(self, names: Sequence[str], counts: np.ndarray, sums: np.ndarray, slot: int) -> str:
        means = empirical_means(counts, sums)
        choice = argmax_random_tie(means, self._rng(slot))
        why = (
            f"The best mean reward so far is {names[choice]} = {means[choice]:.2f} ({counts[choice]} pulls)."
        )
        return action_text(names[choice], why if self.rationale else "")


class EpsilonGreedyAgent(GreedyAgent):
    """Greedy, except that with probability ``epsilon`` a uniformly random arm is pulled.

    Args:
        seed: randomness of exploration and tie-breaking.
        epsilon: exploration probability in [0, 1] (0.1, as in the paper's exploration comparison).
        rationale: write a short reason before ``ACTION=``.
    """

    name = "epsilon-greedy"

    def __init__(self, seed: int | None = None, *, epsilon: float = 0.1, rationale: bool = True) -> None:
        super().__init__(seed, rationale=rationale)
        if not 0.0 <= float(epsilon) <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.epsilon = float(epsilon)

    def decide(self, observation: str, info: Info, slot: int) -> str:
        names = require_key(info, "action_names", self.name)
        rng = self._rng(slot)
        if rng.random() < self.epsilon:
            choice = int(rng.integers(len(names)))
            why = f"Exploring a random action (epsilon = {self.epsilon:g})." if self.rationale else ""
            return action_text(names[choice], why)
        return super().decide(observation, info, slot)


class UCBAgent(BanditAgent):
    """Upper confidence bound: every arm once, then the arm with the largest UCB (ties at random).

    Args:
        seed: randomness of the tie-breaking.
        form: ``"banditbench"`` (mean + sqrt(alpha ln t / n), the ``ucb`` registry name) or ``"paper"``
            (mean + sqrt(1 / n), the ``ucb-paper`` name, as in the paper's expert rationales).
        alpha: exploration weight of the BanditBench form (0.5).
        rationale: write one line per arm ("Count for action green = 4, Mean = 2.16 / 4 = 0.54,
            UCB = 0.54 + sqrt(1 / 4) = 1.04") before ``ACTION=``; False: the action only.
    """

    name = "ucb"

    def __init__(
        self,
        seed: int | None = None,
        *,
        form: str = "banditbench",
        alpha: float = 0.5,
        rationale: bool = True,
    ) -> None:
        super().__init__(seed)
        if form not in UCB_FORMS:
            raise ValueError(f"form must be one of {UCB_FORMS}, got {form!r}")
        if not float(alpha) > 0.0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.form, self.alpha, self.rationale = form, float(alpha), bool(rationale)
        self.name = "ucb" if form == "banditbench" else "ucb-paper"

    def decide(self, observation: str, info: Info, slot: int) -> str:
        names = require_key(info, "action_names", self.name)
        counts, sums = self.stats(info, slot)
        explore = self._explore_untried(names, counts, self.rationale)
        if explore is not None:
            return explore
        scores = ucb_scores(counts, sums, form=self.form, alpha=self.alpha)
        choice = argmax_random_tie(scores, self._rng(slot))
        return action_text(
            names[choice], self._explain(names, counts, sums, scores) if self.rationale else ""
        )

    def _explain(self, names: Sequence[str], counts: np.ndarray, sums: np.ndarray, scores: np.ndarray) -> str:
        means = empirical_means(counts, sums)
        total = int(counts.sum())
        lines = []
        for name, n, s, m, u in zip(names, counts, sums, means, scores, strict=True):
            bonus = f"sqrt(1 / {n})" if self.form == "paper" else f"sqrt({self.alpha:g} * ln({total}) / {n})"
            mean = f"Mean = {s:.2f} / {n} = {m:.2f}"
            lines.append(f"Count for action {name} = {n}, {mean}, UCB = {m:.2f} + {bonus} = {u:.2f}")
        return "\n".join(lines)


def detect_distribution(observation: str, info: Info) -> str:
    """``"beta"`` for a Bernoulli bandit, else ``"gaussian"``.

    Looks at ``info["distribution"]`` when the env provides it, else at the instruction text, which
    names the reward distribution ("... associated with a Bernoulli distribution ...").
    """
    declared = info.get("distribution")
    if isinstance(declared, str):
        return "beta" if declared.lower() == "bernoulli" else "gaussian"
    text = observation.lower()
    return "beta" if "bernoulli" in text and "gaussian" not in text else "gaussian"


class ThompsonAgent(BanditAgent):
    """Thompson sampling: draw each arm's mean from its posterior, pull the arm with the largest draw.

    Args:
        seed: randomness of the posterior draws.
        distribution: ``"gaussian"`` (Gaussian prior on each mean, known Gaussian noise), ``"beta"``
            (Beta prior, 0/1 rewards) or ``"auto"`` (from the env: ``info["distribution"]`` or the
            instruction text; Bernoulli bandits use Beta, everything else Gaussian).
        prior_mean, prior_std: Gaussian prior of each arm's mean (0.5, 1.0: arm means are drawn in [0, 1]).
        noise_std: assumed reward noise of the Gaussian model (1.0, the paper's main setting).
        a0, b0: Beta prior (1, 1 = uniform).
        rationale: write the posterior draws before ``ACTION=``.
    """

    name = "thompson"

    def __init__(
        self,
        seed: int | None = None,
        *,
        distribution: str = "auto",
        prior_mean: float = 0.5,
        prior_std: float = 1.0,
        noise_std: float = 1.0,
        a0: float = 1.0,
        b0: float = 1.0,
        rationale: bool = True,
    ) -> None:
        super().__init__(seed)
        if distribution not in THOMPSON_DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {THOMPSON_DISTRIBUTIONS}, got {distribution!r}")
        for label, value in (("prior_std", prior_std), ("noise_std", noise_std), ("a0", a0), ("b0", b0)):
            if not float(value) > 0.0:
                raise ValueError(f"{label} must be > 0, got {value}")
        self.distribution = distribution
        self.prior_mean, self.prior_std, self.noise_std = (
            float(prior_mean),
            float(prior_std),
            float(noise_std),
        )
        self.a0, self.b0, self.rationale = float(a0), float(b0), bool(rationale)

    def sample_means(self, observation: str, info: Info, slot: int) -> np.ndarray:
        """One posterior draw of every arm's mean for this slot: (k,)."""
        counts, sums = self.stats(info, slot)
        kind = detect_distribution(observation, info) if self.distribution == "auto" else self.distribution
        rng = self._rng(slot)
        if kind == "beta":
            a, b = beta_posterior(counts, sums, a0=self.a0, b0=self.b0)
            return rng.beta(a, b)
        mean, std = gaussian_posterior(
            counts, sums, prior_mean=self.prior_mean, prior_std=self.prior_std, noise_std=self.noise_std
        )
        return rng.normal(mean, std)

    def decide(self, observation: str, info: Info, slot: int) -> str:
        names = require_key(info, "action_names", self.name)
        draws = self.sample_means(observation, info, slot)
        choice = int(np.argmax(draws))  # continuous draws: ties have probability zero
        why = (
            "Posterior samples: "
            + ", ".join(f"{n} = {d:.2f}" for n, d in zip(names, draws, strict=True))
            + "."
        )
        return action_text(names[choice], why if self.rationale else "")
