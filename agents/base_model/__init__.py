"""The embedded base model: a small Llama that textrl pretrains from scratch on its own environments.

**What this is.** A *model organism* of the paper's failure modes that fits on a CPU: a Llama-
architecture causal LM of a few million parameters and a byte-level BPE tokenizer, both trained by
this package (no download) on text our environments generate, and saved with ``save_pretrained``
so that ``from_pretrained(folder)`` loads it like any Hugging Face model. It is not evidence about
how large LLMs behave; use a real model (``--model``) for that.

Usage::

    from agents.base_model import ensure_base_model
    folder = ensure_base_model("default")   # ships with the package: nothing to build

**The shipped default** (``agents/base_model/weights/default``, checked against its
``MANIFEST.json`` of sha256 sums, see :mod:`.shipped`) is the ``numreader`` size (1.2 M parameters,
data version v3, made by ``scripts/pretrain_base_model.py --size numreader --seed 0``; the manifest
holds the exact command and commit). Every reward and mean is one token whose embedding carries its
value (:mod:`.number_embedding`), and it reads its context: on TextBandit-v0 it plays the best
empirical mean in 86 % of its steps and stops exploring early (coverage 41 % at step 50), the
paper's greedy agent (README, "The embedded base model"). The model shipped before it (1.9 M
parameters, ``--size default`` at commit ``3784281``) exploited by *name*, not by reward.

**Sizes built here** (:data:`BASE_MODEL_SIZES`): ``"reader"`` (the recipe below, 5.1 M parameters,
4500 steps: hours on 2 CPU cores, meant to be trained once and shipped as the default with
``scripts/pretrain_base_model.py --size reader --ship``), ``"copyreader"`` (2.0 M parameters,
3000 steps that begin with the copy curriculum, :func:`.episodes.sample_copy_episode`: 67 min on 2
CPU cores), ``"longcopy"`` (the copyreader with a 2600-step copy phase on its own learning-rate cycle:
96 min), ``"lookupreader"`` (0.9 M parameters; its copy phase is one-decision lookup documents,
:func:`.episodes.sample_lookup_document`; the config fields ``lookup_share``,
``lookup_full_prompt_share``, ``lookup_max_pulls`` and ``later_lr`` keep lookups in the later phases;
``informative_decision_share``, ``max_stickiness``, ``summary_share`` and ``means_format`` reshape the
mixture against the frequency bias: levers measured in the README), ``"numreader"`` (the
lookupreader with whole-number tokens whose value features stay fixed in pretraining, and the best of
those levers: the shipped default, 27 min on 2 CPU cores), ``"quick"`` (about a minute on
2 CPU cores, the format only: tests and ``demo --quick``) and ``"gpu"`` (larger, bf16 on CUDA). Built
sizes are cached in ``$TEXTRL_CACHE`` or ``~/.cache/textrl``, folder ``base-model-<size>-v3``.

The recipe imitates demonstrators that *read* their context (they work out each tried arm's mean
reward and exploit the best) but are greedy: they stop exploring early, and sometimes stay on the
arm they pulled most. So a model that learns it reproduces the behaviour the paper reports for
pretrained LLMs and leaves RL fine-tuning something to fix.

**Training data** (:mod:`.episodes`, :mod:`.data`). A demonstrator plays an environment episode;
up to 16 of its decisions become training examples: the exact prompt the environment shows at that
step (rendered with ``textrl_envs.bandit_text.render_bandit_prompt`` /
``textrl_envs.tictactoe_text.render_tictactoe_prompt``), then a newline, the answer and EOS. No chat
template. The decisions of an episode share its history, so they are packed as one trunk with a
branch per decision and a 4-D attention mask: every answer is trained exactly as a separate document
would be, the history is read once. The loss covers the answers *and* the action names of the
history lines (the same demonstrator's earlier decisions).

**The mixture** (the code is in :mod:`.episodes` and :mod:`.demonstrators`):

- 75 % TextBandit-v0 episodes, 25 % TextTicTacToe-v0 games.
- Bandit episodes: 10 arms 70 % (5 / 20 arms 15 % each); Gaussian 85 % (noise medium 60 %, low
  20 %, high 20 %), Bernoulli 15 %; button labels 90 %, continuous 10 %; a history window of 5-20
  steps 5 %; T = 50. Per decision: the knowing-doing UCB prompt 12 %, else chain-of-thought 65 % /
  action only 35 %; the context summary with 50 % of UCB prompts and 10 % of the others.
- Bandit demonstrators (one per episode): 70 % *explore-then-exploit* (explore untried arms until
  30-70 % of the arms are tried: 3-7 of 10, with 4 the likeliest stopping point), 20 % *satisficers*
  (explore 2-4 of 10, then keep exploring while the best mean is below a threshold ~ U(0, 1)), 10 %
  uniformly random. Exploiting means the best empirical mean, except that the most pulled arm is
  kept when its mean is within ``stickiness ~ U(0, 0.4)`` of the best; a random arm with probability
  0 (half of the episodes) or ~U(0.02, 0.08). Untried arms are explored in label order (red, green,
  blue, ...) in 80 % of the episodes, in random order in the others.
- Answers: action only ``"ACTION=X"``; with chain-of-thought the worked means of every tried arm,
  then one decision line that starts with its kind, then the action::

      Means:
      red=0.41
      green=-0.3
      Explore "blue": not tried yet. ACTION=blue

  (``Exploit "red": highest mean.`` / ``Stay with "green": pulled most, mean close to the best.`` /
  ``Try "X" at random.``). A greedy decoder writes the means, then picks the likeliest kind, then
  the arm: it explores while most demonstrators in its situation still would (4 of 10 arms), then
  exploits what it read. The arm is quoted so that its name is the same token as in ``ACTION=X``.
- UCB prompt: the *correct* paper UCB values (mean + sqrt(1/n), ``inf`` for an untried arm) in
  ``<ucb_values>`` (one ``NAME=VALUE`` per line), then a greedy action 60 %, UCB 25 %, random 15 %
  (the paper's 27B: correct rationale & greedy action is the largest cell).
- Tic-tac-toe: vs the random opponent, agent first 75 %, legal actions shown 75 %, CoT 65 %; a weak
  player that takes an immediate win with probability ~U(0, 0.8) and blocks the opponent's with
  ~U(0, 0.6), else plays the first free cell (75 %) or a random one. Its CoT answer first lists the
  free cells. A greedy decoder of it plays legal moves but passes up wins and blocks (both below
  1/2 on average): RL fine-tuning has an obvious thing to learn.
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
