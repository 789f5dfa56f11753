"""Pretraining documents: environment prompts followed by a demonstrator's answer, tokenised and packed.

A *document* is one decision: the exact prompt an environment shows at step ``t`` of an episode
that a demonstrator has played so far, then ``"\\n"`` + the demonstrator's answer + EOS. Every
document is drawn from a NumPy generator seeded by ``(seed, step, ...)``, so the data of optimizer
step ``s`` is a pure function of ``(seed, s)``: nothing about the data has to be checkpointed to
resume exactly.

Loss mask (what the model is trained to predict):

- every token of the answer, EOS included (the format and the decision), and
- the action names in the prompt's history lines (``Step=3 Action=green ...``): they are the same
  demonstrator's earlier decisions, so one prompt of ``t`` past steps trains ``t + 1`` decisions for
  the price of one forward pass. Instructions and rewards (noise) are context only.

Packing: documents are laid one after another into rows of ``seq_len`` tokens; ``position_ids``
restart at 0 for each document, which makes transformers' attention block-diagonal (a document never
attends to its neighbour: ``masking_utils.find_packed_sequence_indices``), so a packed row computes
exactly what separate sequences would, without padding waste. The tail of a row that no further
document fits into is padding (its own block, no loss).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from agents.base_model.demonstrators import (
    bandit_answer,
    sample_bandit_demonstrator,
    tictactoe_answer,
    tictactoe_demonstrator,
)
from textrl_envs import bandit_text as bt
from textrl_envs import tictactoe_logic as ttt
from textrl_envs import tictactoe_text as ttt_text
from textrl_envs.bandit import BERNOULLI_MEANS, GAUSSIAN_SIGMA, draw_arm_means, pull_arm

IGNORE_INDEX = -100  # label of tokens without loss (transformers' convention)

# the action name of a history line: "Step=3 Action=green Reward=0.3" / "Step=1 State=... Action=4 ..."
_HISTORY_ACTION = re.compile(r"^Step=\d+ (?:State=\S+ )?Action=(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    """One pretraining example: ``prompt`` (environment text) and ``answer`` (starts with a newline)."""

    prompt: str
    answer: str
    task: str

    @property
    def text(self) -> str:
        return self.prompt + self.answer


def _pick(rng: np.random.Generator, options: dict) -> object:
    """Draw a key of ``options`` with probability proportional to its value."""
    keys = list(options)
    p = np.array([options[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def sample_bandit_document(rng: np.random.Generator) -> Document:
    """A TextBandit-v0 prompt at a random step of a demonstrator's episode, and its next answer.

    Task mixture (see :mod:`agents.base_model`): 10 arms 70 % (5 and 20 arms 15 % each); Gaussian 80 %
    (noise medium 60 %, low 20 %, high 20 %), Bernoulli 20 % (easy / hard); button 80 %, continuous 20 %;
    CoT 60 %, action only 40 %; knowing-doing UCB prompt 15 %; history window of 5-20 steps 10 %;
    context summary 5 % (50 % with the UCB prompt); horizon 50; decision step uniform in 0..49.
    """
    k = int(_pick(rng, {10: 0.7, 5: 0.15, 20: 0.15}))
    distribution = str(_pick(rng, {"gaussian": 0.8, "bernoulli": 0.2}))
    if distribution == "gaussian":
        noise = str(_pick(rng, {"medium": 0.6, "low": 0.2, "high": 0.2}))
        sigma = GAUSSIAN_SIGMA[noise]
    else:
        noise, sigma = str(_pick(rng, {n: 1.0 for n in BERNOULLI_MEANS})), 0.0
    variant = str(_pick(rng, {"button": 0.8, "continuous": 0.2}))
    cot = bool(rng.random() < 0.6)
    prompt_style = "ucb" if rng.random() < 0.15 else "default"
    window = int(rng.choice([5, 10, 20])) if rng.random() < 0.1 else None
    # the knowing-doing probe shows the summary; UCB-prompt documents carry it half of the time
    summary = bool(rng.random() < (0.5 if prompt_style == "ucb" else 0.05))
    horizon = 50
    t = int(rng.integers(horizon))

    names = bt.arm_names(k, variant)
    means = draw_arm_means(rng, k, distribution, noise)
    demonstrator = sample_bandit_demonstrator(rng, k, prompt_style)
    counts = np.zeros(k, dtype=np.int64)
    sums = np.zeros(k)
    history: list[tuple[int, float]] = []
    for _ in range(t):
        arm, _kind = demonstrator.act(counts, sums, rng)
        reward = pull_arm(rng, float(means[arm]), distribution, sigma)
        history.append((arm, reward))
        counts[arm] += 1
        # the demonstrator sees the rounded reward the prompt shows, as the model will
        sums[arm] += float(bt.format_reward(reward, distribution))
    arm, kind = demonstrator.act(counts, sums, rng)
    prompt = bt.render_bandit_prompt(
        names, history, distribution=distribution, horizon=horizon, variant=variant, cot=cot,
        history_window=window, prompt_style=prompt_style, context_summary=summary,
    )
    answer = bandit_answer(arm, kind, names, cot=cot, prompt_style=prompt_style, counts=counts, sums=sums)
    return Document(prompt, "\n" + answer, "bandit")


def sample_tictactoe_document(rng: np.random.Generator) -> Document:
    """A TextTicTacToe-v0 prompt (vs the random opponent) at a random move of a weak demonstrator.

    Agent first or second 50/50, legal actions shown 75 %, CoT 60 %. The demonstrator takes an
    immediate win with probability ``p ~ U(0.2, 0.6)`` per game, else plays a random legal move; the
    game is played to its end, then one of the agent's decision points is drawn uniformly.
    """
    p_take_win = float(rng.uniform(0.2, 0.6))
    cot = bool(rng.random() < 0.6)
    show_legal = bool(rng.random() < 0.75)
    board = [0] * 9
    if rng.random() < 0.5:  # the opponent (player 2) opens
        board[ttt.random_move(board, rng)] = 2
    decisions: list[list[int]] = []  # boards the agent chose on, in order
    history: list[tuple[str, int, float]] = []
    while not ttt.is_over(board):
        decisions.append(list(board))
        cell, _ = tictactoe_demonstrator(board, rng, p_take_win=p_take_win)
        history.append((ttt.board_string(board), cell, 0.0))
        board[cell] = 1
        if not ttt.is_over(board):
            board[ttt.random_move(board, rng)] = 2
    i = int(rng.integers(len(decisions)))
    prompt = ttt_text.render_tictactoe_prompt(
        decisions[i], history[:i], show_legal_actions=show_legal, cot=cot
    )
    cell, kind = tictactoe_demonstrator(decisions[i], rng, p_take_win=p_take_win)
    return Document(prompt, "\n" + tictactoe_answer(cell, kind, cot=cot, board=decisions[i]), "tictactoe")


def sample_document(rng: np.random.Generator, tictactoe_fraction: float) -> Document:
    """A bandit document, or a tic-tac-toe one with probability ``tictactoe_fraction``."""
    if rng.random() < tictactoe_fraction:
        return sample_tictactoe_document(rng)
    return sample_bandit_document(rng)


def encode_document(tokenizer: Callable, doc: Document) -> tuple[list[int], list[bool]]:
    """Token ids of prompt + answer + EOS and the per-token loss mask (see the module docstring).

    Prompt and answer are tokenised separately, so the prompt's tokens are exactly those the model
    sees at inference, when it is given the prompt alone.
    """
    enc = tokenizer(doc.prompt, add_special_tokens=False, return_offsets_mapping=True)
    spans = [m.span(1) for m in _HISTORY_ACTION.finditer(doc.prompt)]
    mask = []
    j = 0
    for start, end in enc["offset_mapping"]:
        while j < len(spans) and spans[j][1] <= start:
            j += 1
        mask.append(j < len(spans) and spans[j][0] <= start and end <= spans[j][1] and end > start)
    answer_ids = tokenizer(doc.answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return list(enc["input_ids"]) + answer_ids, mask + [True] * len(answer_ids)


def pack_documents(
    encoded: list[tuple[list[int], list[bool]]], rows: int, seq_len: int, pad_id: int
) -> tuple[dict[str, torch.Tensor], int]:
    """Lay encoded documents into ``rows`` rows of ``seq_len`` tokens, in order, until full.

    Returns the batch (``input_ids``, ``labels`` with :data:`IGNORE_INDEX` off the loss mask,
    ``position_ids``; each ``(rows, seq_len)`` int64) and the number of documents used. Documents
    longer than ``seq_len`` are skipped; a document that does not fit a row's tail starts the next row.
    """
    input_ids = torch.full((rows, seq_len), pad_id, dtype=torch.long)  # (R, L)
    labels = torch.full((rows, seq_len), IGNORE_INDEX, dtype=torch.long)  # (R, L)
    position_ids = torch.zeros((rows, seq_len), dtype=torch.long)  # (R, L)
    row, col, used = 0, 0, 0
    for ids, mask in encoded:
        used += 1
        n = len(ids)
        if n > seq_len:
            continue
        if col + n > seq_len:
            # pad block: positions restart so it forms its own attention block
            position_ids[row, col:] = torch.arange(seq_len - col)
            row, col = row + 1, 0
            if row == rows:
                return {"input_ids": input_ids, "labels": labels, "position_ids": position_ids}, used - 1
        ids_t = torch.tensor(ids)
        input_ids[row, col : col + n] = ids_t
        labels[row, col : col + n] = torch.where(torch.tensor(mask), ids_t, IGNORE_INDEX)
        position_ids[row, col : col + n] = torch.arange(n)
        col += n
    if row < rows and col < seq_len:
        position_ids[row, col:] = torch.arange(seq_len - col)
    return {"input_ids": input_ids, "labels": labels, "position_ids": position_ids}, used


def training_batch(
    tokenizer: Callable, *, seed: int, step: int, rows: int, seq_len: int, tictactoe_fraction: float
) -> dict[str, torch.Tensor]:
    """The packed batch of optimizer step ``step``: a pure function of ``(seed, step)``."""
    rng = np.random.default_rng([seed, step, 1])
    encoded: list[tuple[list[int], list[bool]]] = []
    batch: dict[str, torch.Tensor] | None = None
    while batch is None:
        # draw in chunks (a row holds ~2-6 documents); re-pack until the rows are full
        encoded += [encode_document(tokenizer, sample_document(rng, tictactoe_fraction)) for _ in range(8)]
        packed, used = pack_documents(encoded, rows, seq_len, tokenizer.pad_token_id)
        if used < len(encoded):
            batch = packed
    return batch


def tokenizer_corpus(seed: int, n_docs: int, tictactoe_fraction: float) -> list[str]:
    """Texts the tokenizer is trained on (drawn from a stream separate from the training batches)."""
    rng = np.random.default_rng([seed, 0, 2])
    return [sample_document(rng, tictactoe_fraction).text for _ in range(n_docs)]
