"""Update throughput of RL fine-tuning: packed (ours) vs naive per-turn vs TRL's GRPOTrainer.

Measures *environment steps trained per second* for one policy update (reference log-probs, forward,
backward, optimizer step) on the same bandit episodes, in one run, and prints the ratios:

- ``ours``: :func:`agents.rlft.update.ppo_update` with ``packing="tree"`` (the shared prefix once,
  the turns' branches batched on its KV cache).
- ``ours-mask``: the same with one packed sequence and a dense 4-D mask (``packing="mask"``).
- ``ours-unpacked``: the same code with one sequence per turn (isolates the packing gain).
- ``naive``: an independent plain per-turn implementation (a padded batch of prompt + completion per
  turn, full logits, ``log_softmax``, the same clipped + k3 KL loss) as most RL code does it.
- ``trl``: TRL's ``GRPOTrainer`` (optional, ``pip install trl``) on the same per-step prompts with the
  same model, completion budget and beta; its update time is its training step minus the time spent
  in its own generation (``_generate``), i.e. what it spends scoring and training.

Episodes come from the real environment (random actions; answers are short rationales ending in
``ACTION=X`` of about ``--completion-tokens`` tokens, then the model's EOS), so prompt lengths are the
real ones, chat template included.

Machine utilisation ("MFU") of our update, against a plain 2048 x 2048 fp32 matmul timed in the same
run (the machine's practical peak; GPU: the bf16 datasheet peak too). Two FLOP counts, N = parameters:

- ``all``: 6N per token of the policy's forward + backward (every packed token: gradients flow through
  the prompt's keys and values) plus 2N per token of a pass without gradients (reference, old);
- ``strict``: 6N only per *trained* token (a generated token in the loss) and 2N per token that is only
  scored, i.e. the work an oracle that never back-propagates through a prompt would need.

    python scripts/bench_rlft.py --model quick --episodes 4 --horizon 50
    python scripts/bench_rlft.py --model smollm2-135m-instruct --episodes 8 --horizon 10 --arms 5 \
        --action-only                                               # a real 135M model on CPU
    python scripts/bench_rlft.py --random-model 110M --device cuda   # GPU: tokens/s and MFU
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from accelerate import Accelerator  # noqa: E402

import textrl_envs  # noqa: E402, F401
from agents.rlft.config import RLFTConfig  # noqa: E402
from agents.rlft.losses import clipped_surrogate, kl_penalty  # noqa: E402
from agents.rlft.optim import make_optimizer, make_scheduler  # noqa: E402
from agents.rlft.rollout import Episode  # noqa: E402
from agents.rlft.update import ppo_update  # noqa: E402
from agents.rlft.value_head import PolicyWithValue, forward_any  # noqa: E402

RANDOM_MODELS = {  # llama-architecture sizes for the GPU run: (hidden, layers, heads, intermediate)
    "110M": (768, 12, 12, 2048),
    "350M": (1024, 24, 16, 2816),
}
PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def load(args):
    from agents.llm.loading import load_model_and_tokenizer

    if args.random_model:
        from transformers import LlamaConfig, LlamaForCausalLM

        from agents.base_model import ensure_base_model

        _, tok = load_model_and_tokenizer(ensure_base_model("quick", progress=False), device="cpu")
        hidden, layers, heads, inter = RANDOM_MODELS[args.random_model]
        cfg = LlamaConfig(
            vocab_size=len(tok),
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            intermediate_size=inter,
            max_position_embeddings=8192,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
            bos_token_id=tok.bos_token_id,
        )
        torch.manual_seed(0)
        return LlamaForCausalLM(cfg).to(args.device), tok
    path = args.model
    if path in ("quick", "default", "gpu"):
        from agents.base_model import ensure_base_model

        path = ensure_base_model(path, progress=False)
    return load_model_and_tokenizer(path, device=args.device, dtype=torch.float32)


def make_episodes(lm, tokenizer, args) -> list[Episode]:
    """Real bandit prompts (via the policy's own prompt encoding) with templated answers."""
    from agents.llm.policy import LLMPolicy

    policy = LLMPolicy(lm, tokenizer)  # only its prompt encoding is used
    rng = np.random.default_rng(0)
    episodes = []
    for e in range(args.episodes):
        env = gym.make("TextBandit-v0", n_arms=args.arms, horizon=args.horizon, cot=not args.action_only)
        obs, info = env.reset(seed=e)
        ep = Episode(seed=e)
        names = info["action_names"]
        for _ in range(args.horizon):
            arm = names[int(rng.integers(len(names)))]
            filler = " ".join(["The best mean so far is", arm, "so"] * 8)
            ids = tokenizer(filler, add_special_tokens=False)["input_ids"][
                : max(args.completion_tokens - 4, 1)
            ]
            completion = ids + tokenizer(f" ACTION={arm}", add_special_tokens=False)["input_ids"]
            completion = completion + policy.eos_ids[:1]  # a finished answer ends with the model's EOS
            text = tokenizer.decode(completion)
            prompt = policy.encode_prompts([obs])[0]
            obs, reward, terminated, _, info = env.step(text)
            ep.add_turn(prompt, completion, text, reward, info, 0.0)
            if terminated:
                break
        episodes.append(ep)
    return episodes


def bench_ours(lm, episodes, args, packing: str) -> float:
    cfg = RLFTConfig(
        packing=packing,
        micro_batch_episodes=args.micro_episodes,
        total_updates=10,
        warmup_steps=0,
        learning_rate=1e-6,
        mixed_precision="no",
        progress=False,
    )
    module = PolicyWithValue(lm)
    opt = make_optimizer(module, cfg)
    sched = make_scheduler(opt, cfg, steps_per_update=1)
    acc = Accelerator(cpu=args.device == "cpu", mixed_precision="bf16" if args.device != "cpu" else "no")
    model, opt = acc.prepare(module, opt)
    ref = lm  # the same weights stand in for the frozen reference: the cost is what is measured

    def ref_forward(batch):
        with torch.no_grad(), acc.autocast():
            return forward_any(ref, batch)[0]

    def once():
        ppo_update(model, ref_forward, episodes, cfg, opt, sched, acc, pad_id=0, generator=torch.Generator())

    return timed(once, args)


def naive_logprobs(lm, rows, pad_id, device):
    """Plain per-turn forward: right-padded prompt+completion, full logits, log_softmax, gather."""
    length = max(len(p) + len(c) for p, c in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, (p, c) in enumerate(rows):
        ids[i, : len(p) + len(c)] = torch.tensor(p + c)
        mask[i, : len(p) + len(c)] = 1
    logits = lm(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()  # (B, L, V)
    logp = torch.log_softmax(logits, -1)
    out = [logp[i, len(p) - 1 + torch.arange(len(c)), torch.tensor(c)] for i, (p, c) in enumerate(rows)]
    return torch.cat(out)


def bench_naive(lm, episodes, args) -> float:
    opt = torch.optim.AdamW(lm.parameters(), lr=1e-6)
    rows = [(p, c) for e in episodes for p, c in zip(e.prompt_ids, e.completion_ids, strict=True)]
    adv = torch.randn(sum(len(c) for _, c in rows), device=args.device)
    ctx = (
        torch.autocast(args.device, dtype=torch.bfloat16)
        if args.device != "cpu"
        else torch.autocast("cpu", enabled=False)
    )

    def once():
        n = sum(len(c) for _, c in rows)
        start = 0
        for i in range(0, len(rows), args.micro_turns):
            chunk = rows[i : i + args.micro_turns]
            k = sum(len(c) for _, c in chunk)
            with ctx:
                with torch.no_grad():
                    ref = naive_logprobs(lm, chunk, 0, args.device)
                logp = naive_logprobs(lm, chunk, 0, args.device)
            pg, _, _ = clipped_surrogate(logp, logp.detach(), adv[start : start + k])
            loss = (pg + 0.05 * kl_penalty(logp, ref, "k3")).sum() / n
            loss.backward()
            start += k
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        opt.step()
        opt.zero_grad()

    return timed(once, args)


def bench_trl(lm, tokenizer, episodes, args) -> float | None:
    try:
        import trl
        from datasets import Dataset
        from trl import GRPOConfig, GRPOTrainer
    except ImportError:
        print("trl: not installed (pip install trl) -- skipped")
        return None
    prompts = [tokenizer.decode(p, skip_special_tokens=True) for e in episodes for p in e.prompt_ids]
    n = len(prompts) - len(prompts) % 2
    data = Dataset.from_dict({"prompt": prompts[:n]})
    batch = min(args.trl_batch, n)
    cfg = GRPOConfig(
        output_dir="/tmp/bench_trl",
        per_device_train_batch_size=batch,
        num_generations=2,
        max_completion_length=args.completion_tokens,
        beta=0.05,
        learning_rate=1e-6,
        max_steps=args.repeats + 1,
        logging_steps=1000,
        save_strategy="no",
        report_to=[],
        use_cpu=args.device == "cpu",
        bf16=args.device != "cpu",
        gradient_checkpointing=False,  # TRL turns it on by default; off for a like-for-like comparison
        gradient_accumulation_steps=1,
        temperature=1.0,
        disable_tqdm=True,
    )
    if not getattr(lm.config, "_name_or_path", ""):
        # a model built in memory (--random-model): TRL builds its reference model from the policy's
        # path, so the policy gets one
        import tempfile

        folder = tempfile.mkdtemp(prefix="bench-trl-")
        lm.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        lm.config._name_or_path = folder
    trainer = GRPOTrainer(
        model=lm,
        reward_funcs=lambda completions, **kw: [0.0] * len(completions),
        args=cfg,
        train_dataset=data,
        processing_class=tokenizer,
    )
    times = {"gen": [], "step": []}
    gen, step = trainer._generate, trainer.training_step

    def timed_gen(*a, **k):
        t = time.perf_counter()
        out = gen(*a, **k)
        times["gen"].append(time.perf_counter() - t)
        return out

    def timed_step(*a, **k):
        times["gen"].clear() if len(times["step"]) == 0 else None
        t = time.perf_counter()
        out = step(*a, **k)
        times["step"].append(time.perf_counter() - t)
        return out

    trainer._generate, trainer.training_step = timed_gen, timed_step
    trainer.train()
    steps, gens = times["step"][1:], times["gen"][-len(times["step"][1:]) :]
    update = (sum(steps) - sum(gens)) / len(steps)
    print(
        f"trl {trl.__version__}: {batch} completions per step, step {np.mean(steps):.3f}s, "
        f"of which generation {np.mean(gens):.3f}s"
    )
    return batch / update


def matmul_flops(
    device: str, size: int = 2048, repeats: int = 10, dtype: torch.dtype = torch.float32
) -> float:
    """FLOP/s of a plain ``size x size`` matmul on ``device`` (the machine's practical peak)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b  # warm-up
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device != "cpu":
        torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def update_flops(episodes: list[Episode], n_params: int) -> dict[str, float]:
    """FLOPs of one of our updates (tree packing, reference pass, one epoch) in the two counts of the
    module docstring, and the token counts they rest on."""
    from agents.rlft.update import prepare

    prep = prepare(episodes, packing="tree")
    packed = sum(len(s) for seqs in prep.sequences for s in seqs)  # tokens the policy / reference read
    trained = prep.num_tokens  # generated tokens in the loss
    return {
        "packed_tokens": packed,
        "trained_tokens": trained,
        "all": 6 * n_params * packed + 2 * n_params * packed,
        "strict": 6 * n_params * trained + 2 * n_params * (packed - trained) + 2 * n_params * packed,
    }


def report_utilisation(episodes: list[Episode], n_params: int, update_s: float, args) -> dict[str, float]:
    """Print our update's FLOP/s against the matmul peak (and the GPU's bf16 datasheet peak)."""
    flops = update_flops(episodes, n_params)
    peak = matmul_flops(args.device)
    print(
        f"update work: {flops['packed_tokens']} packed tokens (policy and reference passes), "
        f"{flops['trained_tokens']} trained tokens; 2048x2048 fp32 matmul: {peak / 1e9:.0f} GFLOP/s"
    )
    print(f"ours: {flops['packed_tokens'] / update_s:,.0f} packed tokens/s, "
          f"{flops['trained_tokens'] / update_s:,.0f} trained tokens/s")
    result = {"matmul_flops": peak}
    if args.device != "cpu":
        # a GPU update runs its matrix products in bf16 (autocast): its ceiling is a large bf16 matmul
        peak = matmul_flops(args.device, size=8192, dtype=torch.bfloat16)
        result["matmul_bf16_flops"] = peak
        print(f"8192x8192 bf16 matmul: {peak / 1e12:.0f} TFLOP/s (the measured ceiling below)")
    for count in ("all", "strict"):
        rate = flops[count] / update_s
        result[f"mfu_{count}"] = rate / peak
        line = f"ours, {count:6s} FLOP count: {rate / 1e9:.1f} GFLOP/s = {rate / peak:.1%} of the matmul"
        if args.device != "cpu":
            name = torch.cuda.get_device_name()
            datasheet = next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)
            line += f", {rate / datasheet:.1%} of the bf16 datasheet peak" if datasheet else ""
        print(line)
    return result


def timed(fn, args) -> float:
    fn()  # warm-up
    if args.device != "cpu":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(args.repeats):
        fn()
    if args.device != "cpu":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / args.repeats


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--model",
        default="quick",
        help="folder, hub id, named real model (smollm2-135m-instruct), embedded size (quick, default, gpu)",
    )
    p.add_argument("--random-model", choices=sorted(RANDOM_MODELS), default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--episodes", type=int, default=4)
    p.add_argument("--horizon", type=int, default=50)
    p.add_argument("--arms", type=int, default=10)
    p.add_argument("--completion-tokens", type=int, default=16)
    p.add_argument("--action-only", action="store_true", help="prompts without chain-of-thought")
    p.add_argument("--micro-episodes", type=int, default=1)
    p.add_argument("--micro-turns", type=int, default=16)
    p.add_argument("--trl-batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--skip", nargs="*", default=[], choices=["mask", "unpacked", "naive", "trl"])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    lm, tok = load(args)
    lm.train(False)
    episodes = make_episodes(lm, tok, args)
    steps = sum(len(e) for e in episodes)
    tokens = sum(
        len(p) + len(c) for e in episodes for p, c in zip(e.prompt_ids, e.completion_ids, strict=True)
    )
    n_params = sum(p.numel() for p in lm.parameters())
    print(
        f"model {n_params / 1e6:.1f}M params; {len(episodes)} episodes x {args.horizon} steps = {steps} "
        f"env steps; "
        f"per-turn tokens {tokens} (mean prompt {tokens / steps:.0f})"
    )
    rates = {}
    for mode, label in (("tree", "ours"), ("mask", "ours-mask"), ("none", "ours-unpacked")):
        if label != "ours" and label.removeprefix("ours-") in args.skip:
            continue
        t = bench_ours(lm, episodes, args, packing=mode)
        rates[label] = steps / t
        print(f"{label + ' (' + mode + ')':22s}{t:.3f}s per update, {rates[label]:.1f} env steps/s")
    if "naive" not in args.skip:
        t = bench_naive(lm, episodes, args)
        rates["naive"] = steps / t
        print(f"naive per-turn:     {t:.3f}s per update, {rates['naive']:.1f} env steps/s")
    report_utilisation(episodes, n_params, steps / rates["ours"], args)
    if "trl" not in args.skip:
        rate = bench_trl(lm, tok, episodes, args)
        if rate is not None:
            rates["trl"] = rate
            print(f"trl GRPOTrainer:    {rate:.1f} env steps/s (update only)")
    for other in ("ours-mask", "ours-unpacked", "naive", "trl"):
        if other in rates:
            print(f"speed-up ours / {other}: {rates['ours'] / rates[other]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
