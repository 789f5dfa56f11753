"""``TextBandit-v0``: the multi-armed bandit of the paper and BanditBench, as a text environment."""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from textrl_envs import bandit_text as bt
from textrl_envs._common import (
    ACTION_MAX_LENGTH,
    DEFAULT_INVALID_ACTION_PENALTY,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_render_mode,
    check_step_input,
    text_space,
)
from textrl_envs.extraction import extract_action

#: Gaussian reward standard deviation per noise level (SPEC: 0.1 / 1 / 3).
GAUSSIAN_SIGMA = {"low": 0.1, "medium": 1.0, "high": 3.0}
#: Bernoulli (low, high) arm means per noise level: "low" = easy gap 0.5, "high" = hard gap 0.2.
BERNOULLI_MEANS = {"low": (0.25, 0.75), "high": (0.4, 0.6)}
NOISE_LEVELS = tuple(GAUSSIAN_SIGMA)


def draw_arm_means(np_random: np.random.Generator, n_arms: int, distribution: str, noise: str) -> np.ndarray:
    """One episode's arm means, shape (n_arms,).

    Gaussian: mu_a ~ U(0, 1) i.i.d. Bernoulli: every arm at the low mean, one arm (at a position
    drawn uniformly, i.e. the arm order is shuffled by the seed) at the high mean.
    """
    if distribution == "gaussian":
        return np_random.uniform(0.0, 1.0, size=n_arms)
    low, high = BERNOULLI_MEANS[noise]
    means = np.full(n_arms, low)
    means[np_random.integers(n_arms)] = high
    return means


def pull_arm(np_random: np.random.Generator, mean: float, distribution: str, sigma: float) -> float:
    """One raw reward: ``N(mean, sigma)`` or ``Bernoulli(mean)`` (as 0.0 / 1.0)."""
    if distribution == "gaussian":
        return float(np_random.normal(mean, sigma))
    return float(np_random.random() < mean)


class TextBanditEnv(gym.Env[str, str]):
    """A k-armed bandit whose observation is the prompt an LLM answers and whose action is its answer.

    ## Description
    Each episode draws a new bandit (arm means) and lasts ``horizon`` steps. At every step the agent
    sees the task, the history of its past pulls and rewards, and an output instruction; it answers
    in free text, and the last ``ACTION=X`` naming an arm is pulled (see
    :mod:`textrl_envs.extraction`). Follows the paper (Schmied et al. 2025) and BanditBench.

    ## Action Space
    ``Text``: any ``str`` (the whole answer). Arms are colours (``variant="button"``: red, green,
    blue, yellow, orange, purple, ... see ``bandit_text.BUTTON_COLORS``) or numbers ``0..k-1``
    (``variant="continuous"``). Text without a valid arm executes a uniformly random arm.
    With ``randomize_labels=True`` (the paper's *context randomisation*) the labels are re-assigned
    to the arms by a fresh random permutation before every decision: the answer is read with the
    labels of the observation it answers, and the whole history is re-rendered with the new labels,
    so a label carries no information from one step to the next. The arms themselves (means,
    ``action_index``, ``counts``, regret) keep their identity.

    ## Observation Space
    ``Text`` over all printable characters: the prompt of ``bandit_text.render_bandit_prompt`` for
    the history so far (instruction; "So far you have tried/seen:"; lines like
    ``Step=0 Action=green Reward=0.3``; "What do you predict next?"; output instruction).

    ## Starting State
    Gaussian: ``mu_a ~ U(0, 1)`` per arm. Bernoulli: all arms at 0.25 with one at 0.75 (noise "low",
    gap 0.5) or all at 0.4 with one at 0.6 (noise "high", gap 0.2); the good arm's position is random.

    ## Rewards
    ``env_reward`` is the raw pull: ``N(mu_a, sigma)``, sigma = 0.1 / 1 / 3 for noise low / medium /
    high, or ``Bernoulli(mu_a)``. The returned reward is
    ``env_reward / reward_scale + (invalid_action_penalty if the text named no arm else 0)``.
    Default ``reward_scale = max(1, sigma)`` (1 for Bernoulli): it keeps the reward noise at most
    1 standard deviation per pull, so the -5 penalty stays 5 noise-stds and 5 times the whole range
    of arm means below a valid pull (it never vanishes in high noise), while with sigma <= 1 the
    rewards are left untouched (the penalty is then a clear but bounded cost, not a swamping one).

    ## Episode End
    ``terminated=True`` after ``horizon`` steps (the horizon is stated in the prompt). Never truncates.

    ## Information
    Reset and step: ``action_names`` (list[str], the label of each arm in the returned observation;
    the fixed list unless ``randomize_labels``), ``step`` (decisions taken), ``optimal_action``
    (best arm), ``arm_means`` (k,), ``counts`` (k,) int64 and ``sums`` (k,) float64 (pulls and raw
    reward sums so far). Step only: ``action_index`` (arm pulled), ``valid_action`` (bool),
    ``env_reward`` (raw reward), ``regret`` (``arm_means.max() - arm_means[action_index]``),
    ``extracted`` (raw ``ACTION=`` value or None).

    ## Arguments
    ``gym.make("TextBandit-v0", n_arms=10, distribution="gaussian", noise="medium")``

    ======================  ==========  ==========================================================
    n_arms                  10          arms (button variant: at most 20)
    distribution            "gaussian"  "gaussian" or "bernoulli"
    noise                   "medium"    "low" / "medium" / "high" (Bernoulli: "low" or "high")
    variant                 "button"    "button" (colours) or "continuous" (numbers)
    horizon                 50          steps per episode
    history_window          None        past steps shown in the prompt (None: all; >= 1, or 0 with
                                        context_summary=True: the summary without history lines)
    cot                     True        chain-of-thought output instruction, else action only
    prompt_style            "default"   "ucb" appends the knowing-doing UCB instruction
    context_summary         False       per-arm counts and mean rewards after the history
    randomize_labels        False       re-assign the labels to the arms at random every step
    reward_scale            None        divide raw rewards by this (None: documented default)
    invalid_action_penalty  -5.0        added to the reward when the text names no arm
    render_mode             None        "ansi": ``render()`` returns the observation
    ======================  ==========  ==========================================================

    Vector envs: all episodes have the same length, so with Gymnasium's default ``NEXT_STEP``
    autoreset every slot ends together and the following ``step`` is a reset step (reward 0, the
    actions ignored); use ``autoreset_mode=gym.vector.AutoresetMode.DISABLED`` and call ``reset``
    yourself, or drop that step. ``AsyncVectorEnv`` needs ``shared_memory=False``: Gymnasium 1.4
    decodes a ``Text`` shared-memory buffer into strings once, at construction, so with shared
    memory every later observation would be that stale (all-"0") text.

    ## References
    Schmied et al. 2025, arXiv 2504.16078; Nie et al. 2024 (BanditBench), arXiv 2410.06238.

    ## Version History
    v0: initial version; ``randomize_labels`` added later (off by default, so v0 runs are unchanged).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        n_arms: int = 10,
        distribution: str = "gaussian",
        noise: str = "medium",
        variant: str = "button",
        horizon: int = 50,
        history_window: int | None = None,
        cot: bool = True,
        prompt_style: str = "default",
        context_summary: bool = False,
        reward_scale: float | None = None,
        invalid_action_penalty: float = DEFAULT_INVALID_ACTION_PENALTY,
        render_mode: str | None = None,
        randomize_labels: bool = False,
    ) -> None:
        check_choice("distribution", distribution, bt.DISTRIBUTIONS)
        check_choice("variant", variant, bt.VARIANTS)
        check_choice("noise", noise, NOISE_LEVELS if distribution == "gaussian" else tuple(BERNOULLI_MEANS))
        check_choice("prompt_style", prompt_style, bt.PROMPT_STYLES)
        max_arms = len(bt.BUTTON_COLORS) if variant == "button" else 1000
        self.n_arms = check_int("n_arms", n_arms, 2, max_arms)
        self.horizon = check_int("horizon", horizon, 1)
        self.context_summary = check_bool("context_summary", context_summary)
        if history_window is not None:
            # 0 shows no history lines: only meaningful with the per-arm summary (BanditBench's
            # summarized history); without it the prompt would hold no information at all
            history_window = check_int("history_window", history_window, 0 if self.context_summary else 1)
        self.history_window = history_window
        self.distribution, self.noise = distribution, noise
        self.variant, self.prompt_style = variant, prompt_style
        self.cot = check_bool("cot", cot)
        self.randomize_labels = check_bool("randomize_labels", randomize_labels)
        self.sigma = GAUSSIAN_SIGMA[noise] if distribution == "gaussian" else 0.0
        default_scale = max(1.0, self.sigma) if distribution == "gaussian" else 1.0
        self.reward_scale = (
            default_scale
            if reward_scale is None
            else check_float("reward_scale", reward_scale, positive=True)
        )
        self.invalid_action_penalty = check_float(
            "invalid_action_penalty", invalid_action_penalty, non_positive=True
        )
        self.render_mode = check_render_mode(render_mode)

        self.action_names = bt.arm_names(self.n_arms, variant)
        # Fixed text pieces, rendered once: the per-step cost is then the window join only.
        self._prefix = bt.prompt_prefix(self.action_names, distribution, self.horizon, variant)
        self._suffix = bt.prompt_suffix(
            self.action_names, variant=variant, cot=self.cot, prompt_style=prompt_style
        )
        self.observation_space = text_space(self._max_prompt_length())
        self.action_space = text_space(ACTION_MAX_LENGTH)

        self._arm_means = np.zeros(self.n_arms)
        self._counts = np.zeros(self.n_arms, dtype=np.int64)
        self._sums = np.zeros(self.n_arms, dtype=np.float64)
        self._lines: deque[str] = deque(maxlen=self.history_window)
        # randomize_labels: _labels[a] is arm a's label now; the history is kept as (arm, reward)
        self._labels = list(self.action_names)
        self._pulls: list[tuple[int, float]] = []
        self._t = 0
        self._started = False
        self._obs = ""

    def _max_prompt_length(self) -> int:
        """A safe bound on the prompt length for the observation space."""
        shown = self.horizon if self.history_window is None else min(self.horizon, self.history_window)
        name = max(len(n) for n in self.action_names)
        line = len("Step= Action= Reward=") + len(str(self.horizon)) + name + 24  # 24: any float
        summary = 40 + self.n_arms * (name + 64) if self.context_summary else 0
        return len(self._prefix) + len(self._suffix) + shown * (line + 1) + summary + 16

    # -- Gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        self._arm_means = draw_arm_means(self.np_random, self.n_arms, self.distribution, self.noise)
        self._counts = np.zeros(self.n_arms, dtype=np.int64)
        self._sums = np.zeros(self.n_arms, dtype=np.float64)
        self._lines = deque(maxlen=self.history_window)
        self._pulls = []
        self._t = 0
        self._started = True
        self._shuffle_labels()
        self._obs = self._render_obs()
        return self._obs, self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        check_step_input(action, self._t >= self.horizon, self._started)
        extraction = extract_action(action, self._labels)
        valid = extraction.index is not None
        arm = extraction.index if valid else int(self.np_random.integers(self.n_arms))
        env_reward = pull_arm(self.np_random, float(self._arm_means[arm]), self.distribution, self.sigma)
        reward = env_reward / self.reward_scale + (0.0 if valid else self.invalid_action_penalty)

        self._counts[arm] += 1
        self._sums[arm] += env_reward
        if self.randomize_labels:
            self._pulls.append((int(arm), env_reward))
        else:
            line = bt.history_line(self._t, self.action_names[arm], env_reward, self.distribution)
            self._lines.append(line)
        self._t += 1
        self._shuffle_labels()
        self._obs = self._render_obs()
        info = self._info()
        info.update(
            action_index=int(arm),
            valid_action=bool(valid),
            env_reward=float(env_reward),
            regret=float(self._arm_means.max() - self._arm_means[arm]),
            extracted=extraction.matched,
        )
        return self._obs, float(reward), bool(self._t >= self.horizon), False, info

    def render(self) -> str | None:
        return self._obs if self.render_mode == "ansi" else None

    # -- helpers -----------------------------------------------------------------------------
    def _shuffle_labels(self) -> None:
        """randomize_labels: a fresh permutation of the labels over the arms (from ``np_random``)."""
        if self.randomize_labels:
            self._labels = [self.action_names[i] for i in self.np_random.permutation(self.n_arms)]

    def _render_obs(self) -> str:
        if self.randomize_labels:  # the whole history in today's labels; the summary in label order
            first = 0 if self.history_window is None else max(0, len(self._pulls) - self.history_window)
            history = "\n".join(
                bt.history_line(t, self._labels[arm], reward, self.distribution)
                for t, (arm, reward) in enumerate(self._pulls[first:], start=first)
            )
            order = [self._labels.index(name) for name in self.action_names]  # arm shown as each label
            counts, sums = self._counts[order], self._sums[order]
        else:
            history, counts, sums = "\n".join(self._lines), self._counts, self._sums
        summary = (
            bt.summary_block(self.action_names, counts, sums, self.variant) if self.context_summary else None
        )
        return bt.assemble_prompt(self._prefix, history, summary, self._suffix)

    def _info(self) -> dict[str, Any]:
        # Fresh copies every call: users (and check_env) may keep infos across steps.
        return {
            "action_names": list(self._labels),
            "step": int(self._t),
            "optimal_action": int(np.argmax(self._arm_means)),
            "arm_means": self._arm_means.copy(),
            "counts": self._counts.copy(),
            "sums": self._sums.copy(),
        }
