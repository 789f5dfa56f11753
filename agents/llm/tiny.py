"""Tiny, randomly initialised causal LMs with a real tokenizer, for tests and benchmarks.

:func:`make_tiny_model` writes a folder that ``AutoModelForCausalLM.from_pretrained(folder)`` and
``AutoTokenizer.from_pretrained(folder)`` load exactly like a hub model: a ``config.json`` plus
``model.safetensors`` and a ``tokenizer.json`` (byte-level BPE trained with the ``tokenizers``
library on a few bandit-style texts), optionally with a Jinja chat template. Nothing is downloaded.

The model is untrained (random weights), so its text is gibberish; what it is good for is exercising
every code path of :class:`agents.llm.LLMPolicy` (padding, KV cache, log-probs, chat templates) in
well under a second. Byte-level BPE means *any* string can be encoded, so real environment
observations work as prompts.

Example::

    from agents.llm.tiny import make_tiny_model
    folder = make_tiny_model(tmp_path / "tiny", chat_template=True)
    policy = LLMPolicy.from_pretrained(folder)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
# Chat-template role markers; special tokens so a test can find them in the encoded prompt.
USER_MARK, ASSISTANT_MARK = "<|user|>", "<|assistant|>"
SPECIAL_TOKENS = [PAD, BOS, EOS, USER_MARK, ASSISTANT_MARK]

# A minimal chat template in the usual Hugging Face style: BOS, then "<|role|>\ncontent</s>\n" per message,
# and the assistant marker when a generation prompt is asked for.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

COLOURS = ["red", "green", "blue", "yellow", "orange", "purple", "pink", "brown", "black", "white"]

ARCHITECTURES = ("llama", "gpt2")


def sample_texts() -> list[str]:
    """The default tokenizer training corpus: bandit-prompt-like text, ``ACTION=X`` answers, digits."""
    names = ", ".join(COLOURS[:5])
    texts = [
        f"You are a bandit algorithm in a room with 5 buttons labeled {names}. Each button is associated "
        "with a Gaussian distribution with a fixed but unknown mean; the means for the buttons could be "
        "different. For either button, when you press it, you will get a reward that is sampled from the "
        "button's associated distribution. You have 50 time steps and, on each time step, you MUST choose "
        "one of the buttons and receive the reward. Your goal is to maximize the total reward over the 50 "
        "time steps.",
        "So far you have tried/seen:",
        "What do you predict next?",
        "Think step-by-step and output your final answer in the format ACTION=X where X is one of the arms "
        "listed above. IMPORTANT: Provide your (SHORT!) thinking process and your answer ACTION=X",
        "Output ONLY your final answer in the format ACTION=X.",
        "Step=1 State=102000000 Action=4 Reward=0",
    ]
    for i, colour in enumerate(COLOURS):
        texts.append(f"Step={i} Action={colour} Reward={0.1 * i - 0.3:.2f}")
        texts.append(f"The best mean so far is {colour}. ACTION={colour}")
    texts.append(" ".join(str(i) for i in range(100)))
    return texts


def build_tokenizer(
    texts: Sequence[str], *, vocab_size: int = 512, chat_template: bool = False, pad_token: bool = True
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on ``texts`` and wrap it as a ``PreTrainedTokenizerFast``.

    Encoding adds BOS in front (like Llama tokenizers); the chat template adds BOS itself, and
    ``apply_chat_template`` encodes without special tokens, so a chat prompt has exactly one BOS.
    With ``pad_token=False`` the tokenizer has no pad token (as many hub tokenizers), to test the
    loader's eos-as-pad fallback.
    """
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(
            f"vocab_size must be at least {256 + len(SPECIAL_TOKENS)} (bytes + specials), got {vocab_size}"
        )
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        # Every byte is in the vocabulary, so no text is ever out of vocabulary.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD if pad_token else None,
        padding_side="left",
        model_max_length=4096,
    )
    if chat_template:
        fast.chat_template = CHAT_TEMPLATE
    return fast


def make_tiny_model(
    folder: str | Path,
    *,
    chat_template: bool = False,
    seed: int = 0,
    vocab_texts: list[str] | None = None,
    architecture: str = "llama",
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    vocab_size: int = 512,
    max_positions: int = 4096,
    pad_token: bool = True,
    init_std: float = 0.2,
) -> Path:
    """Build and save a tiny random causal LM plus tokenizer into ``folder``; return the folder.

    Args:
        folder: output directory (created if missing; files in it are overwritten).
        chat_template: give the tokenizer a Jinja chat template (markers ``<|user|>``, ``<|assistant|>``).
        seed: seeds the weight initialisation (global torch RNG state is left untouched).
        vocab_texts: extra texts for tokenizer training (e.g. real observations); appended to the defaults.
        architecture: ``"llama"`` (``LlamaForCausalLM``) or ``"gpt2"`` (``GPT2LMHeadModel``).
        hidden_size, num_layers, num_heads: model size (defaults give ~40k parameters).
        vocab_size: BPE vocabulary size (>= 261: 256 bytes + 5 special tokens).
        max_positions: longest sequence (prompt + completion) the model accepts.
        pad_token: when False the tokenizer has no pad token.
        init_std: weight initialisation scale. Larger than the usual 0.02 so that the untrained model's
            next-token distributions are peaked and differ between contexts: greedy text then varies
            with the prompt, which the padding and log-prob tests rely on.

    Raises:
        ValueError: unknown ``architecture``, or ``hidden_size`` not divisible by ``num_heads``.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    if hidden_size % num_heads != 0:
        raise ValueError(f"hidden_size ({hidden_size}) must be divisible by num_heads ({num_heads})")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(
        sample_texts() + list(vocab_texts or []),
        vocab_size=vocab_size,
        chat_template=chat_template,
        pad_token=pad_token,
    )
    ids = {
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id if pad_token else None,
    }
    if architecture == "llama":
        config = LlamaConfig(
            hidden_size=hidden_size,
            intermediate_size=4 * hidden_size,
            num_hidden_layers=num_layers,
            num_attention_heads=num_heads,
            num_key_value_heads=num_heads,
            max_position_embeddings=max_positions,
            tie_word_embeddings=False,
            initializer_range=init_std,
            **ids,
        )
        model_cls = LlamaForCausalLM
    else:
        config = GPT2Config(
            n_embd=hidden_size,
            n_layer=num_layers,
            n_head=num_heads,
            n_positions=max_positions,
            initializer_range=init_std,
            **ids,
        )
        model_cls = GPT2LMHeadModel
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_cls(config)
    model.generation_config.pad_token_id = ids["pad_token_id"]
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
