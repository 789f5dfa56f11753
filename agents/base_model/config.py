"""Sizes of the embedded base model: architecture, data and training schedule in one dataclass.

``BASE_MODEL_SIZES`` holds the named configurations :func:`agents.base_model.pretrain` accepts
(the ``default`` model is not among them: it ships with the package, see :mod:`.shipped`, and its
``MANIFEST.json`` names the recipe and commit that made it):

============  ==========================================================  ===================================
name          model (Llama)                                               budget
============  ==========================================================  ===================================
quick         d=64, 2 layers, vocab 768, ~0.2 M parameters, 120 steps      about a minute on 2 CPU cores
reader        d=256, 6 layers, vocab ~1k, 5.1 M parameters, 4500 steps     hours on 2 CPU cores (issue 12)
reader3x      the reader on 3x the tokens per step, batched for a GPU       ~15 min on one H200 (measured 1053
                                                                          steps in 220 s, GPU shared)
copyreader    d=192, 4 layers, vocab ~1k, 2.0 M parameters, 3000 steps:   67 min on 2 CPU cores (measured)
              copy curriculum 1200, reading warm-up 700, mixture 1100
longcopy      the copyreader's model; 4400 steps: copy curriculum 2600    96 min on 2 CPU cores (measured,
              on its own learning-rate cycle, warm-up 700, mixture 1100    machine shared with tests)
lookupreader  d=128, 4 layers, vocab ~1k, 0.9 M parameters, 4300 steps:   46 min on 2 CPU cores (measured)
              copy phase of 2500 one-decision lookup documents,
              reading warm-up 700, mixture 1100
numreader     the lookupreader's phases with whole-number tokens          27 min on 2 CPU cores (measured);
              whose embeddings start from their values (vocab ~3.1k,      the shipped default
              1.2 M parameters) and the best later-phase levers
gpu           d=512, 8 layers, vocab ~1k, ~26 M parameters, 6000 steps     an hour or so on one GPU (bf16)
============  ==========================================================  ===================================

A custom :class:`BaseModelConfig` (e.g. a tiny one in the tests) can be passed wherever a size name
is accepted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from agents.base_model.demonstrators import MEANS_FORMATS
from agents.base_model.episodes import COPY_DOCUMENTS
from agents.base_model.tokenizer import NUMBER_TOKENS


@dataclass(frozen=True)
class BaseModelConfig:
    """Everything that determines one embedded base model (same config + seed -> same weights).

    Attributes:
        name: label stored in the saved folder's ``pretrain_info.json``.
        vocab_size: target vocabulary of the BPE tokenizer (special tokens included).
        hidden_size: width of the residual stream.
        num_layers: transformer blocks.
        num_heads: attention heads (``hidden_size`` must be divisible by it).
        intermediate_size: width of the SwiGLU MLP.
        max_position_embeddings: longest sequence the model is meant for (prompt + answer).
        steps: optimizer steps.
        tokens_per_step: packed tokens per optimizer step (episodes are drawn until their trunks and
            branches reach this many).
        max_decisions: decisions (branches) trained per bandit episode.
        copy_steps: the first this-many steps train on the copy curriculum only (bare histories
            where each tried arm has one reward, so a worked mean is a looked-up number; see
            :func:`agents.base_model.episodes.sample_copy_episode`). 0: no copy phase.
        copy_documents: what the copy phase trains on: ``"episodes"`` (multi-decision copy episodes,
            :func:`~agents.base_model.episodes.sample_copy_episode`) or ``"lookups"`` (one-decision
            lookup documents, :func:`~agents.base_model.episodes.sample_lookup_document`; their
            steps always run as one padded batch, whatever ``batch_episodes`` says).
        lookup_share: after the copy phase (reading warm-up and main mixture), the share of documents
            that are lookup documents (:func:`~agents.base_model.episodes.sample_lookup_document`), so
            that the lookup and the comparison learned in the copy phase are kept. 0: none.
        lookup_full_prompt_share: the share of those later lookup documents shown in the paper's full
            prompt instead of as bare history lines (the copy phase's are always bare). 0: all bare.
        lookup_max_pulls: each tried arm of those later lookup documents is pulled ``U{1..this}``
            times, independently of its mean, so that pull counts do not tell the best arm (1: once).
        informative_decision_share: > 0: a bandit episode trains every step where the demonstrator
            exploits a best mean that is not the most pulled arm
            (:func:`~agents.base_model.episodes.informative_steps`: only comparing the means gives that
            answer) and only as many other steps as keep those at about this share of its decisions
            (at least 3 others). 0: ``max_decisions`` steps uniform over the episode.
        max_stickiness: the demonstrators' stickiness to the most pulled arm is ``U(0, this)`` (0: they
            always exploit the best mean).
        summary_share: the share of the main mixture's default-prompt bandit decisions asked with the
            paper's context summary (per-arm counts and means after the history); 0.1 originally.
        means_format: how the CoT answers of the warm-up and main phases write the means
            (:func:`~agents.base_model.demonstrators.means_block`): ``"list"`` (``NAME=MEAN`` lines) or
            ``"running_max"`` (each line also carries the best arm so far).
        copy_means_format: the same for the copy phase's answers.
        number_tokens: ``"split"`` (a reward is two tokens, ``-1`` ``.24``) or ``"whole"`` (a number
            -9.99 ... 9.99 is one token; :mod:`agents.base_model.tokenizer`). ``"whole"`` needs a
            ``vocab_size`` of about 3200.
        number_value_init: write each number token's value into its initial embedding
            (:mod:`agents.base_model.number_embedding`); meant for ``number_tokens="whole"``.
        number_value_scale: the multiplier of those value features (0.05: smaller than the other
            coordinates become in training; 0.5: about their size).
        number_value_frozen: keep the value features fixed during pretraining (their gradient is
            zeroed; without it AdamW washed them out in the ``numreader``'s copy phase).
        reading_warmup_steps: the next this-many steps (the first ones when ``copy_steps`` is 0) train
            on the reading warm-up only (short bandit histories, chain-of-thought answers; see
            :mod:`agents.base_model.episodes`).
        copy_own_schedule: give the copy phase its own warm-up and cosine decay (to
            ``lr * min_lr_ratio`` at its last step), and the rest of training a fresh cycle; ``False``:
            one cycle over all ``steps``. (A pilot learned the copy lookup once its rate had decayed;
            on the ``longcopy`` size this did not help: see the README's copy-curriculum notes.)
        lr: peak AdamW learning rate (small models tolerate a high one).
        later_lr: with ``copy_own_schedule``, the peak rate of the second cycle (after the copy
            phase), so that what the copy phase learned is not shaken loose by a fresh high rate.
            ``None``: ``lr``.
        warmup_steps: linear warm-up steps before the cosine decay.
        min_lr_ratio: the cosine decays to ``lr * min_lr_ratio``.
        weight_decay: AdamW weight decay on matrices (not on norms).
        grad_clip: gradient-norm clip.
        checkpoint_every: write a resumable checkpoint every this many steps (and at the end).
        tokenizer_docs: generated documents the tokenizer is trained on.
        tictactoe_fraction: share of training documents that are tic-tac-toe games (rest: bandits).
        max_wall_s: wall-time budget in seconds; when reached, training stops early and the model is
            saved as it is (``pretrain_info.json`` says so). ``None``: no budget.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        num_threads: CPU threads for torch (the project's machines have 2 cores).
        batch_episodes: run all episodes of a step as one padded batch (one forward and backward, the
            attention mask built on the device) instead of one episode at a time. Same loss up to
            float summation order; on a GPU many times fewer kernel launches, on a CPU slower (padding).
        data_workers: processes that make the steps' episodes ahead (:mod:`.prefetch`); the data, and
            so the weights, do not depend on it. 0: in the training process.
    """

    name: str = "custom"
    vocab_size: int = 2048
    hidden_size: int = 192
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 512
    max_position_embeddings: int = 2048
    steps: int = 450
    tokens_per_step: int = 4096
    max_decisions: int = 16
    copy_steps: int = 0
    reading_warmup_steps: int = 0
    copy_own_schedule: bool = False
    copy_documents: str = "episodes"
    lookup_share: float = 0.0
    lookup_full_prompt_share: float = 0.0
    lookup_max_pulls: int = 1
    informative_decision_share: float = 0.0
    max_stickiness: float = 0.4
    summary_share: float = 0.1
    means_format: str = "list"
    copy_means_format: str = "list"
    number_tokens: str = "split"
    number_value_init: bool = False
    number_value_scale: float = 0.05
    number_value_frozen: bool = False
    lr: float = 3e-3
    later_lr: float | None = None
    warmup_steps: int = 30
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    checkpoint_every: int = 50
    tokenizer_docs: int = 1500
    tictactoe_fraction: float = 0.25
    max_wall_s: float | None = None
    device: str = "auto"
    num_threads: int = 2
    batch_episodes: bool = False
    data_workers: int = 0

    def __post_init__(self) -> None:
        for field in ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size",
                      "max_position_embeddings", "steps", "tokens_per_step", "max_decisions",
                      "checkpoint_every", "lookup_max_pulls",
                      "tokenizer_docs", "num_threads"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{field} must be a positive int, got {value!r}")
        if self.vocab_size < 300:
            # 256 byte-level symbols + special tokens must fit
            raise ValueError(f"vocab_size must be >= 300 (byte alphabet + specials), got {self.vocab_size}")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_heads ({self.num_heads})"
            )
        for field in ("copy_steps", "reading_warmup_steps"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{field} must be an int >= 0, got {value!r}")
        for field in ("lookup_share", "lookup_full_prompt_share", "informative_decision_share",
                      "summary_share"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{field} must be a number in [0, 1], got {value!r}")
        if isinstance(self.max_stickiness, bool) or not isinstance(self.max_stickiness, (int, float)) \
                or not self.max_stickiness >= 0:
            raise ValueError(f"max_stickiness must be a number >= 0, got {self.max_stickiness!r}")
        if not 0.0 <= self.tictactoe_fraction <= 1.0:
            raise ValueError(f"tictactoe_fraction must be in [0, 1], got {self.tictactoe_fraction}")
        if not (self.lr > 0 and 0.0 <= self.min_lr_ratio <= 1.0 and self.warmup_steps >= 0):
            raise ValueError("lr must be > 0, min_lr_ratio in [0, 1] and warmup_steps >= 0")
        if self.max_wall_s is not None and self.max_wall_s <= 0:
            raise ValueError(f"max_wall_s must be > 0 or None, got {self.max_wall_s}")
        if self.later_lr is not None and not (isinstance(self.later_lr, (int, float)) and self.later_lr > 0):
            raise ValueError(f"later_lr must be > 0 or None, got {self.later_lr!r}")
        if self.later_lr is not None and not (self.copy_own_schedule and self.copy_steps):
            raise ValueError("later_lr is the peak of the learning-rate cycle after the copy phase: it needs "
                             "copy_own_schedule=True and copy_steps > 0")
        if not isinstance(self.copy_own_schedule, bool):
            raise ValueError(f"copy_own_schedule must be True or False, got {self.copy_own_schedule!r}")
        if self.copy_documents not in COPY_DOCUMENTS:
            raise ValueError(f"copy_documents must be one of {COPY_DOCUMENTS}, got {self.copy_documents!r}")
        for field in ("means_format", "copy_means_format"):
            value = getattr(self, field)
            if value not in MEANS_FORMATS:
                raise ValueError(f"{field} must be one of {list(MEANS_FORMATS)}, got {value!r}")
        if self.number_tokens not in NUMBER_TOKENS:
            raise ValueError(
                f"number_tokens must be one of {list(NUMBER_TOKENS)}, got {self.number_tokens!r}"
            )
        for field in ("number_value_init", "number_value_frozen"):
            if not isinstance(getattr(self, field), bool):
                raise ValueError(f"{field} must be True or False, got {getattr(self, field)!r}")
        if self.number_value_frozen and not self.number_value_init:
            raise ValueError("number_value_frozen keeps the value features number_value_init writes: it "
                             "needs number_value_init=True")
        scale = self.number_value_scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ValueError(f"number_value_scale must be a number > 0, got {self.number_value_scale!r}")
        if self.number_tokens == "whole" and self.vocab_size < 3200:
            raise ValueError(f"number_tokens='whole' needs vocab_size >= 3200 (its 1999 numbers and their "
                             f"prefixes), got {self.vocab_size}")
        if not isinstance(self.batch_episodes, bool):
            raise ValueError(f"batch_episodes must be True or False, got {self.batch_episodes!r}")
        if isinstance(self.data_workers, bool) or not isinstance(self.data_workers, int) \
                or self.data_workers < 0:
            raise ValueError(f"data_workers must be an int >= 0, got {self.data_workers!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be one of ['auto', 'cpu', 'cuda'], got {self.device!r}")

    def phase(self, step: int) -> str:
        """The data phase of optimizer step ``step`` (0-based): ``"copy"``, ``"warmup"`` or ``"main"``."""
        if step < self.copy_steps:
            return "copy"
        return "warmup" if step < self.copy_steps + self.reading_warmup_steps else "main"

    def replace(self, **changes: object) -> BaseModelConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


BASE_MODEL_SIZES: dict[str, BaseModelConfig] = {
    "quick": BaseModelConfig(
        name="quick", vocab_size=768, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=192,
        steps=120, tokens_per_step=1536, lr=5e-3, warmup_steps=10, checkpoint_every=50,
        tokenizer_docs=300,
    ),
    # The model meant to replace the shipped default once it reads its context (issue 12): 5.1 M
    # parameters, 4500 steps of ~6k packed tokens (the first 1500 the reading warm-up), hours on 2 CPU
    # cores, to be trained once and committed. A fixed number of steps and threads keeps the weights a
    # function of the seed alone.
    "reader": BaseModelConfig(
        name="reader", vocab_size=1280, hidden_size=256, num_layers=6, num_heads=8, intermediate_size=704,
        steps=4500, tokens_per_step=6144, max_decisions=16, reading_warmup_steps=1500, lr=2e-3,
        warmup_steps=100, min_lr_ratio=0.1, checkpoint_every=100, tokenizer_docs=3000,
        tictactoe_fraction=0.25,
        num_threads=2,
    ),
    # The reader's model and schedule on three times the data per step (the "more tokens" lever of
    # issue 12), in the GPU's batched mode: ~15 minutes on one H200, about half a day on 2 CPU cores.
    "reader3x": BaseModelConfig(
        name="reader3x", vocab_size=1280, hidden_size=256, num_layers=6, num_heads=8, intermediate_size=704,
        steps=4500, tokens_per_step=18432, max_decisions=16, reading_warmup_steps=1500, lr=2e-3,
        warmup_steps=100, min_lr_ratio=0.1, checkpoint_every=500, tokenizer_docs=3000,
        tictactoe_fraction=0.25, device="auto", num_threads=2, batch_episodes=True, data_workers=8,
    ),
    # The copy curriculum first (issue 12: bare histories, where the name-to-value lookup began to
    # form in a small pilot while full prompts did not), then the reading warm-up, then the full
    # mixture; the default's size, so it trains on 2 CPU cores in about an hour (67 min measured) and
    # would RL-fine-tune in the demo's budget.
    "copyreader": BaseModelConfig(
        name="copyreader", vocab_size=1280, hidden_size=192, num_layers=4, num_heads=6, intermediate_size=512,
        steps=3000, tokens_per_step=4096, max_decisions=16, copy_steps=1200,
        reading_warmup_steps=700, lr=3e-3, warmup_steps=50, min_lr_ratio=0.1,
        checkpoint_every=100, tokenizer_docs=3000, tictactoe_fraction=0.25, num_threads=2,
    ),
    # The copyreader with a copy phase twice as long and on its own learning-rate cycle: in a pilot the
    # lookup formed abruptly after ~2300 steps, once the rate had decayed; the copyreader's 1200 copy
    # steps at near-peak rate stopped short of it (issue 12). Measured: it copies no better than the
    # copyreader (README, "A longer copy phase"); kept so that the measurement can be reproduced.
    "longcopy": BaseModelConfig(
        name="longcopy", vocab_size=1280, hidden_size=192, num_layers=4, num_heads=6, intermediate_size=512,
        steps=4400, tokens_per_step=4096, max_decisions=16, copy_steps=2600, copy_own_schedule=True,
        reading_warmup_steps=700, lr=3e-3, warmup_steps=50, min_lr_ratio=0.1,
        checkpoint_every=100, tokenizer_docs=3000, tictactoe_fraction=0.25, num_threads=2,
    ),
    # The copy phase made of one-decision lookup documents (issue 12: the pilot's documents, the one
    # lever the copyreader and longcopy lacked), on its own cycle; the pilot's width (d = 128), which
    # also trains and RL-fine-tunes faster. Steps 0-2499 are lookups, then the copyreader's warm-up
    # and mixture. ``--until-step 2500`` saves the copy phase alone.
    "lookupreader": BaseModelConfig(
        name="lookupreader", vocab_size=1280, hidden_size=128, num_layers=4, num_heads=4,
        intermediate_size=352,
        steps=4300, tokens_per_step=4096, max_decisions=16, copy_steps=2500, copy_documents="lookups",
        copy_own_schedule=True, reading_warmup_steps=700, lr=3e-3, warmup_steps=50, min_lr_ratio=0.1,
        checkpoint_every=100, tokenizer_docs=3000, tictactoe_fraction=0.25, num_threads=2,
    ),
    # The lookupreader with every reward and mean one token whose embedding carries its value in 16
    # coordinates kept fixed during pretraining (issue 12: comparing and averaging rewards split over
    # BPE pieces was the step the small models never learned; with the features at 0.05 and free,
    # AdamW washed them out and nothing changed), and the later-phase settings that kept most of the
    # copy phase's comparison: lookups kept (half of them in the full prompt, arms pulled 1-3 times),
    # a low second-cycle rate, greedy demonstrators without stickiness, informative decisions.
    "numreader": BaseModelConfig(
        name="numreader", vocab_size=3200, hidden_size=128, num_layers=4, num_heads=4,
        intermediate_size=352,
        steps=4300, tokens_per_step=4096, max_decisions=16, copy_steps=2500, copy_documents="lookups",
        copy_own_schedule=True, reading_warmup_steps=700, lr=3e-3, later_lr=3e-4, warmup_steps=50,
        min_lr_ratio=0.1, lookup_share=0.5, lookup_full_prompt_share=0.5, lookup_max_pulls=3,
        informative_decision_share=0.5, max_stickiness=0.0, number_tokens="whole",
        number_value_init=True, number_value_scale=0.5, number_value_frozen=True, checkpoint_every=100,
        tokenizer_docs=3000, tictactoe_fraction=0.25,
        num_threads=2,
    ),
    "gpu": BaseModelConfig(
        name="gpu", vocab_size=1280, hidden_size=512, num_layers=8, num_heads=8, intermediate_size=1536,
        steps=6000, tokens_per_step=65536, reading_warmup_steps=1500, lr=1e-3, warmup_steps=100,
        checkpoint_every=250,
        tokenizer_docs=4000, device="auto", num_threads=8, batch_episodes=True, data_workers=8,
    ),
}


def resolve_config(size: str | BaseModelConfig) -> BaseModelConfig:
    """Return the config named ``size`` (or ``size`` itself when it already is a config)."""
    if isinstance(size, BaseModelConfig):
        return size
    if not isinstance(size, str) or size not in BASE_MODEL_SIZES:
        raise ValueError(f"unknown base model size {size!r}; allowed: {sorted(BASE_MODEL_SIZES)}")
    return BASE_MODEL_SIZES[size]
