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
  450-step model lost its answer format.) Single digits (numbers stay compositional: ``0.34`` is
  ``0 . 3 4``, which is what lets a tiny model compare rewards and copy values), single punctuation
  marks and runs of whitespace.
- Byte-level on top (``ByteLevel`` without its own regex), so any text round-trips exactly and no
  character is ever unknown.
- Special tokens: ``<|endoftext|>`` (EOS, ends every answer) and ``<|pad|>``. No BOS and no chat
  template: prompts are plain text, exactly the observation the environment returns.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"

# capitalised words with one leading space and a trailing '=' (field names: " Action=", "ACTION="),
# other words with one leading space, digits one by one, then any other char; whitespace runs are
# kept whole so indentation and blank lines cost one token
PRETOKENIZE_PATTERN = r" ?[A-Z][A-Za-z_]*=| ?[A-Za-z_]+|\d|\s+|[^A-Za-z_\d\s]"


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Train the BPE tokenizer on ``texts`` and wrap it for ``save_pretrained`` / ``AutoTokenizer``.

    Args:
        texts: training text (the generated prompts and answers).
        vocab_size: target vocabulary size, special tokens included (>= 300).

    Returns:
        A ``PreTrainedTokenizerFast`` with ``eos_token`` and ``pad_token`` set and no BOS, whose
        ``decode(encode(text))`` returns ``text`` unchanged.
    """
    if vocab_size < 300:
        raise ValueError(f"vocab_size must be >= 300 (256 bytes + specials), got {vocab_size}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_PATTERN), behavior="isolated"),
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
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        clean_up_tokenization_spaces=False,
        model_max_length=4096,
    )
