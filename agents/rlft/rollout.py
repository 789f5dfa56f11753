"""Collecting experience: whole episodes from a batch of environments with the sampling policy.

:func:`collect_rollout` steps ``len(envs)`` environments together: every decision is one batched
``policy.generate`` call over all active environments (temperature 1 while training). Each slot plays
``len(seeds[i])`` whole episodes in a row; a slot whose episode ended (tic-tac-toe) is reset at once
with its next seed, so batches stay full. Everything is seeded (environment seeds and one sampling
seed per decision), so a rollout is a pure function of the model weights and the seeds: this is what
makes ``--resume`` reproduce an uninterrupted run.

An :class:`Episode` keeps, per turn, exactly the token ids the policy generated from and generated
(so training can re-score them, see :mod:`agents.rlft.packing`), the sampling policy's log-prob of
each generated token, plus what the environment said (reward, regret, action, validity) for the
logged metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from analysis.metrics import greedy_flags

ROLLOUT_CACHE_NAMESPACE = "rlft-rollout"  # prefix-cache keys are (namespace, env slot)


@dataclass
class Episode:
    """One whole episode: lists indexed by turn.

    ``rewards`` are what the environment returned (normalised env reward plus the invalid-action
    penalty); ``train_rewards`` what the update trains on (the same, or the regret signal, see
    :func:`training_reward`); ``bonuses`` the exploration bonus given on top (0 when disabled).
    ``logprobs[t]`` holds ``Generation.logprobs`` of turn t (float32, one per completion token; empty
    list when the turns were added without them).
    """

    seed: int
    prompt_ids: list[list[int]] = field(default_factory=list)
    completion_ids: list[list[int]] = field(default_factory=list)
    logprobs: list[torch.Tensor] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    train_rewards: list[float] = field(default_factory=list)
    bonuses: list[float] = field(default_factory=list)
    env_rewards: list[float] = field(default_factory=list)
    regrets: list[float] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    n_actions: int = 0
    outcome: str | None = None

    def __post_init__(self) -> None:
        if not self.train_rewards:  # built from env rewards alone (tests, replays): train on them
            self.train_rewards = list(self.rewards)
        if len(self.train_rewards) != len(self.rewards):
            raise ValueError(
                f"train_rewards has {len(self.train_rewards)} turns and rewards {len(self.rewards)}"
            )

    def __len__(self) -> int:
        return len(self.rewards)

    def add_turn(
        self,
        prompt: list[int],
        completion: list[int],
        text: str,
        reward: float,
        info: dict[str, Any],
        bonus: float,
        logprobs: torch.Tensor | None = None,
        train_reward: float | None = None,
    ) -> None:
        """Append one turn; ``train_reward`` defaults to ``reward`` (the environment's signal)."""
        self.prompt_ids.append(list(prompt))
        self.completion_ids.append(list(completion))
        if logprobs is not None:
            self.logprobs.append(logprobs.detach().float().cpu())
        self.texts.append(text)
        self.rewards.append(float(reward))
        self.train_rewards.append(float(reward if train_reward is None else train_reward))
        self.bonuses.append(float(bonus))
        self.env_rewards.append(float(info.get("env_reward", reward)))
        self.regrets.append(float(info.get("regret", math.nan)))
        self.actions.append(int(info["action_index"]))
        self.valid.append(bool(info.get("valid_action", True)))
        self.n_actions = len(info.get("action_names", [])) or self.n_actions
        if info.get("outcome") is not None:
            self.outcome = info["outcome"]


def exploration_bonus(episode: Episode, info: dict[str, Any], bonus: float, steps: int = 0) -> float:
    """``bonus`` when the step's text validly named an action not executed before in the episode.

    ``steps`` > 0 pays it only on the episode's first ``steps`` turns (the turn being scored is turn
    ``len(episode.actions)``, counted from 0): exploring late in an episode then earns nothing."""
    if bonus == 0 or not info.get("valid_action", True) or (steps > 0 and len(episode.actions) >= steps):
        return 0.0
    return float(bonus) if int(info["action_index"]) not in episode.actions else 0.0


def training_reward(reward: float, info: dict[str, Any], signal: str, reward_scale: float = 1.0) -> float:
    """The reward a turn is trained on.

    ``"env"``: the environment's ``reward`` as returned (the paper's setting). ``"regret"``: minus the
    step's regret (best arm's true mean minus the executed arm's, or the minimax value lost on
    tic-tac-toe), scaled like the env's rewards, plus the invalid-action penalty the env charged.
    On a bandit its expectation differs from the env reward's by a constant per episode (the best
    mean, scaled), so it rewards the same choices, without the reward noise ("When Greedy Wins", SPEC: RL on
    regret-shaped rewards). It needs the env's true means: a training signal, not something the
    policy sees; evaluation is unchanged.

    Raises:
        ValueError: an unknown ``signal``, or ``"regret"`` on a step whose info has no finite regret.
    """
    if signal == "env":
        return float(reward)
    if signal != "regret":
        raise ValueError(f"reward signal must be 'env' or 'regret', got {signal!r}")
    regret = info.get("regret")
    if regret is None or not math.isfinite(float(regret)):
        raise ValueError("reward_signal 'regret' needs an environment whose step info has a finite 'regret' "
                         f"(the bandits, tic-tac-toe); this step's info has regret={regret!r}")
    penalty = float(reward) - float(info["env_reward"]) / reward_scale  # 0 unless the text named no action
    return -float(regret) / reward_scale + penalty


def collect_rollout(
    policy: Any,
    envs: Sequence[Any],
    seeds: Sequence[Sequence[int]],
    *,
    sample_seed: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    max_new_tokens: int | None = None,
    bonus: float = 0.0,
    bonus_steps: int = 0,
    reward_signal: str = "env",
    progress: Any = None,
) -> list[Episode]:
    """Play ``len(seeds[i])`` whole episodes in every environment slot ``i``.

    Args:
        policy: an :class:`agents.llm.LLMPolicy` (anything with its ``generate``).
        envs: environments (``gym.make`` of a textrl env), one per slot.
        seeds: per slot, the reset seed of each episode it plays.
        sample_seed: seed of the first decision's sampling; decision ``d`` uses ``sample_seed + d``.
        temperature, top_p, max_new_tokens: sampling settings.
        bonus: exploration bonus for untried actions (0 disables).
        bonus_steps: > 0: the bonus only on each episode's first ``bonus_steps`` turns.
        reward_signal: what the turns are trained on (:func:`training_reward`).
        progress: an optional tqdm bar, advanced by the number of decisions.

    Returns:
        The episodes, ordered by slot, then by play order within a slot.

    Raises:
        ValueError: ``seeds`` does not give at least one seed for each environment.
    """
    if len(seeds) != len(envs) or any(len(s) == 0 for s in seeds):
        raise ValueError(
            f"seeds must list at least one episode seed for each of the {len(envs)} environments"
        )
    queues = [list(s) for s in seeds]
    done: list[list[Episode]] = [[] for _ in envs]
    current: list[Episode] = []
    observations: list[str] = []
    for i, env in enumerate(envs):
        obs, _ = env.reset(seed=queues[i].pop(0))
        observations.append(obs)
        current.append(Episode(seed=seeds[i][0]))
    active = list(range(len(envs)))
    decision = 0
    while active:
        gen = policy.generate(
            [observations[i] for i in active],
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
            seed=sample_seed + decision,
            # exact prefix (KV) reuse across an environment's turns; see agents/llm/prefix_cache.py
            cache_keys=[(ROLLOUT_CACHE_NAMESPACE, i) for i in active],
        )
        decision += 1
        still_active = []
        for row, i in enumerate(active):
            text = gen.texts[row]
            obs, reward, terminated, truncated, info = envs[i].step(text)
            episode = current[i]
            step_bonus = exploration_bonus(episode, info, bonus, bonus_steps)
            prompt, completion, logprobs = gen.prompt_ids[row], gen.completion_ids[row], gen.logprobs[row]
            scale = float(getattr(envs[i].unwrapped, "reward_scale", 1.0))
            train = training_reward(reward, info, reward_signal, scale)
            episode.add_turn(prompt, completion, text, reward, info, step_bonus, logprobs, train_reward=train)
            observations[i] = obs
            if terminated or truncated:
                done[i].append(episode)
                if queues[i]:
                    next_seed = queues[i].pop(0)
                    observations[i], _ = envs[i].reset(seed=next_seed)
                    current[i] = Episode(seed=next_seed)
                    still_active.append(i)
            else:
                still_active.append(i)
        if progress is not None:
            progress.update(len(active))
        active = still_active
    # the cached prompts are of no use once the weights change (an update follows every rollout)
    cache = getattr(policy, "prefix_cache", None)
    if cache is not None:
        cache.drop([(ROLLOUT_CACHE_NAMESPACE, i) for i in range(len(envs))])
    return [episode for slot in done for episode in slot]


def rollout_metrics(episodes: Sequence[Episode]) -> dict[str, float]:
    """The ``env/*`` metrics of a rollout (means over episodes; the invalid rate over turns).

    ``env/return`` sums the rewards the environment returned (normalised, with the -5 shaping; the
    exploration bonus is not included), ``env/cumulative_regret`` the per-step regrets,
    ``env/coverage`` is the share of actions executed at least once by the episode's end and
    ``env/greedy_fraction`` the share of steps choosing the best empirical mean among tried actions
    (:func:`analysis.metrics.greedy_flags`; bandits only, NaN for tic-tac-toe).
    """
    if not episodes:
        raise ValueError("rollout_metrics needs at least one episode")
    returns = [sum(e.rewards) for e in episodes]
    regrets = [float(np.sum(e.regrets)) for e in episodes]
    coverage = [len(set(e.actions)) / max(e.n_actions, 1) for e in episodes]
    invalid = [not v for e in episodes for v in e.valid]
    is_game = any(e.outcome is not None for e in episodes)
    greedy = []
    if not is_game:
        for e in episodes:
            flags = greedy_flags(np.asarray(e.actions), np.asarray(e.env_rewards), e.n_actions)
            if np.isfinite(flags).any():
                greedy.append(float(np.nanmean(flags)))
    metrics = {
        "env/return": float(np.mean(returns)),
        "env/cumulative_regret": float(np.mean(regrets)),
        "env/coverage": float(np.mean(coverage)),
        "env/invalid_action_rate": float(np.mean(invalid)),
        "env/greedy_fraction": float(np.mean(greedy)) if greedy else math.nan,
        "env/episode_length": float(np.mean([len(e) for e in episodes])),
    }
    if is_game:
        outcomes = [e.outcome for e in episodes]
        metrics["env/win_rate"] = outcomes.count("win") / len(outcomes)
        metrics["env/loss_rate"] = outcomes.count("loss") / len(outcomes)
    return metrics


def completion_lengths(episodes: Sequence[Episode]) -> torch.Tensor:
    """``(num_turns,)`` number of generated tokens per turn, flat over the episodes."""
    return torch.tensor([len(c) for e in episodes for c in e.completion_ids], dtype=torch.long)
