"""The embedded base model: a tiny Llama that textrl pretrains from scratch on its own environments.

**What this is.** A *model organism* of the paper's failure modes that fits on a CPU: a Llama-
architecture causal LM of a few million parameters and a byte-level BPE tokenizer, both trained by
this package (no download) on text our environments generate, and saved with ``save_pretrained``
so that ``from_pretrained(folder)`` loads it like any Hugging Face model. It imitates demonstrators
that are greedy and frequency-biased by construction, so it *reproduces the behaviour* the paper
reports for pretrained LLMs and gives RL fine-tuning room to improve. It is not evidence about how
large LLMs behave; use a real model (``--model``) for that.

Usage::

    from agents.base_model import ensure_base_model
    folder = ensure_base_model("default")   # pretrains once (~5 min, 2 CPU cores), then cached
    # or: python scripts/pretrain_base_model.py --size default --out DIR --seed 0

Sizes (:data:`BASE_MODEL_SIZES`): ``"quick"`` (<= 45 s; the format only, for tests and
``demo --quick``), ``"default"`` (~5 min on 2 CPU cores, 10 min hard cap) and ``"gpu"`` (larger,
bf16 on CUDA). Cache: ``$TEXTRL_CACHE`` or ``~/.cache/textrl``, folder ``base-model-<size>-v2``.

**Documents.** Each training document is the exact prompt an environment shows (rendered with
``textrl_envs.bandit_text.render_bandit_prompt`` / ``textrl_envs.tictactoe_text.render_tictactoe_prompt``)
at a random step of an episode the demonstrator has played so far, then a newline, the
demonstrator's answer (a short rationale for CoT prompts, then ``ACTION=X``) and EOS. No chat
template. Training packs several documents per row with block-diagonal attention and puts the loss
on the answers *and* on the action names of the history lines (the same demonstrator's earlier
decisions), so one long prompt trains every decision in it (details in :mod:`.data`).

**The mixture** (per document; the code is in :mod:`.data` and :mod:`.demonstrators`):

- 75 % TextBandit-v0, 25 % TextTicTacToe-v0.
- Bandit tasks: 10 arms 70 % (5 / 20 arms 15 % each); Gaussian 80 % (noise medium 60 %, low 20 %,
  high 20 %), Bernoulli 20 %; button 80 %, continuous 20 %; CoT 60 %, action only 40 %; the
  knowing-doing UCB prompt 15 %; history window 5-20 steps 10 %; context summary 5 % (50 % with the
  UCB prompt, as the knowing-doing probe shows it); T = 50.
- Bandit demonstrators (drawn per episode; ``n`` = 30-50 % of the arms, i.e. 3-5 of 10, untried
  arms explored in label order: red, then green, then blue, ...):
  50 % *greedy* (try ``n`` random arms, then the best empirical mean, 3 % random steps);
  30 % *frequency* (try ``n`` arms, then repeat the most frequent arm, 3 % random);
  15 % *epsilon-greedy* (``n`` arms, then greedy with epsilon ~ U(0.1, 0.2));
  5 % *uniform random*. Sampled, their coverage at 10 arms is ~43 % at step 10 and ~53 % at 50;
  a greedy decoder of them explores only while most of them do (see "Answers" below).
- UCB prompt: the answer writes the *correct* paper UCB values (mean + sqrt(1/n), ``inf`` for an
  untried arm) in ``<ucb_values>`` (one ``NAME=VALUE`` per line), then acts greedily 60 %, by UCB
  25 %, at random 15 % (the paper's 27B: correct rationale & greedy action is the largest cell).
- Tic-tac-toe: vs the random opponent, agent first / second 50/50, legal actions shown 75 %, CoT
  60 %; a weak demonstrator that takes an immediate win with probability ~U(0.2, 0.6) and
  otherwise plays a uniformly random legal move. Its CoT answer first lists the free cells.
- Answers: ``"<rationale> ACTION=X"`` (CoT) or ``"ACTION=X"``. Rationales are templated by the
  kind of decision and *start with the kind* ('Not every option has been tried. "blue" has not been
  tried yet, let's explore it.' -- the paper's try-all phrase --, 'Exploit the best so far. "green"
  has the highest average reward so far.', 'Stay consistent. I chose "red" most often so far, ...').
  The arm is quoted so that its name is the same token as in ``ACTION=blue`` (see
  :mod:`.tokenizer`): unquoted, the model wrote one arm in its rationale and another in its action. Under
  greedy decoding the model first picks the likeliest kind, then an arm, so with CoT it keeps
  exploring while most demonstrators still explore (~4 of 10 arms), and action-only answers commit
  sooner, the direction of the paper's CoT / no-CoT coverage gap (40 % vs 25 % for Gemma2 2B).
"""

from __future__ import annotations

from agents.base_model.cache import base_model_dir, default_cache_dir, ensure_base_model
from agents.base_model.config import BASE_MODEL_SIZES, BaseModelConfig, resolve_config
from agents.base_model.pretrain import pretrain

__all__ = [
    "BASE_MODEL_SIZES",
    "BaseModelConfig",
    "base_model_dir",
    "default_cache_dir",
    "ensure_base_model",
    "pretrain",
    "resolve_config",
]
