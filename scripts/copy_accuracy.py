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
- ``choice``: after the true means, the decision line ``Exploit "`` is fed too, and the model's next
  token must be the best-mean arm's name: the comparison step. Chance is 1 / k.

``--rules`` asks which rule that choice follows, on histories where 4 arms were pulled 1-3 times
each and the rules name four different arms: the best mean, the largest single reward, the most
pulled arm, the last pulled arm (chance: a quarter each). A model with the frequency bias names the
most pulled.

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


def copy_accuracy(
    model, tokenizer, *, prompts: str, n: int, seed: int = 0, ks=(3, 4, 5), order: str = "random"
) -> dict:
    """Per-k teacher-forced accuracies on ``n`` prompts: ``value`` (every token of the value right),
    ``first`` (its first token), ``first_majority`` (always predicting the commonest first token),
    ``rest`` (its later tokens), ``choice`` (the best-mean arm's name after ``Exploit "``), the
    number of ``values``, and ``top_choice`` / ``top_choice_share``: the name the model predicts
    there most often, and in what share of the prompts. ``order="label"`` explores the first k
    labels in label order (red, green, ...), as the environment's greedy decoders do; ``"random"``
    k random arms in a random order."""
    if order not in ("random", "label"):
        raise ValueError(f"order must be 'random' or 'label', got {order!r}")
    import numpy as np
    import torch

    from agents.base_model.demonstrators import greedy_arm, means_block
    from analysis.probes._common import history_stats
    from textrl_envs.bandit_text import arm_names, format_reward, history_line, render_bandit_prompt

    names = arm_names(10)
    rng = np.random.default_rng([seed, 12])
    scores = {}
    for k in ks:
        firsts, rests, values, truth_firsts, choices, chosen = [], [], [], [], [], Counter()
        for _ in range(n):
            means = rng.uniform(0.0, 1.0, 10)
            tried = [int(a) for a in rng.permutation(10)[:k]]
            if order == "label":  # the permutation is still drawn: the stream stays aligned with "random"
                tried = list(range(k))
            history = [(a, float(np.round(rng.normal(means[a], 1.0), 2))) for a in tried]
            if prompts == "bare":
                lines = [history_line(t, names[a], r, "gaussian") for t, (a, r) in enumerate(history)]
                prompt = "\n".join(lines)
            else:
                prompt = render_bandit_prompt(names, history, cot=True)
            counts, sums = history_stats([(a, float(format_reward(r))) for a, r in history], 10)
            best = names[greedy_arm(counts, sums)]
            answer = "\n" + means_block(names, counts, sums) + f'\nExploit "{best}": highest mean.'
            name_start = answer.rindex(f'"{best}"') + 1
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
            name_tokens = [predicted[j] == token for j, (token, (start, end)) in
                           enumerate(zip(enc["input_ids"], enc["offset_mapping"], strict=True))
                           if start < name_start + len(best) and end > name_start]
            choices.append(all(name_tokens))
            chosen[tokenizer.decode([predicted[enc.char_to_token(name_start)]])] += 1
            for tokens in per_value:
                firsts.append(tokens[0][0])
                truth_firsts.append(tokens[0][1])
                rests.extend(ok for ok, _ in tokens[1:])
                values.append(all(ok for ok, _ in tokens))
        majority = Counter(truth_firsts).most_common(1)[0][1] / len(truth_firsts)
        scores[k] = {"first": float(np.mean(firsts)), "first_majority": majority,
                     "rest": float(np.mean(rests)) if rests else float("nan"),
                     "value": float(np.mean(values)), "choice": float(np.mean(choices)),
                     "values": len(values), "top_choice": chosen.most_common(1)[0][0],
                     "top_choice_share": chosen.most_common(1)[0][1] / n}
    return scores


RULES = ("best_mean", "max_single", "most_pulled", "last")


def choice_rules(model, tokenizer, *, prompts: str, n: int, seed: int = 0, k: int = 4) -> dict[str, int]:
    """How often the teacher-forced ``Exploit "`` choice names the arm of each rule of :data:`RULES`.

    ``n`` histories of ``k`` random arms of 10, each pulled 1-3 times in a shuffled order (rewards
    N(0, 1), 2 decimals), kept only when the four rules name four different arms; the prompt is the
    history lines (``bare``) or the environment's chain-of-thought prompt (``full``); the answer fed is
    the true ``Means:`` block then ``Exploit "``. Returns ``{rule: hits}`` (and ``"prompts": n``); a
    hit is the model's next token being the first token of the rule's arm name there.
    """
    import numpy as np
    import torch

    from agents.base_model.demonstrators import greedy_arm, means_block
    from analysis.probes._common import history_stats
    from textrl_envs.bandit_text import arm_names, format_reward, history_line, render_bandit_prompt

    names = arm_names(10)
    rng = np.random.default_rng([seed, 13])
    hits = dict.fromkeys(RULES, 0)
    done = 0
    while done < n:
        tried = [int(a) for a in rng.permutation(10)[:k]]
        pulls = [a for a in tried for _ in range(int(rng.integers(1, 4)))]
        pulls = [pulls[i] for i in rng.permutation(len(pulls))]
        history = [(a, float(np.round(rng.normal(0.0, 1.0), 2))) for a in pulls]
        counts, sums = history_stats([(a, float(format_reward(r))) for a, r in history], 10)
        most = np.flatnonzero(counts == counts.max())
        arms = {"best_mean": greedy_arm(counts, sums), "max_single": max(history, key=lambda h: h[1])[0],
                "most_pulled": int(most[0]), "last": history[-1][0]}
        if len(most) > 1 or len(set(arms.values())) < len(RULES):
            continue  # only histories where every rule names its own arm
        done += 1
        if prompts == "bare":
            prompt = "\n".join(history_line(t, names[a], r, "gaussian") for t, (a, r) in enumerate(history))
        else:
            prompt = render_bandit_prompt(names, history, cot=True)
        prefix = "\n" + means_block(names, counts, sums) + '\nExploit "'
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        prefix_ids = tokenizer(prefix, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            predicted = int(model(torch.tensor([prompt_ids + prefix_ids])).logits[0, -1].argmax())
        for rule, arm in arms.items():
            ids = tokenizer(prefix + names[arm], add_special_tokens=False)["input_ids"]
            if ids[:len(prefix_ids)] != prefix_ids:  # the next-token question would not be the same
                raise ValueError(f"this tokenizer merges 'Exploit \"' with the name {names[arm]!r}; "
                                 "choice_rules needs the quote and the name as separate tokens")
            hits[rule] += predicted == ids[len(prefix_ids)]
    return {**hits, "prompts": n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped default)")
    parser.add_argument("--n", type=int, default=60, help="prompts per k (default 60)")
    parser.add_argument("--prompts", choices=["bare", "full", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--order", choices=["random", "label"], default="random",
                        help="explore k random arms (default) or the first k labels in label order")
    parser.add_argument("--rules", action="store_true",
                        help="also: which rule the choice follows on multi-pull histories (60 prompts)")
    parser.add_argument("--out", default=None, help="write the scores here as JSON")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be >= 1, got {args.n}")

    import torch

    from agents.base_model import ensure_base_model
    from agents.llm import LLMPolicy

    torch.set_num_threads(2)
    folder = args.model or str(ensure_base_model("default"))
    info = Path(folder) / "pretrain_info.json"
    config = json.loads(info.read_text()).get("config", {}) if info.is_file() else {}
    means_format = config.get("means_format", "list")
    if means_format != "list":
        parser.error(f"{folder} writes its means as means_format={means_format!r}; these teacher-forced "
                     "scores feed the plain NAME=MEAN list it was not trained to continue (use "
                     "scripts/base_model_criteria.py for it)")
    policy = LLMPolicy.from_pretrained(folder, max_new_tokens=8)
    policy.model.eval()
    result = {}
    for kind in (["bare", "full"] if args.prompts == "both" else [args.prompts]):
        result[kind] = copy_accuracy(policy.model, policy.tokenizer, prompts=kind, n=args.n, seed=args.seed,
                                     order=args.order)
        for k, s in result[kind].items():
            print(f"{kind:4s} k={k}: whole value {s['value']:.1%}  first token {s['first']:.1%} "
                  f"(always-the-commonest {s['first_majority']:.1%})  later tokens {s['rest']:.1%}  "
                  f"({s['values']} values)  choice {s['choice']:.1%} (chance {1 / k:.1%}; names "
                  f"{s['top_choice']!r} in {s['top_choice_share']:.0%})")
    rules = {}
    rule_kinds = ["bare", "full"] if args.prompts == "both" else [args.prompts]
    for kind in rule_kinds if args.rules else []:
        rules[kind] = choice_rules(policy.model, policy.tokenizer, prompts=kind, n=60, seed=args.seed)
        print(f"{kind:4s} rules (k=4, multi-pull, of 60; chance 15 each): " + "  ".join(
            f"{rule} {rules[kind][rule]}" for rule in RULES))
    if args.out:
        Path(args.out).write_text(json.dumps({"model": args.model, "n": args.n, "seed": args.seed,
                                              "order": args.order, "scores": result, "rules": rules},
                                             indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
