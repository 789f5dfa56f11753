"""Pretraining data: episodes tokenised and packed as one trunk with a branch per decision.

An :class:`~agents.base_model.episodes.Episode` is several decisions of one demonstrator episode;
their prompts share the instructions and the history lines. :func:`encode_episode` packs them with
:func:`agents.rlft.packing.pack_turns`: the longest prompt is the *trunk*, and each decision is a
*branch* (the rest of its prompt, then its answer and EOS) that sees the trunk up to the end of its
own shared prefix, with the positions it has in its own prompt. Run with
:func:`agents.rlft.value_head.tree_forward` (trunk once, branches batched on its KV cache), every
answer gets exactly the log-probs it would get as a separate document, for a fraction of the work:
an episode with 16 decisions reads its history once, not 16 times.

Loss (what the model is trained to predict):

- every token of every answer, EOS included (the worked means, the decision and the action), and
- the action names in the trunk's history lines (``Step=3 Action=green ...``): they are the same
  demonstrator's earlier decisions, so the trunk trains up to 49 more (action-only) decisions for
  free (not for an episode with ``history_loss=False``, whose history actions are random draws).
  Instructions and rewards (noise) are context only.

The sequences of optimizer step ``s`` are a pure function of ``(seed, s)`` (:func:`training_sequences`),
so nothing about the data has to be checkpointed to resume exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from agents.base_model.episodes import Episode, sample_episode
from agents.rlft.packing import PackedSequence, pack_turns

#: Bumped whenever the documents change (prompts, demonstrators, answers, mixture): a model's
#: manifest and cache folder name record it, so no model is ever mistaken for one of other data.
DATA_VERSION = "v3"

# the action name of a history line: "Step=3 Action=green Reward=0.3" / "Step=1 State=... Action=4 ..."
_HISTORY_ACTION = re.compile(r"^Step=\d+ (?:State=\S+ )?Action=(\S+)", re.MULTILINE)


def history_action_mask(tokenizer: Callable, prompt: str) -> tuple[list[int], list[bool]]:
    """Token ids of ``prompt`` and, per token, whether it lies inside a history line's action name."""
    enc = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
    spans = [m.span(1) for m in _HISTORY_ACTION.finditer(prompt)]
    mask = []
    j = 0
    for start, end in enc["offset_mapping"]:
        while j < len(spans) and spans[j][1] <= start:
            j += 1
        mask.append(j < len(spans) and spans[j][0] <= start and end <= spans[j][1] and end > start)
    return list(enc["input_ids"]), mask


def encode_episode(tokenizer: Callable, episode: Episode) -> PackedSequence:
    """Pack an episode's decisions into one :class:`PackedSequence` with its loss targets.

    ``target_ids`` / ``predictor_index`` hold every answer token (EOS included) and then every history
    action token of the trunk; ``target_turn`` is the decision index for answer tokens and -1 for
    history actions. Prompts and answers are tokenised separately, so a prompt's tokens are exactly
    those the model sees when it is given the prompt alone.
    """
    prompts = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in episode.prompts]
    completions = [tokenizer(a, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
                   for a in episode.answers]
    (seq,) = pack_turns(prompts, completions)
    if not episode.history_loss:  # answers only: no history targets to find, so no second tokenisation
        return seq
    trunk_len = int((seq.segment == -1).sum())
    trunk_turn = max(range(len(prompts)), key=lambda t: (len(prompts[t]), t))  # pack_turns' choice
    ids, mask = history_action_mask(tokenizer, episode.prompts[trunk_turn])
    if ids != list(seq.input_ids[:trunk_len].tolist()):
        raise RuntimeError("the trunk's tokens differ from the trunk prompt's: packing is inconsistent")
    positions = torch.tensor([i for i, m in enumerate(mask) if m and i > 0], dtype=torch.long)
    seq.target_ids = torch.cat([seq.target_ids, seq.input_ids[positions]])
    seq.predictor_index = torch.cat([seq.predictor_index, positions - 1])
    seq.target_turn = torch.cat([seq.target_turn, torch.full_like(positions, -1)])
    return seq


def training_sequences(
    tokenizer: Callable,
    *,
    seed: int,
    step: int,
    token_budget: int,
    tictactoe_fraction: float,
    max_decisions: int = 16,
    **episode_options: Any,
) -> list[PackedSequence]:
    """The packed episodes of optimizer step ``step``: a pure function of ``(seed, step)`` and the options.

    Episodes are drawn until their packed tokens (trunk + branches) reach ``token_budget``.
    ``episode_options`` go to :func:`~.episodes.sample_episode` as they are: the phase (``warmup``,
    ``copy``, ``copy_documents``) and the mixture's levers (``lookup_share``, ``informative_share``,
    ``summary_share``, ...; their defaults draw the original mixture).
    """
    rng = np.random.default_rng([seed, step, 1])
    sequences: list[PackedSequence] = []
    tokens = 0
    while tokens < token_budget:
        episode = sample_episode(rng, tictactoe_fraction, max_decisions, **episode_options)
        seq = encode_episode(tokenizer, episode)
        sequences.append(seq)
        tokens += len(seq)
    return sequences


def tokenizer_corpus(seed: int, n_docs: int, tictactoe_fraction: float) -> list[str]:
    """Texts the tokenizer is trained on: prompt + answer of episodes' decisions (a separate stream)."""
    rng = np.random.default_rng([seed, 0, 2])
    texts: list[str] = []
    while len(texts) < n_docs:
        episode = sample_episode(rng, tictactoe_fraction, max_decisions=2)
        texts += [p + a for p, a in zip(episode.prompts, episode.answers, strict=True)]
    return texts[:n_docs]
