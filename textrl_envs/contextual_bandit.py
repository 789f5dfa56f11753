"""``TextContextualBandit-v0``: BanditBench's MovieLens contextual bandit as a text environment."""

from __future__ import annotations

from collections import deque
from functools import lru_cache
from typing import Any

import gymnasium as gym
import numpy as np

from textrl_envs import contextual_text as ct
from textrl_envs._common import (
    ACTION_MAX_LENGTH,
    DEFAULT_INVALID_ACTION_PENALTY,
    check_bool,
    check_float,
    check_int,
    check_render_mode,
    check_step_input,
    text_space,
)
from textrl_envs.extraction import extract_action
from textrl_envs.movielens import MovieLensBandit, build_bandit, load_movielens_100k, synthetic_ratings


@lru_cache(maxsize=8)
def load_bandit(
    data_dir: str | None, n_users: int, data_seed: int, n_arms: int, rank: int
) -> MovieLensBandit:
    """The (cached, read-only) bandit world: synthetic unless ``data_dir`` names ml-100k files.

    Cached so that the many copies of a vector env share one SVD.
    """
    if data_dir is None:
        ratings, titles, users = synthetic_ratings(n_users, data_seed, rank)
    else:
        ratings, titles, users = load_movielens_100k(data_dir)
    return build_bandit(ratings, titles, users, n_arms, rank)


class TextContextualBanditEnv(gym.Env[str, str]):
    """Movie recommendation as a contextual bandit; observation = prompt, action = the answer.

    ## Description
    The arms are the ``n_arms`` most-rated movies of a MovieLens-shaped rating matrix; each step a
    user (drawn uniformly) is described in text (age, gender, occupation, location and a ``d``-dim
    preference vector), and the agent recommends one movie with ``ACTION=<movie name>``. The
    expected reward is the rank-``d`` SVD reconstruction of the user's rating (see
    :mod:`textrl_envs.movielens`). By default the data are synthetic (MovieLens cannot be
    downloaded here); ``data_dir`` loads the real MovieLens-100K files from a local folder.
    The world (arms, users) is fixed per env instance; each episode serves ``horizon`` fresh users.

    ## Action Space
    ``Text``: any ``str``. Arms are movie names like ``star_wars_(1977)``. Text without a valid
    name executes a uniformly random arm.

    ## Observation Space
    ``Text`` over all printable characters: ``contextual_text.render_contextual_prompt``
    (instruction with the movie list, history lines ``Step=0 User=[...] Action=... Reward=3.41``,
    the current user, output instruction).

    ## Starting State
    A uniformly drawn user.

    ## Rewards
    ``env_reward = expected_rewards[action] + N(0, reward_noise^2)`` (noise 0 by default: the
    reward is BanditBench's reconstructed rating). Returned reward
    ``env_reward / reward_scale + (invalid_action_penalty if invalid)`` with ``reward_scale = 1``:
    the reconstruction of a zero-filled 1-5 rating matrix mostly lies in about [-1, 6] (unrated = 0
    pulls it down), so the -5 penalty is about the whole rating range: an invalid answer costs more
    than any wrong movie, yet the differences between movies (~2 points between the best and the
    average arm in the synthetic data) are not swamped by it.

    ## Episode End
    ``terminated=True`` after ``horizon`` steps. Never truncates.

    ## Information
    Reset and step: ``action_names`` (movie names), ``step``, ``optimal_action`` (best arm for the
    decision just taken at step / about to be taken at reset), ``context`` (d,) preference vector of
    the user in the returned observation (the *next* decision), ``expected_rewards`` (k,) for that
    user, ``arm_features`` (k, d), ``user_index`` (row of that user). Step only: ``action_index``,
    ``valid_action``, ``env_reward``, ``regret`` (best expected reward for the user acted on minus
    the executed arm's), ``extracted`` (raw ``ACTION=`` value or None).

    ## Arguments
    ``gym.make("TextContextualBandit-v0", n_arms=10)`` or ``(..., data_dir="path/to/ml-100k")``

    ======================  ==========  ==========================================================
    n_arms                  10          arms (most-rated movies); synthetic data: at most 40
    rank                    5           SVD rank d (length of the preference vector)
    horizon                 50          users per episode
    history_window          None        past steps shown in the prompt (None: all)
    cot                     True        chain-of-thought output instruction, else action only
    data_dir                None        folder with ml-100k's u.data, u.item, u.user
    n_users                 943         synthetic users (ml-100k has 943); ignored with data_dir
    data_seed               0           seed of the synthetic world (not of episodes)
    reward_noise            0.0         std of Gaussian noise added to each reward
    invalid_action_penalty  -5.0        added to the reward when the text names no movie
    render_mode             None        "ansi": ``render()`` returns the observation
    ======================  ==========  ==========================================================

    Vector envs: fixed-length episodes, so with the default ``NEXT_STEP`` autoreset all slots end
    together and the next ``step`` is a reset step; use ``AutoresetMode.DISABLED`` or drop it.
    ``AsyncVectorEnv`` needs ``shared_memory=False`` (see ``TextBanditEnv``).

    ## References
    Nie et al. 2024 (BanditBench), arXiv 2410.06238; Schmied et al. 2025, arXiv 2504.16078;
    Harper & Konstan 2015 (MovieLens).

    ## Version History
    v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        n_arms: int = 10,
        rank: int = 5,
        horizon: int = 50,
        history_window: int | None = None,
        cot: bool = True,
        data_dir: str | None = None,
        n_users: int = 943,
        data_seed: int = 0,
        reward_noise: float = 0.0,
        invalid_action_penalty: float = DEFAULT_INVALID_ACTION_PENALTY,
        render_mode: str | None = None,
    ) -> None:
        self.n_arms = check_int("n_arms", n_arms, 2)
        self.rank = check_int("rank", rank, 1)
        self.horizon = check_int("horizon", horizon, 1)
        if history_window is not None:
            history_window = check_int("history_window", history_window, 1)  # 0 would hide the history
        self.history_window = history_window
        self.cot = check_bool("cot", cot)
        if data_dir is not None and not isinstance(data_dir, str):
            data_dir = str(data_dir)  # accept pathlib.Path; the cache key needs a str
        n_users = check_int("n_users", n_users, 1)
        data_seed = check_int("data_seed", data_seed, 0)
        self.data = load_bandit(data_dir, n_users, data_seed, self.n_arms, self.rank)
        self.reward_noise = check_float("reward_noise", reward_noise)
        if self.reward_noise < 0:
            raise ValueError(f"reward_noise must be >= 0, got {self.reward_noise}")
        self.reward_scale = 1.0
        self.invalid_action_penalty = check_float(
            "invalid_action_penalty", invalid_action_penalty, non_positive=True
        )
        self.render_mode = check_render_mode(render_mode)
        self.action_names = list(self.data.movie_names)
        self._prefix = ct.prompt_prefix(self.action_names, self.horizon)
        shown = self.horizon if history_window is None else min(self.horizon, history_window)
        name = max(len(n) for n in self.action_names)
        line = 48 + 10 * self.rank + name + 24  # "Step= User=[...] Action= Reward=" + a float
        user = 400 + 10 * self.rank  # sentence + vector
        self.observation_space = text_space(len(self._prefix) + shown * (line + 1) + user + 400)
        self.action_space = text_space(ACTION_MAX_LENGTH)
        self._lines: deque[str] = deque(maxlen=history_window)
        self._user = 0
        self._t = 0
        self._started = False
        self._obs = ""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        self._lines = deque(maxlen=self.history_window)
        self._t = 0
        self._started = True
        self._user = int(self.np_random.integers(len(self.data.user_vectors)))
        self._obs = self._render_obs()
        return self._obs, self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        check_step_input(action, self._t >= self.horizon, self._started)
        extraction = extract_action(action, self.action_names)
        valid = extraction.index is not None
        arm = extraction.index if valid else int(self.np_random.integers(self.n_arms))
        expected = self.data.expected_rewards[self._user]  # (k,)
        env_reward = float(expected[arm])
        if self.reward_noise > 0:  # draw only when used, so noise-free runs keep their RNG stream
            env_reward += float(self.np_random.normal(0.0, self.reward_noise))
        reward = env_reward / self.reward_scale + (0.0 if valid else self.invalid_action_penalty)
        optimal = int(np.argmax(expected))
        regret = float(expected[optimal] - expected[arm])

        self._lines.append(
            ct.history_line(self._t, self.data.user_vectors[self._user], self.action_names[arm], env_reward)
        )
        self._t += 1
        self._user = int(self.np_random.integers(len(self.data.user_vectors)))  # the next visitor
        self._obs = self._render_obs()
        info = self._info()
        info.update(
            optimal_action=optimal,
            action_index=int(arm),
            valid_action=bool(valid),
            env_reward=env_reward,
            regret=regret,
            extracted=extraction.matched,
        )
        return self._obs, float(reward), bool(self._t >= self.horizon), False, info

    def render(self) -> str | None:
        return self._obs if self.render_mode == "ansi" else None

    def _render_obs(self) -> str:
        user = ct.user_block(self.data.describe_user(self._user), self.data.user_vectors[self._user])
        return ct.assemble_prompt(self._prefix, "\n".join(self._lines), user, self.cot)

    def _info(self) -> dict[str, Any]:
        expected = self.data.expected_rewards[self._user]
        return {
            "action_names": list(self.action_names),
            "step": int(self._t),
            "optimal_action": int(np.argmax(expected)),
            "context": np.array(self.data.user_vectors[self._user]),
            "expected_rewards": np.array(expected),
            "arm_features": np.array(self.data.arm_features),
            "user_index": int(self._user),
        }
