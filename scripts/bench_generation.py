"""Benchmark: batched generation (LLMPolicy) vs a plain per-environment loop, in tokens per second.

The prompts are real ``TextBandit-v0`` observations: ``--num-envs`` environments are reset with
seeds ``seed * 100_000 + i`` and played ``--history`` random steps, so every prompt carries a history
(and the prompts differ in length). Three ways of answering all of them with greedy decoding and the
same ``--max-new-tokens``:

- ``batched``: ``LLMPolicy.generate`` on all prompts at once (left padding, KV cache, finished rows dropped);
- ``hf-loop``: the plain loop a user would write: ``model.generate`` on one prompt at a time;
- ``policy-loop``: ``LLMPolicy.generate`` on one prompt at a time (isolates the gain of batching).

Throughput = generated tokens (EOS included) / wall seconds. The report prints the speed-up of
``batched`` over each loop, and how many greedy completions agree between ``batched`` and ``hf-loop``.

``--episode`` measures what an evaluation or a rollout does: ``--num-envs`` environments play a whole
episode (``--horizon`` turns, default 50) with an ``LLMAgent``, once with the prefix cache (each env's
prompt reuses the KV of the part it shares with its previous prompt), once without, and once with the
plain loop (``model.generate`` per env per turn on the full prompt); it prints the wall time of each,
the speed-ups, the share of prompt tokens taken from the cache, and whether the answers (token ids)
are identical. All runs play the same seeds, so identical answers mean identical episodes. (On one
turn with long prompts and short answers, batching alone gains little on a CPU: the prompt's prefill
costs the same batched or not; over an episode the cache leaves mostly decoding, which batching
speeds up.)

Models (``--model``): ``tiny`` (default: a randomly initialised Llama of ~4.7M parameters built in a
temporary folder with a BPE tokenizer trained on the prompts; its text is gibberish but the compute is
that of a real model of its size), ``base`` / ``base-quick`` (the embedded base model, built by
``agents.base_model.ensure_base_model`` if not cached), or any hub id / ``save_pretrained`` folder.

Example::

    PYTHONPATH=. python scripts/bench_generation.py --num-envs 16 --max-new-tokens 32
    PYTHONPATH=. python scripts/bench_generation.py --episode --model /tmp/bm/default --num-envs 16
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from tqdm.auto import tqdm

import textrl_envs  # noqa: F401  (registers the environments)
from agents.llm import LLMAgent, LLMPolicy
from agents.llm.tiny import make_tiny_model


def bandit_prompts(num_envs: int, n_arms: int, history: int, seed: int) -> list[str]:
    """Observations of ``num_envs`` TextBandit-v0 episodes after ``history`` uniformly random steps."""
    rng = np.random.default_rng(seed)
    prompts = []
    for i in range(num_envs):
        env = gym.make("TextBandit-v0", n_arms=n_arms)
        obs, info = env.reset(seed=seed * 100_000 + i)
        names = info["action_names"]
        for _ in range(history):
            obs, *_ = env.step(f"ACTION={names[rng.integers(len(names))]}")
        prompts.append(obs)
        env.close()
    return prompts


def resolve_model(name: str, workdir: Path, prompts: list[str]) -> Path | str:
    """The folder (or hub id) to load for ``--model``."""
    if name == "tiny":
        # Larger than the test model: a few million parameters, like the embedded base model.
        return make_tiny_model(
            workdir / "bench-model",
            vocab_texts=prompts,
            hidden_size=256,
            num_layers=4,
            num_heads=4,
            vocab_size=1024,
            init_std=0.02,
        )
    if name in ("base", "base-quick"):
        from agents.base_model import ensure_base_model

        return ensure_base_model("default" if name == "base" else "quick")
    return name


def timed(fn):
    """Run ``fn()`` and return ``(seconds, result)``; CUDA work is synchronised before reading the clock."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def hf_loop(policy: LLMPolicy, prompt_ids: list[list[int]], max_new_tokens: int) -> list[list[int]]:
    """Plain per-environment loop: ``model.generate`` on one prompt at a time, greedy."""
    completions = []
    for ids in prompt_ids:
        inputs = torch.tensor([ids], device=policy.device)  # (1, L)
        out = policy.model.generate(
            inputs,
            attention_mask=torch.ones_like(inputs),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=policy.eos_ids,
            pad_token_id=policy.pad_id,
        )
        new = out[0, len(ids) :].tolist()
        # generate pads nothing for a single row, but trim after the first EOS to be safe.
        ends = [i for i, t in enumerate(new) if t in policy.eos_ids]
        completions.append(new[: ends[0] + 1] if ends else new)
    return completions


def run(args: argparse.Namespace) -> dict:
    """Run the benchmark and return the measurements."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    prompts = bandit_prompts(args.num_envs, args.n_arms, args.history, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        model = resolve_model(args.model, Path(tmp), prompts)
        policy = LLMPolicy.from_pretrained(
            model, device=args.device, batch_size=args.batch_size or args.num_envs, temperature=0.0
        )
    prompt_ids = policy.encode_prompts(prompts)
    n_params = sum(p.numel() for p in policy.model.parameters())
    g = args.max_new_tokens
    with torch.no_grad():
        policy.generate(prompts[:2], max_new_tokens=2)  # warm-up (allocations, kernels)
        hf_loop(policy, prompt_ids[:1], 2)
        t_batched, gen = timed(lambda: policy.generate(prompts, max_new_tokens=g))
        t_hf, hf_out = timed(lambda: hf_loop(policy, prompt_ids, g))
        t_single, single = timed(lambda: [policy.generate([p], max_new_tokens=g) for p in prompts])
    tokens_batched = sum(len(c) for c in gen.completion_ids)
    tokens_hf = sum(len(c) for c in hf_out)
    tokens_single = sum(len(s.completion_ids[0]) for s in single)
    results = {
        "model": str(args.model),
        "parameters": n_params,
        "device": str(policy.device),
        "dtype": str(next(policy.model.parameters()).dtype),
        "threads": args.threads,
        "num_envs": args.num_envs,
        "prompt_tokens_min": min(len(p) for p in prompt_ids),
        "prompt_tokens_max": max(len(p) for p in prompt_ids),
        "max_new_tokens": g,
        "batched": {
            "seconds": t_batched,
            "tokens": tokens_batched,
            "tokens_per_s": tokens_batched / t_batched,
        },
        "hf_loop": {"seconds": t_hf, "tokens": tokens_hf, "tokens_per_s": tokens_hf / t_hf},
        "policy_loop": {
            "seconds": t_single,
            "tokens": tokens_single,
            "tokens_per_s": tokens_single / t_single,
        },
        "greedy_agreement_vs_hf_loop": float(
            np.mean([a == b for a, b in zip(gen.completion_ids, hf_out, strict=True)])
        ),
    }
    results["speedup_vs_hf_loop"] = results["batched"]["tokens_per_s"] / results["hf_loop"]["tokens_per_s"]
    results["speedup_vs_policy_loop"] = (
        results["batched"]["tokens_per_s"] / results["policy_loop"]["tokens_per_s"]
    )
    return results


def episode_envs(args: argparse.Namespace) -> tuple[list, list[str], list[dict]]:
    """The ``--episode`` environments, reset with the same seeds for every way of playing them."""
    envs = [gym.make("TextBandit-v0", n_arms=args.n_arms, horizon=args.horizon) for _ in range(args.num_envs)]
    resets = [env.reset(seed=args.seed * 100_000 + i) for i, env in enumerate(envs)]
    return envs, [r[0] for r in resets], [r[1] for r in resets]


def play_episode(policy: LLMPolicy, args: argparse.Namespace, prefix_cache: bool) -> dict:
    """One TextBandit-v0 episode in ``args.num_envs`` envs played by a greedy ``LLMAgent``.

    Returns the wall seconds (agent calls only, not the environments), every turn's completion ids, and
    the prompt tokens computed / reused.
    """
    agent = LLMAgent(policy, temperature=0.0, max_new_tokens=args.max_new_tokens, prefix_cache=prefix_cache)
    envs, obs, infos = episode_envs(args)
    env_ids = list(range(args.num_envs))
    cache = policy.prefix_cache
    reused_before, computed_before = cache.reused_tokens, cache.computed_tokens
    agent.reset(infos)
    seconds, completions, prompt_tokens = 0.0, [], 0
    for _ in tqdm(range(args.horizon), desc=f"episode, prefix cache {'on' if prefix_cache else 'off'}"):
        elapsed, texts = timed(lambda: agent.act(obs, infos, env_ids))  # noqa: B023 (called at once)
        seconds += elapsed
        completions.append(agent.last_generation.completion_ids)
        prompt_tokens += sum(len(p) for p in agent.last_generation.prompt_ids)
        steps = [env.step(text) for env, text in zip(envs, texts, strict=True)]
        obs, infos = [s[0] for s in steps], [s[4] for s in steps]
    for env in envs:
        env.close()
    agent.reset([])  # frees this agent's cached prompts
    return {
        "seconds": seconds,
        "completions": completions,
        "prompt_tokens": prompt_tokens,
        "reused_tokens": cache.reused_tokens - reused_before,
        "computed_tokens": cache.computed_tokens - computed_before,
    }


def play_episode_hf_loop(policy: LLMPolicy, args: argparse.Namespace) -> dict:
    """The same episode played by the plain loop: ``model.generate`` per env per turn, full prompts."""
    envs, obs, _ = episode_envs(args)
    seconds, completions = 0.0, []
    for _ in tqdm(range(args.horizon), desc="episode, per-env model.generate"):
        elapsed, ids = timed(lambda: hf_loop(policy, policy.encode_prompts(obs), args.max_new_tokens))  # noqa: B023
        seconds += elapsed
        completions.append(ids)
        texts = policy.tokenizer.batch_decode(ids, skip_special_tokens=True)
        obs = [env.step(text)[0] for env, text in zip(envs, texts, strict=True)]
    for env in envs:
        env.close()
    return {"seconds": seconds, "completions": completions}


def run_episode(args: argparse.Namespace) -> dict:
    """``--episode``: a whole episode with vs without the prefix cache; returns the measurements."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        prompts = bandit_prompts(2, args.n_arms, 3, args.seed)
        model = resolve_model(args.model, Path(tmp), prompts)
        batch_size = args.batch_size or args.num_envs
        policy = LLMPolicy.from_pretrained(model, device=args.device, batch_size=batch_size)
    with torch.no_grad():
        policy.generate(prompts, max_new_tokens=2)  # warm-up (allocations, kernels)
    cached = play_episode(policy, args, prefix_cache=True)
    plain = play_episode(policy, args, prefix_cache=False)
    loop = play_episode_hf_loop(policy, args)
    same = [a == b for a, b in zip(cached["completions"], plain["completions"], strict=True)]
    same_loop = [a == b for a, b in zip(cached["completions"], loop["completions"], strict=True)]
    return {
        "mode": "episode",
        "model": str(args.model),
        "parameters": sum(p.numel() for p in policy.model.parameters()),
        "device": str(policy.device),
        "dtype": str(next(policy.model.parameters()).dtype),
        "threads": args.threads,
        "num_envs": args.num_envs,
        "horizon": args.horizon,
        "n_arms": args.n_arms,
        "max_new_tokens": args.max_new_tokens,
        "prompt_tokens": plain["prompt_tokens"],
        "cached": {k: cached[k] for k in ("seconds", "reused_tokens", "computed_tokens")},
        "uncached": {"seconds": plain["seconds"], "computed_tokens": plain["prompt_tokens"]},
        "hf_loop": {"seconds": loop["seconds"]},
        "speedup": plain["seconds"] / cached["seconds"],
        "speedup_vs_hf_loop": loop["seconds"] / cached["seconds"],
        "identical_turns_vs_hf_loop": int(sum(same_loop)),
        "reused_fraction": cached["reused_tokens"] / max(1, plain["prompt_tokens"]),
        "identical_answers": bool(all(same)),
        "identical_turns": int(sum(same)),
    }


def format_episode(r: dict) -> str:
    """A short human-readable report of ``--episode``."""
    off, on = r["uncached"], r["cached"]
    return "\n".join(
        [
            f"model {r['model']} ({r['parameters'] / 1e6:.2f}M params, {r['device']}, {r['dtype']}, "
            f"{r['threads']} threads)",
            f"{r['num_envs']} TextBandit-v0 envs x {r['horizon']} turns ({r['n_arms']} arms), "
            f"max_new_tokens={r['max_new_tokens']}, greedy; {r['prompt_tokens']} prompt tokens in all",
            f"  prefix cache off  {off['seconds']:>8.2f} s  ({off['computed_tokens']} computed)",
            f"  prefix cache on   {on['seconds']:>8.2f} s  ({on['computed_tokens']} computed, "
            f"{on['reused_tokens']} reused = {100 * r['reused_fraction']:.1f}%)",
            f"  per-env model.generate loop {r['hf_loop']['seconds']:>8.2f} s",
            f"speed-up (off / on): {r['speedup']:.2f}x",
            f"speed-up (per-env model.generate loop / ours, batched with the prefix cache): "
            f"{r['speedup_vs_hf_loop']:.2f}x ({r['identical_turns_vs_hf_loop']}/{r['horizon']} turns with "
            f"identical answers)",
            f"identical answers with and without the cache: {r['identical_answers']} "
            f"({r['identical_turns']}/{r['horizon']} turns)",
        ]
    )


def format_results(r: dict) -> str:
    """A short human-readable report."""
    lines = [
        f"model {r['model']} ({r['parameters'] / 1e6:.2f}M params, {r['device']}, {r['dtype']}, "
        f"{r['threads']} threads)",
        f"{r['num_envs']} TextBandit-v0 prompts of {r['prompt_tokens_min']}-{r['prompt_tokens_max']} tokens, "
        f"max_new_tokens={r['max_new_tokens']}, greedy",
    ]
    for key, label in [
        ("batched", "batched (LLMPolicy)"),
        ("hf_loop", "per-env model.generate"),
        ("policy_loop", "per-env LLMPolicy"),
    ]:
        m = r[key]
        lines.append(
            f"  {label:<24} {m['tokens']:>6} tokens {m['seconds']:>8.2f} s {m['tokens_per_s']:>9.1f} tok/s"
        )
    lines.append(f"speed-up batched / per-env model.generate: {r['speedup_vs_hf_loop']:.1f}x")
    lines.append(f"speed-up batched / per-env LLMPolicy:      {r['speedup_vs_policy_loop']:.1f}x")
    lines.append(
        f"identical greedy completions (batched vs per-env generate): "
        f"{100 * r['greedy_agreement_vs_hf_loop']:.0f}%"
    )
    return "\n".join(lines)


def write_json(data: dict, path: Path) -> None:
    """Write ``data`` as JSON atomically (temp file in the same folder, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny", help="tiny | base | base-quick | hub id | folder")
    parser.add_argument("--num-envs", type=int, default=16, help="prompts (environments) answered together")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="LLMPolicy batch size (default num-envs)"
    )
    parser.add_argument("--max-new-tokens", type=int, default=32, help="generation budget G per answer")
    parser.add_argument("--n-arms", type=int, default=10)
    parser.add_argument("--history", type=int, default=10, help="random steps played before the prompt")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: cuda if available)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--episode", action="store_true", help="measure the prefix cache over a whole episode (see above)"
    )
    parser.add_argument("--horizon", type=int, default=50, help="--episode: turns per episode")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    for name in ("num_envs", "max_new_tokens", "threads", "horizon"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    results = run_episode(args) if args.episode else run(args)
    print(format_episode(results) if args.episode else format_results(results))
    if args.out is not None:
        write_json(results, args.out)
    return results


if __name__ == "__main__":
    main()
