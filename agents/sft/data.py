"""Expert data for SFT: record the expert's episodes, then turn them into token ids with a loss mask.

:func:`collect_expert_episodes` plays the expert through the evaluation harness (the same seeded
episodes ``textrl evaluate`` plays) and keeps, per episode and turn, the observation (the prompt) and
the expert's answer. :func:`encode_episodes` tokenises them the way the policy will see them:

- the prompt exactly as :meth:`LLMPolicy.encode_prompts` encodes it (the chat template with its
  generation prompt when the tokenizer has one, else plain text);
- the answer as the model should generate it, ending with the token that ends a completion. With a
  chat template the answer is rendered as the assistant turn of the same conversation and cut after
  the template's first end-of-turn token (what generation stops on), so the template's own markup is
  context, never a target. Without one, ``answer_prefix`` (default ``"\\n"``: the embedded base
  model was pretrained on prompt, newline, answer) + answer + EOS.

Only answer tokens are trained: an episode becomes the ``(prompt_ids, completion_ids)`` turns that
:func:`agents.rlft.packing.pack_turns` packs, whose targets are the completion tokens alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from agents.protocol import Agent, Info, TextAgent
from textrl_envs.extraction import extract_action


@dataclass
class ExpertEpisode:
    """One expert episode: per turn the prompt text, the answer text and the action it names.

    After :func:`encode_episodes`, ``prompt_ids`` and ``completion_ids`` hold the token ids (the
    shape :func:`agents.rlft.update.prepare` packs).
    """

    seed: int
    slot: int
    prompts: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    actions: list[int | None] = field(default_factory=list)
    prompt_ids: list[list[int]] = field(default_factory=list)
    completion_ids: list[list[int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.prompts)


class Recorder(TextAgent):
    """Passes every call to ``expert`` and records its episodes (one per slot and reset)."""

    def __init__(self, expert: Agent, seeds: Sequence[int]) -> None:
        self.expert, self.name = expert, getattr(expert, "name", "expert")
        self._seeds = list(seeds)
        self.episodes: list[ExpertEpisode] = []
        self._current: list[ExpertEpisode] = []

    def reset(self, infos: Sequence[Info]) -> None:
        seed = self._seeds[len(self.episodes) // max(len(infos), 1)]  # the harness resets once per seed
        self._current = [ExpertEpisode(seed=seed, slot=i) for i in range(len(infos))]
        self.episodes.extend(self._current)
        self.expert.reset(infos)

    def act(self, observations, infos, env_ids) -> list[str]:
        answers = self.expert.act(observations, infos, env_ids)
        for obs, info, slot, answer in zip(observations, infos, env_ids, answers, strict=True):
            episode = self._current[int(slot)]
            episode.prompts.append(obs)
            episode.answers.append(answer)
            episode.actions.append(extract_action(answer, info["action_names"]).index)
        return answers

    def observe(self, infos, env_ids) -> None:
        self.expert.observe(infos, env_ids)


def collect_expert_episodes(
    env_id: str,
    expert: Agent,
    *,
    num_envs: int,
    seeds: Sequence[int],
    env_kwargs: dict | None = None,
    progress: bool = False,
) -> tuple[list[ExpertEpisode], pd.DataFrame]:
    """Play ``expert`` on ``num_envs`` episodes per seed; return its episodes and the tidy step log."""
    from agents.evaluation import evaluate

    recorder = Recorder(expert, seeds)
    steps = evaluate(
        env_id,
        recorder,
        num_envs=num_envs,
        seeds=list(seeds),
        env_kwargs=env_kwargs,
        agent_name="expert",
        progress=progress,
    )
    return recorder.episodes, steps


def answer_token_ids(
    policy, prompt_ids: Sequence[int], prompt: str, answer: str, answer_prefix: str
) -> list[int]:
    """Token ids of ``answer`` as a completion of ``prompt_ids`` (see the module docstring), EOS included.

    Args:
        policy: the :class:`~agents.llm.LLMPolicy` (its tokenizer, chat-template choice and EOS ids).
        prompt_ids: ``policy.encode_prompts([prompt])[0]``.
        prompt, answer: the texts. answer_prefix: put before the answer without a chat template.
    """
    tokenizer = policy.tokenizer
    eos = set(policy.eos_ids)
    if policy.use_chat_template:
        full = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
            tokenize=True,
            return_dict=False,
        )
        full = [int(t) for t in full]
        if full[: len(prompt_ids)] == list(prompt_ids):
            rest = full[len(prompt_ids) :]
            end = next((i for i, t in enumerate(rest) if t in eos), None)
            if end is not None:
                return rest[: end + 1]
        # a template that rewrites the conversation's start: fall back to the answer's own tokens
    ids = tokenizer(
        answer_prefix + answer if not policy.use_chat_template else answer, add_special_tokens=False
    )
    end_token = tokenizer.eos_token_id if tokenizer.eos_token_id in eos else min(eos)
    return [int(t) for t in ids["input_ids"]] + [int(end_token)]


def encode_episodes(policy, episodes: Sequence[ExpertEpisode], *, answer_prefix: str | None = None) -> None:
    """Fill each episode's ``prompt_ids`` and ``completion_ids`` in place.

    Raises:
        ValueError: a turn (prompt + answer) longer than the model's context.
    """
    prefix = ("" if policy.use_chat_template else "\n") if answer_prefix is None else answer_prefix
    for episode in episodes:
        episode.prompt_ids = policy.encode_prompts(episode.prompts)
        episode.completion_ids = [
            answer_token_ids(policy, p_ids, prompt, answer, prefix)
            for p_ids, prompt, answer in zip(
                episode.prompt_ids, episode.prompts, episode.answers, strict=True
            )
        ]
        longest = max(
            len(p) + len(c) for p, c in zip(episode.prompt_ids, episode.completion_ids, strict=True)
        )
        if policy.max_positions is not None and longest > policy.max_positions:
            raise ValueError(
                f"an expert turn of {longest} tokens (prompt + answer) exceeds the model's context of "
                f"{policy.max_positions}; shorten it (env_kwargs history_window, rationale_rewards='sum')"
            )
