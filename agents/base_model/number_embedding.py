"""Number tokens whose initial embedding carries their value (a lever of issue 12).

With ``number_tokens="whole"`` (:mod:`agents.base_model.tokenizer`) every reward and mean a bandit
prompt or answer writes (``-9.99`` ... ``9.99``) is one token. A randomly initialised embedding knows
nothing of order: the model would have to learn, token by token, that ``0.41`` is above ``0.4``, from
a loss that rewards the comparison on one token per document. :func:`init_number_embeddings` writes
each number token's value into a few coordinates of its embedding instead, so that from step 0

- comparing two numbers is reading one coordinate (``v / 4``), which an attention head can maximise
  over the lines of a ``Means:`` block;
- the average of several reward tokens' embeddings, which a head attending uniformly to them
  computes, carries their mean in that coordinate exactly;
- with the tied output embedding, a hidden state can put its highest logit on the token nearest any
  value ``m``: ``logit(v) = 2m v / 16 - v^2 / 16`` is a parabola peaked at ``m`` (the ``(v / 4)^2``
  coordinate), and the cosines and sines of ``v`` at seven frequencies (periods from 21 down to 0.02)
  let it sharpen the peak to the second decimal.

The model stays a plain ``LlamaForCausalLM``. Training may move these coordinates like any other,
but measured, AdamW's per-coordinate steps wash them out: after the ``numreader``'s 2500 copy steps
(lr 3e-3) the number embeddings' norms had grown from 0.2 to 2.1 and the value coordinate's slope
had halved, so :func:`freeze_number_features` can keep them fixed during pretraining (a gradient
hook; the saved weights are ordinary, and RL fine-tuning later trains them like the rest). Tokens
that are not numbers, or whose magnitude is 10 or more (step numbers, pull counts past 9), keep
their random initialisation.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch

#: angular frequencies of the cosine/sine features (periods 2 pi / omega: ~21 down to ~0.02)
FREQUENCIES = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
#: coordinates taken: the linear and the quadratic feature, then a cosine and a sine per frequency
NUMBER_FEATURES = 2 + 2 * len(FREQUENCIES)
#: the features' default multiplier; the other coordinates are initialised with std 0.02 (Llama's default)
FEATURE_SCALE = 0.05
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def token_value(token: str) -> float | None:
    """The value of a token's text if it is a number of magnitude < 10 (``"-1.24"``, ``"3"``), else None.

    A leading byte-level space (``"Ġ"``) or any other character makes it not a number.
    """
    if not _NUMBER.fullmatch(token):
        return None
    value = float(token)
    return value if abs(value) < 10 else None


def number_features(value: float) -> torch.Tensor:
    """The ``NUMBER_FEATURES`` coordinates written for ``value`` (before ``FEATURE_SCALE``)."""
    scaled = value / 4.0
    features = [scaled, scaled * scaled]
    for omega in FREQUENCIES:
        features += [math.cos(omega * value), math.sin(omega * value)]
    return torch.tensor(features)


def number_token_ids(tokenizer: Any, vocab_size: int) -> list[tuple[int, float]]:
    """``(token id, value)`` of every token of the first ``vocab_size`` ids that :func:`token_value` reads."""
    pairs = []
    for token_id, token in enumerate(tokenizer.convert_ids_to_tokens(list(range(vocab_size)))):
        value = token_value(token) if token is not None else None
        if value is not None:
            pairs.append((token_id, value))
    return pairs


def init_number_embeddings(model: Any, tokenizer: Any, scale: float = FEATURE_SCALE) -> int:
    """Write every number token's value features into the first coordinates of its input embedding.

    Args:
        model: a transformers causal LM (its ``get_input_embeddings()``; with tied embeddings the
            output layer shares them).
        tokenizer: its tokenizer (``convert_ids_to_tokens``).
        scale: the features' multiplier.

    Returns:
        How many tokens got value features.

    Raises:
        ValueError: if the embedding is narrower than ``NUMBER_FEATURES`` + 1 coordinates.
    """
    weight = model.get_input_embeddings().weight
    if weight.shape[1] <= NUMBER_FEATURES:
        raise ValueError(
            f"the embedding has {weight.shape[1]} coordinates; number features need more than "
            f"{NUMBER_FEATURES}"
        )
    pairs = number_token_ids(tokenizer, weight.shape[0])
    with torch.no_grad():
        for token_id, value in pairs:
            weight[token_id, :NUMBER_FEATURES] = scale * number_features(value).to(weight.dtype)
    return len(pairs)


def freeze_number_features(model: Any, tokenizer: Any) -> Any:
    """Zero the gradient of the number tokens' feature coordinates, so an optimizer never moves them.

    AdamW with a zero gradient makes a zero step (its moments stay 0); its decoupled weight decay
    still shrinks them by ``lr * weight_decay`` per step, under 5% over a whole pretraining.

    Returns:
        The hook's handle (``.remove()`` lifts the freeze).
    """
    weight = model.get_input_embeddings().weight
    mask = torch.ones_like(weight)
    for token_id, _ in number_token_ids(tokenizer, weight.shape[0]):
        mask[token_id, :NUMBER_FEATURES] = 0.0
    return weight.register_hook(lambda grad: grad * mask)
