"""Teacher-forced copy accuracy: does a model look up an arm's reward by the arm's name?

    python scripts/copy_accuracy.py --model runs/base-model            # bare and full prompts
    python scripts/copy_accuracy.py --model runs/base-model --n 100 --prompts full

The finest-grained reading test of the embedded base model (issue 12). Each prompt's history pulls
k = 3, 4 or 5 random arms of 10 once each (means ~ U(0, 1), Gaussian rewards, sigma 1, printed with 2
decimals), so the worked answer ``Means:\\nred=-1.24\\n...`` (tried arms in label order) is a pure
lookup: each value is the one reward printed after that arm's name. The answer is fed to the model
(teacher forcing) and, at every token of every value, the model's most likely next token is compared
with the truth:

- ``whole value``: every token of the value right (the number was copied).
- ``first token``: the value's first token (with the embedded tokenizer the whole part, ``-1``, of
  ``-1.24``). Few whole parts are common here (0, -0, 1, -1), so a model that ignores the history
  still scores 35-45% by always writing the likeliest: compare with ``always-the-commonest``.
- ``later tokens``: the rest (``.24``): about 100 equally likely values, chance ~1%.

``bare`` prompts are the history lines alone (the copy curriculum's documents); ``full`` prompts are
the environment's (the paper's instructions, chain-of-thought). A model that reads scores near 100%
on the whole value; a reward-blind one about 1%.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VALUE = re.compile(r"^[A-Za-z0-9_]+=(\S+)$", re.MULTILINE)


def copy_accuracy(model, tokenizer, *, prompts: str, n: int, seed: int = 0, ks=(3, 4, 5)) -> dict:
    """Per-k teacher-forced accuracies on ``n`` prompts: ``value`` (every token of the value right),
    ``first`` (its first token), ``first_majority`` (always predicting the commonest first token),
    ``rest`` (its later tokens), and the number of ``values``."""
    import numpy as np
    import torch

    from agents.base_model.demonstrators import means_block
    from textrl_envs.bandit_text import arm_names, format_reward, history_line, render_bandit_prompt

    names = arm_names(10)
    rng = np.random.default_rng([seed, 12])
    scores = {}
    for k in ks:
        firsts, rests, values, truth_firsts = [], [], [], []
        for _ in range(n):
            means = rng.uniform(0.0, 1.0, 10)
            tried = [int(a) for a in rng.permutation(10)[:k]]
            history = [(a, float(np.round(rng.normal(means[a], 1.0), 2))) for a in tried]
            if prompts == "bare":
                lines = [history_line(t, names[a], r, "gaussian") for t, (a, r) in enumerate(history)]
                prompt = "\n".join(lines)
            else:
                prompt = render_bandit_prompt(names, history, cot=True)
            counts, sums = np.zeros(10), np.zeros(10)
            for a, r in history:
                counts[a] += 1
                sums[a] += float(format_reward(r))
            answer = "\n" + means_block(names, counts, sums)
            prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            enc = tokenizer(answer, add_special_tokens=False, return_offsets_mapping=True)
            with torch.no_grad():
                logits = model(torch.tensor([prompt_ids + enc["input_ids"]])).logits[0]
            predicted = logits[len(prompt_ids) - 1:-1].argmax(-1).tolist()
            # each value's character span: from after "name=" to the end of its line
            spans = [(m.start(1), m.end(1)) for m in VALUE.finditer(answer)]
            per_value: list[list[tuple[bool, int]]] = [[] for _ in spans]
            pieces = zip(enc["input_ids"], enc["offset_mapping"], strict=True)
            for j, (token, (start, end)) in enumerate(pieces):
                for v, (lo, hi) in enumerate(spans):
                    # a token that starts before the value (a merged "=0") counts with it
                    if start < hi and end > lo:
                        per_value[v].append((predicted[j] == token, token))
            for tokens in per_value:
                firsts.append(tokens[0][0])
                truth_firsts.append(tokens[0][1])
                rests.extend(ok for ok, _ in tokens[1:])
                values.append(all(ok for ok, _ in tokens))
        majority = Counter(truth_firsts).most_common(1)[0][1] / len(truth_firsts)
        scores[k] = {"first": float(np.mean(firsts)), "first_majority": majority,
                     "rest": float(np.mean(rests)) if rests else float("nan"),
                     "value": float(np.mean(values)), "values": len(values)}
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped default)")
    parser.add_argument("--n", type=int, default=60, help="prompts per k (default 60)")
    parser.add_argument("--prompts", choices=["bare", "full", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the scores here as JSON")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be >= 1, got {args.n}")

    import torch

    from agents.base_model import ensure_base_model
    from agents.llm import LLMPolicy

    torch.set_num_threads(2)
    policy = LLMPolicy.from_pretrained(args.model or str(ensure_base_model("default")), max_new_tokens=8)
    policy.model.eval()
    result = {}
    for kind in (["bare", "full"] if args.prompts == "both" else [args.prompts]):
        result[kind] = copy_accuracy(policy.model, policy.tokenizer, prompts=kind, n=args.n, seed=args.seed)
        for k, s in result[kind].items():
            print(f"{kind:4s} k={k}: whole value {s['value']:.1%}  first token {s['first']:.1%} "
                  f"(always-the-commonest {s['first_majority']:.1%})  later tokens {s['rest']:.1%}  "
                  f"({s['values']} values)")
    if args.out:
        Path(args.out).write_text(json.dumps({"model": args.model, "n": args.n, "seed": args.seed,
                                              "scores": result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
