"""The base model's tokenizer: byte-level BPE trained (with the ``tokenizers`` library) on our own text.

Design, for short sequences on a CPU:

- A pre-tokenizer regex cuts text into pieces that BPE may merge *whole*: a word with its leading
  space, and a *capitalised* word with a trailing ``=`` (so `` Action=``, ``Reward=``, ``ACTION=``,
  `` green`` each become one token once BPE has seen them often). A lower-case word never takes the
  ``=``: ``red=0.5`` in a ``<ucb_values>`` line is ``red`` ``=`` ..., the same ``red`` token as in
  ``ACTION=red`` and ``Action=red`` (and in a rationale, which quotes the name: ``"red"``), so
  copying an arm's name is copying one token id. With `` red`` in the rationale and ``red`` in the
  action, a 2M-parameter model trained for minutes wrote one arm in its rationale and another in
  its action. (Cutting *every* lower-case word from its space, so that the instructions' list
  "labeled red, green" uses the same ids too, was tried: prompts grew by ~100 tokens and the
  450-step model lost its answer format.)
- Numbers, so that reading and comparing rewards is easy for a small model: a whole number of up to
  three digits (with its minus sign) is one piece and a decimal fraction of one or two digits
  another, so ``-1.24`` is ``-1`` ``.24`` and ``0.3`` is ``0`` ``.3``: a reward is two tokens whose
  embeddings can carry its value. (Digit by digit, ``- 1 . 2 4``, the 2M-parameter v2 model never
  learned to compare rewards.) :func:`number_sheet` is added to the training text so that every
  such piece from -12 to 13 is a token. Longer digit runs (tic-tac-toe boards such as
  ``102000000``) stay single digits, one token per cell. Single punctuation marks and runs of
  whitespace are pieces too.
- ``number_tokens="whole"`` (a lever of issue 12): a decimal number with one integer digit,
  ``-9.99`` ... ``9.99``, is one token (``-1.24``, ``0.3``); :func:`whole_number_sheet` puts each one
  in the training text often enough that BPE merges it whole. Every reward and mean the bandits
  write then is one token, whose embedding can carry its value (see
  :mod:`agents.base_model.number_embedding`): comparing two rewards is comparing two vectors, and an
  attention head that averages an arm's reward tokens averages their values. Numbers with more
  integer digits keep the split pieces. ``"split"`` (the default, and every model made before) is the
  two-piece scheme above.
- Byte-level on top (``ByteLevel`` without its own regex), so any text round-trips exactly and no
  character is ever unknown.
- Special tokens: ``<|endoftext|>`` (EOS, ends every answer) and ``<|pad|>``. No BOS and no chat
  template: prompts are plain text, exactly the observation the environment returns.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from textrl_envs.bandit_text import format_reward

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"

# capitalised words with one leading space and a trailing '=' (field names: " Action=", "ACTION="),
# other words with one leading space, a whole number of 1-3 digits with its sign (not inside a longer
# digit run), a decimal fraction of 1-2 digits, any other digit alone, then any other char;
# whitespace runs are kept whole so indentation and blank lines cost one token
PRETOKENIZE_PATTERN = (
    r" ?[A-Z][A-Za-z_]*=| ?[A-Za-z_]+|(?<![\d.])-?\d{1,3}(?!\d)|\.\d{1,2}(?!\d)|\d|\s+|[^A-Za-z_\d\s]"
)
# the same with, first, a whole decimal number of one integer digit and 1-2 decimals as one piece
WHOLE_NUMBER_PATTERN = r"(?<![\d.])-?\d\.\d{1,2}(?!\d)|" + PRETOKENIZE_PATTERN
#: how numbers are cut: ``"split"`` (whole number and fraction, two tokens) or ``"whole"`` (one token)
NUMBER_TOKENS = ("split", "whole")


def number_sheet(low: int = -12, high: int = 13, repeats: int = 3) -> str:
    """Every reward-style number from ``low`` to ``high`` (2 decimals, trailing zeros dropped).

    Added to the tokenizer's training text so that each whole-number piece (``-3`` ... ``13``) and
    each fraction piece (``.5``, ``.05``, ``.24``) is frequent enough for BPE to make it one token.
    """
    numbers = []
    for cents in range(low * 100, (high + 1) * 100):
        numbers.append(format_reward(cents / 100))
        if -100 < cents < 0:  # "-0.37": the "-0" piece
            numbers.append(numbers[-1])
    return "\n".join(" ".join(numbers) for _ in range(repeats))


def whole_numbers() -> list[str]:
    """Every number ``number_tokens="whole"`` makes one token: -9.99 ... 9.99 as rewards are written
    (2 decimals, trailing zeros dropped, so ``1.5`` and ``-2``), 1999 strings."""
    return [format_reward(cents / 100) for cents in range(-999, 1000)]


def whole_number_sheet(repeats: int = 4) -> str:
    """:func:`whole_numbers` ``repeats`` times, for the tokenizer's training text."""
    return "\n".join(" ".join(whole_numbers()) for _ in range(repeats))


def train_tokenizer(
    texts: Iterable[str], vocab_size: int, number_tokens: str = "split"
) -> PreTrainedTokenizerFast:
    """Train the BPE tokenizer on ``texts`` and wrap it for ``save_pretrained`` / ``AutoTokenizer``.

    Args:
        texts: training text (the generated prompts and answers).
        vocab_size: target vocabulary size, special tokens included (>= 300). ``"whole"`` numbers
            need about 2,100 more than ``"split"`` (their 1999 numbers and prefixes such as ``-1.``).
        number_tokens: ``"split"`` or ``"whole"`` (see the module docstring).

    Returns:
        A ``PreTrainedTokenizerFast`` with ``eos_token`` and ``pad_token`` set and no BOS, whose
        ``decode(encode(text))`` returns ``text`` unchanged.
    """
    if vocab_size < 300:
        raise ValueError(f"vocab_size must be >= 300 (256 bytes + specials), got {vocab_size}")
    if number_tokens not in NUMBER_TOKENS:
        raise ValueError(f"number_tokens must be one of {list(NUMBER_TOKENS)}, got {number_tokens!r}")
    whole = number_tokens == "whole"
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(WHOLE_NUMBER_PATTERN if whole else PRETOKENIZE_PATTERN),
                             behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS_TOKEN, PAD_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    sheets = [number_sheet(), whole_number_sheet()] if whole else [number_sheet()]
    tokenizer.train_from_iterator([*texts, *sheets], trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        clean_up_tokenization_spaces=False,
        model_max_length=4096,
    )
