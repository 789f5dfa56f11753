"""The LLM policy: batched generation, per-token log-probs and candidate scoring over any causal LM.

:class:`LLMPolicy` wraps a Hugging Face causal LM and its tokenizer. It turns observation texts into
prompts (through the tokenizer's chat template when it has one), generates answers for many
environments at once, and reports what RL fine-tuning and the probes need:

- :meth:`LLMPolicy.generate` returns a :class:`Generation` with the texts, the prompt and completion
  token ids, and the log-prob of every generated token;
- :meth:`LLMPolicy.score` returns log pi(candidate | prompt) for candidate answers (e.g. one per arm).

Decoding is our own loop over the model's forward pass with the KV cache (not ``model.generate``):
prompts are left-padded into a batch, position ids count only real tokens, and rows that emit EOS
are dropped from the batch (and the cache) as they finish. Each row therefore sees exactly the
computation it would see alone, which is why batched greedy decoding equals one-at-a-time greedy
decoding, and the log-probs come straight from the logits that chose each token. Sampling draws
from a ``torch.Generator`` seeded by ``seed``, so a seeded call is reproducible.

Prefix caching (opt-in, :mod:`agents.llm.prefix_cache`): ``generate(..., cache_keys=env_ids)`` remembers
each key's prompt KV and, at the next call with that key, runs the model only on the tokens after the
longest common prefix; the result equals the uncached one (same tokens, log-probs within float error).

Example::

    policy = LLMPolicy.from_pretrained("path/to/model", max_new_tokens=64)
    gen = policy.generate(observations, temperature=1.0, seed=0)
    gen.texts[0], gen.completion_ids[0], gen.logprobs[0]
    gen = policy.generate(next_observations, cache_keys=[0, 1, 2])  # reuses each env's shared prefix
    scores = policy.score(observations, [["ACTION=red", "ACTION=blue"]] * len(observations))
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from agents.llm.compat import cache_kwargs, logits_kwargs, output_cache
from agents.llm.loading import load_model_and_tokenizer, prepare_tokenizer
from agents.llm.prefix_cache import CachedPrompt, PrefixCache, check_cache_keys, extract_prompts, prefill
from agents.llm.sampling import check_sampling_args, next_tokens
from agents.llm.scoring import encode_candidates, score_batch, select_cache_rows


@dataclass
class Generation:
    """What :meth:`LLMPolicy.generate` produced, one entry per observation, in input order.

    Attributes:
        texts: the decoded completions (special tokens such as EOS removed).
        prompt_ids: the prompt token ids (no padding).
        completion_ids: the generated token ids, EOS included when it was generated, never padding.
        logprobs: float32 CPU tensors, ``logprobs[i].shape == (len(completion_ids[i]),)``:
            ``log_softmax(logits / temperature)`` at each generated token (raw logits when greedy).
        finished: True when the completion ended with EOS, False when it hit ``max_new_tokens``.
    """

    texts: list[str]
    prompt_ids: list[list[int]]
    completion_ids: list[list[int]]
    logprobs: list[torch.Tensor]
    finished: list[bool]


def check_observations(observations: Sequence[str]) -> list[str]:
    """Return the observations as a list, raising ``TypeError`` unless they are a sequence of str."""
    if isinstance(observations, str) or not isinstance(observations, Sequence):
        raise TypeError(f"observations must be a list of str, got {type(observations).__name__}")
    for i, obs in enumerate(observations):
        if not isinstance(obs, str):
            raise TypeError(f"observations[{i}] must be a str, got {type(obs).__name__}")
    return list(observations)


@contextmanager
def eval_mode(model) -> Iterator[None]:
    """Run the block with ``model.eval()`` (no dropout), then restore the previous mode: RL fine-tuning
    calls the policy between training steps, and sampling must not see dropout."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def eos_token_ids(model, tokenizer) -> list[int]:
    """Every id that ends a completion: the tokenizer's EOS plus the model's generation-config EOS ids
    (chat models such as Gemma 2 end a turn with ``<end_of_turn>``, listed there)."""
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    config_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(config_eos, int):
        ids.add(config_eos)
    elif isinstance(config_eos, (list, tuple)):
        ids.update(int(i) for i in config_eos)
    if not ids:
        raise ValueError("neither the tokenizer nor the model's generation_config defines an EOS token id")
    return sorted(ids)


class LLMPolicy:
    """A text policy over a Hugging Face causal LM (see the module docstring).

    Args:
        model: a causal LM (``AutoModelForCausalLM``); it stays on its device and dtype.
        tokenizer: its tokenizer; set to left padding and given a pad token (EOS) if it has none.
        use_chat_template: ``None`` uses the chat template when the tokenizer has one; ``True`` requires
            one; ``False`` always encodes the observation as plain text.
        max_new_tokens: default generation budget G per answer.
        temperature: default temperature (0 = greedy).
        top_p: default nucleus mass for sampling.
        batch_size: observations decoded together; larger is faster until memory runs out.
        progress: show a tqdm bar over batches when there is more than one.
        prefix_cache_size: most keys the prefix cache remembers (``generate(cache_keys=...)``); the
            least recently used key is dropped beyond it.

    Attributes:
        prefix_cache: the :class:`~agents.llm.prefix_cache.PrefixCache` used by ``cache_keys`` calls.

    Raises:
        ValueError: ``use_chat_template=True`` with a tokenizer that has no chat template; settings out
            of range.
    """

    def __init__(
        self,
        model,
        tokenizer,
        *,
        use_chat_template: bool | None = None,
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        batch_size: int = 32,
        progress: bool = False,
        prefix_cache_size: int = 256,
    ) -> None:
        check_sampling_args(temperature, top_p, max_new_tokens)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        has_template = bool(getattr(tokenizer, "chat_template", None))
        if use_chat_template is True and not has_template:
            raise ValueError(
                "use_chat_template=True but the tokenizer has no chat_template; pass None or False"
            )
        if use_chat_template not in (None, True, False):
            raise ValueError(f"use_chat_template must be None, True or False, got {use_chat_template!r}")
        prepare_tokenizer(tokenizer, model)
        self.model = model
        self.tokenizer = tokenizer
        self.use_chat_template = has_template if use_chat_template is None else use_chat_template
        self.max_new_tokens = max_new_tokens
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.batch_size = batch_size
        self.progress = progress
        self.prefix_cache = PrefixCache(prefix_cache_size)
        self.eos_ids = eos_token_ids(model, tokenizer)
        self.pad_id = int(tokenizer.pad_token_id)
        # Prompt passes need only the last position's logits; computing all of them would cost
        # (B, L, vocab) memory (29 GB in bf16 for 32 prompts of 1,800 tokens with Gemma 2's vocabulary).
        self.last_logits_only: dict[str, int] = logits_kwargs(model, 1)
        config = model.config
        self.max_positions: int | None = getattr(config, "max_position_embeddings", None) or getattr(
            config, "n_positions", None
        )

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        trust_remote_code: bool = False,
        **kwargs,
    ) -> LLMPolicy:
        """Load with :func:`~agents.llm.loading.load_model_and_tokenizer`; ``kwargs`` go to ``__init__``."""
        model, tokenizer = load_model_and_tokenizer(
            name_or_path, device=device, dtype=dtype, trust_remote_code=trust_remote_code
        )
        return cls(model, tokenizer, **kwargs)

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters (inputs are moved there)."""
        return next(self.model.parameters()).device

    # ----------------------------------------------------------------------------------------- prompts
    def encode_prompts(self, observations: Sequence[str]) -> list[list[int]]:
        """Token ids of the prompt for each observation (no padding).

        With the chat template the observation is one user message and the template's generation
        prompt (e.g. ``<start_of_turn>model``) is appended; otherwise the observation is encoded as
        plain text with the tokenizer's usual special tokens (e.g. BOS).
        """
        observations = check_observations(observations)
        if not observations:
            return []
        if not self.use_chat_template:
            return [list(ids) for ids in self.tokenizer(observations)["input_ids"]]
        prompts = []
        for obs in observations:
            ids = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": obs}],
                add_generation_prompt=True,
                tokenize=True,
                return_dict=False,
            )
            prompts.append([int(i) for i in ids])
        return prompts

    def left_pad(self, sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Left-pad token lists into ``(input_ids, attention_mask, position_ids)``, each ``(B, L)`` on device.

        Position ids count real tokens only (0 at each row's first real token), so a padded row sees the
        same positions as the unpadded prompt alone.
        """
        length = max(len(s) for s in sequences)
        ids = torch.full((len(sequences), length), self.pad_id, dtype=torch.long)  # (B, L)
        mask = torch.zeros((len(sequences), length), dtype=torch.long)  # (B, L)
        for row, seq in enumerate(sequences):
            if seq:
                ids[row, length - len(seq) :] = torch.tensor(seq, dtype=torch.long)
                mask[row, length - len(seq) :] = 1
        positions = (mask.cumsum(dim=-1) - 1).clamp(min=0)  # (B, L)
        device = self.device
        return ids.to(device), mask.to(device), positions.to(device)

    def check_length(self, prompt_ids: Sequence[Sequence[int]], extra: int) -> None:
        """Raise ``ValueError`` when a prompt plus ``extra`` tokens exceeds the model's context."""
        if any(len(p) == 0 for p in prompt_ids):
            raise ValueError(
                "a prompt encodes to zero tokens; give the tokenizer a BOS token or a non-empty text"
            )
        longest = max(len(p) for p in prompt_ids)
        if self.max_positions is not None and longest + extra > self.max_positions:
            raise ValueError(
                f"a prompt of {longest} tokens plus {extra} new tokens exceeds the model's context of "
                f"{self.max_positions} positions; shorten the observation (e.g. history_window) or "
                "max_new_tokens"
            )

    def batches(self, order: list[int], size: int, desc: str):
        """Chunks of ``order`` of at most ``size``, with a progress bar when asked and useful."""
        chunks = [order[i : i + size] for i in range(0, len(order), size)]
        return tqdm(chunks, desc=desc, disable=not self.progress or len(chunks) < 2, leave=False)

    # -------------------------------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(
        self,
        observations: Sequence[str],
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_new_tokens: int | None = None,
        seed: int | None = None,
        cache_keys: Sequence[Hashable] | None = None,
    ) -> Generation:
        """Generate one answer per observation (batched; see the module docstring).

        Args:
            observations: prompt texts (environment observations).
            temperature, top_p, max_new_tokens: override the policy's defaults for this call.
            seed: seeds the sampling generator; the same seed, inputs and ``batch_size`` give the same
                output. ``None`` samples from torch's global RNG. Greedy decoding ignores it.
            cache_keys: one distinct hashable key per observation (e.g. the env ids) to use the prefix
                cache: each key's previous prompt KV is reused up to the longest common token prefix
                and the new prompt's KV is remembered. ``None`` (default): no caching. The result is
                the same either way; only the work differs.

        Returns:
            A :class:`Generation` in the order of ``observations``.

        Raises:
            TypeError / ValueError: bad settings, ``cache_keys`` not one distinct hashable per observation.
        """
        temperature = self.temperature if temperature is None else temperature
        top_p = self.top_p if top_p is None else top_p
        max_new_tokens = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        check_sampling_args(temperature, top_p, max_new_tokens)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        prompt_ids = self.encode_prompts(observations)
        keys = None if cache_keys is None else check_cache_keys(cache_keys, len(prompt_ids))
        if not prompt_ids:
            return Generation([], [], [], [], [])
        self.check_length(prompt_ids, max_new_tokens)
        if keys is not None:
            self.prefix_cache.check_model(self.model)
        generator = None
        if seed is not None and temperature > 0:
            generator = torch.Generator(device=self.device)
            generator.manual_seed(seed)
        # Longest prompts first so each batch holds similar lengths (less padding).
        order = sorted(range(len(prompt_ids)), key=lambda i: -len(prompt_ids[i]))
        completions: list[list[int]] = [[] for _ in prompt_ids]
        logprobs: list[torch.Tensor] = [torch.empty(0) for _ in prompt_ids]
        finished = [False] * len(prompt_ids)
        for chunk in self.batches(order, self.batch_size, "generate"):
            prefixes = None if keys is None else [self.prefix_cache.get(keys[i]) for i in chunk]
            with eval_mode(self.model):
                tokens, lps, lengths, done, stored = self.decode_batch(
                    [prompt_ids[i] for i in chunk], temperature, top_p, max_new_tokens, generator, prefixes
                )
            if keys is not None:
                # Without a stored entry (a cache type we cannot rebuild) the old one is dropped, not kept.
                self.prefix_cache.drop(keys[i] for i in chunk)
                for i, entry in zip(chunk, stored or [], strict=False):
                    self.prefix_cache.put(keys[i], entry)
            for row, i in enumerate(chunk):
                completions[i] = tokens[row, : lengths[row]].tolist()
                logprobs[i] = lps[row, : lengths[row]].clone()
                finished[i] = bool(done[row])
        texts = self.tokenizer.batch_decode(completions, skip_special_tokens=True)
        return Generation(list(texts), prompt_ids, completions, logprobs, finished)

    def decode_batch(
        self,
        prompts: list[list[int]],
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        generator: torch.Generator | None,
        prefixes: list[CachedPrompt | None] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, list[int], list[bool], list[CachedPrompt] | None]:
        """Decode one left-padded batch with the KV cache.

        ``prefixes`` (prefix caching; ``None``: off) are the rows' remembered prompts: their common prefix
        with ``prompts`` is taken from the cache instead of being recomputed.

        Returns CPU tensors ``tokens`` ``(B, G)`` int64 and ``logprobs`` ``(B, G)`` float32 (valid up to
        each row's length), the lengths, whether each row emitted EOS, and (prefix caching only, when
        the model's cache type allows) each row's prompt KV to remember.
        """
        batch = len(prompts)
        device = self.device
        out_tokens = torch.full(
            (batch, max_new_tokens), self.pad_id, dtype=torch.long, device=device
        )  # (B, G)
        out_logprobs = torch.zeros((batch, max_new_tokens), dtype=torch.float32, device=device)  # (B, G)
        lengths = torch.full((batch,), max_new_tokens, dtype=torch.long, device=device)  # (B,)
        done = torch.zeros((batch,), dtype=torch.bool, device=device)  # (B,) emitted EOS
        eos = torch.tensor(self.eos_ids, dtype=torch.long, device=device)
        alive = torch.arange(batch, device=device)  # (b,) original rows still decoding
        logits, cache, mask, next_position, reused = prefill(
            self, prompts, prefixes or [None] * batch
        )  # (b, V), KV of (b, T), (b, T), (b,)
        stored = None
        if prefixes is not None:
            # Taken now: the decode loop below appends generated tokens, which are not part of a prompt.
            stored = extract_prompts(cache, prompts, reused)
            self.prefix_cache.reused_tokens += sum(reused)
            self.prefix_cache.computed_tokens += sum(len(p) for p in prompts) - sum(reused)
        for step in range(max_new_tokens):
            tokens, lps = next_tokens(
                logits, temperature=temperature, top_p=top_p, generator=generator
            )  # (b,)
            out_tokens[alive, step] = tokens
            out_logprobs[alive, step] = lps
            is_eos = torch.isin(tokens, eos)  # (b,)
            lengths[alive[is_eos]] = step + 1
            done[alive[is_eos]] = True
            keep = ~is_eos
            if step == max_new_tokens - 1 or not bool(keep.any()):
                break
            if not bool(keep.all()):
                # Drop finished rows from everything, the cache included, so they cost nothing more.
                kept = keep.nonzero().squeeze(-1)  # (b',)
                cache = select_cache_rows(cache, kept)
                alive, tokens, mask, next_position = (
                    alive[kept],
                    tokens[kept],
                    mask[kept],
                    next_position[kept],
                )
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)  # (b, L + step + 1)
            output = self.model(
                input_ids=tokens.unsqueeze(-1),
                attention_mask=mask,
                position_ids=next_position.unsqueeze(-1),
                use_cache=True,
                **cache_kwargs(self.model, cache),
            )
            cache = output_cache(output)
            logits = output.logits[:, -1, :]  # (b, V)
            next_position = next_position + 1
        return out_tokens.cpu(), out_logprobs.cpu(), lengths.tolist(), done.tolist(), stored

    # ----------------------------------------------------------------------------------------- scoring
    @torch.no_grad()
    def score(self, observations: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Log-probability of each candidate answer given each observation's prompt.

        ``score(obs, cands)[i][j] = sum_t log pi(c_t | prompt_i, c_<t)`` over the tokens of
        ``cands[i][j]`` (encoded without special tokens and appended to the prompt), under the raw
        logits (temperature 1). It is the probability that the answer *starts with* the candidate.

        The prompt is run once; its KV cache is copied to each candidate, so the cost is one prompt pass
        plus one short pass over the candidates per observation.

        Returns:
            One float64 array per observation, of length ``len(candidates[i])``.
        """
        prompt_ids = self.encode_prompts(observations)
        cand_ids = encode_candidates(self.tokenizer, candidates, len(prompt_ids))
        if not prompt_ids:
            return []
        self.check_length(prompt_ids, max(len(c) for row in cand_ids for c in row))
        scores: list[np.ndarray] = [np.empty(0) for _ in prompt_ids]
        # Keep candidate rows per forward pass near batch_size: fewer observations when each has many.
        most = max(len(row) for row in cand_ids)
        per_batch = max(1, self.batch_size // most)
        order = sorted(range(len(prompt_ids)), key=lambda i: -len(prompt_ids[i]))
        for chunk in self.batches(order, per_batch, "score"):
            with eval_mode(self.model):
                values = score_batch(self, [prompt_ids[i] for i in chunk], [cand_ids[i] for i in chunk])
            for row, i in enumerate(chunk):
                scores[i] = values[row]
        return scores
