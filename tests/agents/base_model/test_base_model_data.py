from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from agents.base_model.data import encode_episode, history_action_mask, tokenizer_corpus, training_sequences
from agents.base_model.demonstrators import bandit_answer
from agents.base_model.episodes import (
    Episode,
    informative_steps,
    sample_bandit_episode,
    sample_copy_episode,
    sample_episode,
    sample_lookup_document,
    sample_tictactoe_episode,
)
from agents.base_model.tokenizer import number_sheet, train_tokenizer
from agents.rlft.packing import collate
from agents.rlft.value_head import packed_forward
from textrl_envs.bandit_text import arm_names, render_bandit_prompt
from textrl_envs.extraction import extract_action
from textrl_envs.tictactoe_text import render_tictactoe_prompt


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(tokenizer_corpus(0, 200, 0.2), 1024)


def test_tokenizer_round_trip_and_compression(tokenizer) -> None:
    texts = [
        render_bandit_prompt(["red", "green", "blue"], [(0, 0.3), (2, -1.24), (1, 2.0)], cot=True),
        render_bandit_prompt([str(i) for i in range(20)], [(19, 1.0)], variant="continuous",
                             distribution="bernoulli", prompt_style="ucb", context_summary=True),
        render_tictactoe_prompt([1, 0, 2, 0, 0, 0, 0, 0, 0], [("000000000", 0, 0.0)], cot=False),
        "odd text: é, ünïcode ✓ and\ttabs\n\n",
    ]
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
    # frequent pieces are single tokens; a reward is its whole part then its fraction; a board's
    # digits stay single characters (one token per cell)
    for piece in ("Step=", " Action=", " Reward=", "ACTION=", " green", " buttons"):
        assert len(tokenizer(piece, add_special_tokens=False)["input_ids"]) == 1, piece
    ids = tokenizer(" Reward=-1.24 Reward=10.5\nStep=12", add_special_tokens=False)["input_ids"]
    assert [tokenizer.decode([i]) for i in ids] == [
        " Reward=", "-1", ".24", " Reward=", "10", ".5", "\n", "Step=", "12"
    ]
    ids = tokenizer("State=102000000", add_special_tokens=False)["input_ids"]
    assert [tokenizer.decode([i]) for i in ids][-9:] == list("102000000")
    # every reward-style number from -12 to 13 is at most two tokens (whole part, fraction)
    for cents in range(-1200, 1400, 7):
        text = f"{cents / 100:.2f}".rstrip("0").rstrip(".")
        assert len(tokenizer(text, add_special_tokens=False)["input_ids"]) <= 2, text
    assert tokenizer.eos_token == "<|endoftext|>" and tokenizer.bos_token is None


def test_arm_name_is_the_same_token_wherever_the_model_copies_it(tokenizer) -> None:
    # history line, worked means, quoted decision, UCB value line, summary line and the action: one id
    # (a model that had to learn that " green" and "green=" name the same arm wrote one arm in its
    # rationale and another in ACTION=)
    answer = bandit_answer(1, "explore", ["red", "green", "blue"], cot=True, counts=np.array([1, 0, 0]),
                           sums=np.array([0.5, 0, 0]))
    texts = ["Step=0 Action=green Reward=0.3\n", answer, "Means:\nred=0.5\ngreen=0.3\n",
             "<ucb_values>\ngreen=1.5\n", "\ngreen: pressed", "ACTION=green"]
    (green,) = tokenizer("green", add_special_tokens=False)["input_ids"]
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert green in ids, text
    assert answer.count('"green"') == 1 and answer.endswith("ACTION=green")


def test_number_sheet_lists_every_number_once_per_repeat() -> None:
    sheet = number_sheet(-1, 0, repeats=2).split("\n")
    numbers = sheet[0].split(" ")
    # -1.00 .. 0.99: 200 numbers, and the 99 from -0.99 to -0.01 twice (their "-0" piece)
    assert len(sheet) == 2 and len(numbers) == 299
    assert numbers[:3] == ["-1", "-0.99", "-0.99"] and numbers[-2:] == ["0.98", "0.99"]
    assert "0" in numbers and "-0" not in numbers


def test_tokenizer_rejects_tiny_vocab() -> None:
    with pytest.raises(ValueError, match="vocab_size must be >= 300"):
        train_tokenizer(["abc"], 100)


def test_episode_decisions_are_env_prompts_with_parseable_answers() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        episode = sample_bandit_episode(rng, max_decisions=4)
        names = episode.prompts[0].split(" labeled ")[1].split(". Each")[0].split(", ")
        # the decision's step: one past the last history line's (a history window hides early lines)
        steps = [1 + max([-1, *map(int, re.findall(r"^Step=(\d+) ", p, re.M))]) for p in episode.prompts]
        assert steps == sorted(steps) and len(set(steps)) == len(steps)  # distinct decisions, in order
        for prompt, answer in zip(episode.prompts, episode.answers, strict=True):
            assert prompt.startswith("You are a bandit algorithm") and answer.startswith("\n")
            assert extract_action(answer, names).index is not None
    for _ in range(20):
        episode = sample_tictactoe_episode(rng)
        for prompt, answer in zip(episode.prompts, episode.answers, strict=True):
            state = prompt.split("Current state: State=")[1][:9]
            cell = extract_action(answer, [str(i) for i in range(9)]).index
            assert cell is not None and state[cell] == "0"  # the demonstrator always plays a legal move
    with pytest.raises(ValueError, match="as many answers as prompts"):
        Episode(["a"], [], "bandit")


def test_worked_means_equal_the_means_of_the_prompts_history() -> None:
    # an independent reading of each CoT decision: parse the history lines, average per arm, and
    # compare with the NAME=MEAN lines of the answer (same 2-decimal printing as the rewards)
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 60:
        episode = sample_bandit_episode(rng, max_decisions=4)
        for prompt, answer in zip(episode.prompts, episode.answers, strict=True):
            if not answer.startswith("\nMeans:\n") or "Summary" in prompt or "\nStep=0 " not in prompt:
                continue  # action only, no history yet, or a history window hid the first steps
            rewards: dict[str, list[float]] = {}
            for name, reward in re.findall(r"^Step=\d+ Action=(\S+) Reward=(\S+)$", prompt, re.M):
                rewards.setdefault(name, []).append(float(reward))
            # the lines between "Means:" and the decision line
            written = dict(line.split("=") for line in answer.split("\n")[2:-1])
            assert set(written) == set(rewards), answer
            for name, value in written.items():
                assert abs(float(value) - np.mean(rewards[name])) <= 0.005 + 1e-9, (name, value)
            checked += 1


def test_copy_episodes_are_lookups_of_single_rewards() -> None:
    # parsed independently: every decision's prompt is bare history lines with distinct arms; the
    # answer's NAME=VALUE lines are exactly those arms' rewards (copied, not averaged); the last
    # decision exploits the largest, the others explore an arm the prompt has not tried
    rng = np.random.default_rng(11)
    for _ in range(80):
        episode = sample_copy_episode(rng, max_decisions=4)
        assert episode.task == "copy" and 1 <= len(episode.prompts) <= 4
        for i, (prompt, answer) in enumerate(zip(episode.prompts, episode.answers, strict=True)):
            lines = re.findall(r"^Step=(\d+) Action=(\S+) Reward=(\S+)$", prompt, re.M)
            assert len(lines) == len(prompt.split("\n")) >= 1  # history lines only, no instructions
            assert [int(t) for t, _, _ in lines] == list(range(len(lines)))
            rewards = {name: reward for _, name, reward in lines}
            assert len(rewards) == len(lines)  # each arm pulled at most once
            written = dict(line.split("=") for line in answer.split("\n")[2:-1])
            assert written == rewards
            action = answer.rsplit("ACTION=", 1)[1]
            if i == len(episode.prompts) - 1:
                assert "Exploit" in answer and float(rewards[action]) == max(map(float, rewards.values()))
            else:
                assert "Explore" in answer and action not in rewards
    with pytest.raises(ValueError, match="either a copy-curriculum or a warm-up"):
        sample_episode(rng, 0.0, copy=True, warmup=True)


def test_lookup_documents_copy_single_rewards_and_exploit_the_best() -> None:
    # parsed independently: one decision; bare history lines over the 10 labels, every arm at most
    # once; the Means lines are exactly the tried arms' rewards, in label order; the action is the arm
    # with the largest reward (ties: the first label); every history length 1..10 occurs
    rng = np.random.default_rng(5)
    labels = arm_names(10)  # the environment's label order
    lengths = set()
    for _ in range(300):
        doc = sample_lookup_document(rng)
        assert doc.task == "copy" and not doc.history_loss and len(doc.prompts) == 1
        lines = re.findall(r"^Step=(\d+) Action=(\S+) Reward=(\S+)$", doc.prompts[0], re.M)
        assert len(lines) == len(doc.prompts[0].split("\n"))
        assert [int(t) for t, _, _ in lines] == list(range(len(lines)))
        rewards = {name: reward for _, name, reward in lines}
        assert len(rewards) == len(lines) and set(rewards) <= set(labels)
        lengths.add(len(lines))
        body, decision = doc.answers[0].split("\nExploit ")
        assert body.split("\n")[:2] == ["", "Means:"]
        written = [tuple(line.split("=")) for line in body.split("\n")[2:]]
        assert written == [(name, rewards[name]) for name in labels if name in rewards]
        best = max(rewards.values(), key=float)
        first_best = next(name for name in labels if name in rewards and float(rewards[name]) == float(best))
        assert decision.endswith(f"ACTION={first_best}")
    assert lengths == set(range(1, 11))
    with pytest.raises(ValueError, match="copy_documents must be one of"):
        sample_episode(rng, 0.0, copy=True, copy_documents="pages")


def test_full_prompt_lookups_show_the_same_history_in_the_paper_prompt() -> None:
    # the same seed gives the same history and answer; with full_prompt_share=1 the prompt is the
    # environment's default prompt of that history (rebuilt here from the bare lines); share 0 keeps
    # the bare documents' stream (the next draw after a document is the same)
    labels = arm_names(10)
    for seed in range(40):
        bare_rng, full_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        bare = sample_lookup_document(bare_rng)
        full = sample_lookup_document(full_rng, full_prompt_share=1.0)
        assert full.answers == bare.answers and not full.history_loss
        lines = re.findall(r"^Step=\d+ Action=(\S+) Reward=(\S+)$", bare.prompts[0], re.M)
        history = [(labels.index(name), float(reward)) for name, reward in lines]
        assert full.prompts[0] == render_bandit_prompt(labels, history, cot=True)
        assert full.prompts[0].startswith("You are") and "ACTION=X" in full.prompts[0]
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    sample_lookup_document(rng_a)
    sample_lookup_document(rng_b, full_prompt_share=0.0)
    assert rng_a.random() == rng_b.random()


def test_repeat_lookups_average_and_their_pull_counts_do_not_tell_the_best() -> None:
    # parsed by hand: each tried arm 1..3 pulls; the Means lines are the averages of its printed
    # rewards (2 decimals, as the environment prints); the action is the first best mean; the most
    # pulled arm (when unique) is the best in about the share independence gives, far from always
    labels = arm_names(10)
    rng = np.random.default_rng(8)
    pull_counts, unique_most, most_is_best = set(), 0, 0
    for _ in range(400):
        doc = sample_lookup_document(rng, max_pulls=3)
        lines = re.findall(r"^Step=\d+ Action=(\S+) Reward=(\S+)$", doc.prompts[0], re.M)
        rewards: dict[str, list[float]] = {}
        for name, reward in lines:
            rewards.setdefault(name, []).append(float(reward))
        pull_counts |= {len(r) for r in rewards.values()}
        means = {name: float(f"{sum(r) / len(r):.2f}") for name, r in rewards.items()}
        body, decision = doc.answers[0].split("\nExploit ")
        written = {name: float(v) for name, v in (line.split("=") for line in body.split("\n")[2:])}
        assert written == pytest.approx(means, abs=0.0051)  # the rounding of the printed mean
        best = max(sum(r) / len(r) for r in rewards.values())
        first_best = next(n for n in labels if n in rewards and sum(rewards[n]) / len(rewards[n]) == best)
        assert decision.endswith(f"ACTION={first_best}")
        counts = {name: len(r) for name, r in rewards.items()}
        top = [n for n, c in counts.items() if c == max(counts.values())]
        if len(top) == 1 and len(counts) >= 3:
            unique_most += 1
            most_is_best += top[0] == first_best
    assert pull_counts == {1, 2, 3}
    assert unique_most > 50 and most_is_best / unique_most < 0.5
    with pytest.raises(ValueError, match="max_pulls must be an int >= 1"):
        sample_lookup_document(rng, max_pulls=0)


def test_lookup_share_mixes_lookup_documents_into_the_later_phases() -> None:
    # 600 draws at share 0.3: the lookup count is Binomial(600, 0.3), mean 180, sd 11.2; +-5 sd.
    # Half of the lookups in the full prompt: Binomial(n, 0.5) within +-5 sd.
    rng = np.random.default_rng(2)
    docs = [sample_episode(rng, 0.25, 4, lookup_share=0.3, lookup_full_prompt_share=0.5) for _ in range(600)]
    lookups = [d for d in docs if d.task == "copy"]
    assert abs(len(lookups) - 180) < 5 * 11.2
    full = sum(d.prompts[0].startswith("You are") for d in lookups)
    assert abs(full - len(lookups) / 2) < 5 * (len(lookups) * 0.25) ** 0.5
    assert {d.task for d in docs} == {"copy", "bandit", "tictactoe"}
    # the warm-up phase too; share 0 draws none
    assert any(sample_episode(rng, 0.0, warmup=True, lookup_share=0.5).task == "copy" for _ in range(30))
    assert all(sample_episode(rng, 0.0, warmup=True).task == "bandit" for _ in range(30))
    # the copy phase's lookups stay bare history lines whatever the later phases' full-prompt share
    assert all(sample_episode(rng, 0.0, copy=True, copy_documents="lookups", lookup_full_prompt_share=1.0)
               .prompts[0].startswith("Step=0 Action=") for _ in range(30))
    with pytest.raises(ValueError, match="lookup_share must be in"):
        sample_episode(rng, 0.0, lookup_share=1.5)
    from agents.base_model.config import BaseModelConfig

    with pytest.raises(ValueError, match="lookup_full_prompt_share must be a number in"):
        BaseModelConfig(lookup_full_prompt_share=-0.1)


def test_the_levers_defaults_draw_the_data_of_earlier_versions() -> None:
    # sha256 of 400 documents (main, warm-up, lookup, copy) computed with the code before the
    # informative / stickiness / summary / means-format levers existed (commit 8242ae4): at their
    # defaults the levers must not change one character or one draw of the stream
    import hashlib
    import json

    documents = []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        for options in ({"warmup": False}, {"warmup": True}, {"copy": True, "copy_documents": "lookups"},
                        {"copy": True}):
            episode = sample_episode(rng, 0.25, 16, **options)
            documents.append((episode.prompts, episode.answers))
    digest = hashlib.sha256(json.dumps(documents).encode()).hexdigest()
    assert digest == "8667494de1860abc93c1828bb92d915c457755d1b81acb12d07053e561503623"


def test_informative_steps_by_hand() -> None:
    # green (1 pull, mean 0.9) beats red (3 pulls, mean 0.5): exploiting green is informative; the
    # same arm exploited where it is also the most pulled is not, nor is an explore or a "stay"
    c, s = np.array([3, 1, 0]), np.array([1.5, 0.9, 0.0])
    states = [
        (c, s, 1, "greedy"),  # best mean, not the most pulled
        (np.array([1, 3, 0]), np.array([0.5, 2.7, 0.0]), 1, "greedy"),  # best and most pulled
        (c, s, 2, "explore"),
        (c, s, 0, "stay"),
        (np.array([1, 1, 0]), np.array([0.2, 0.9, 0.0]), 1, "greedy"),  # tie on pulls: the better mean
    ]
    assert informative_steps(states) == [0]


def _exploits_off_the_most_pulled_arm(episode: Episode) -> tuple[int, int]:
    """(exploit decisions, those whose arm is not the most pulled) of a CoT episode, read from its prompts."""
    exploits = off = 0
    for prompt, answer in zip(episode.prompts, episode.answers, strict=True):
        if "\nExploit " not in answer or "\nStep=0 " not in prompt:
            continue
        counts: dict[str, int] = {}
        for name in re.findall(r"^Step=\d+ Action=(\S+) Reward=", prompt, re.M):
            counts[name] = counts.get(name, 0) + 1
        arm = answer.rsplit("ACTION=", 1)[1]
        exploits += 1
        off += counts[arm] < max(counts.values())
    return exploits, off


def test_informative_share_trains_the_steps_where_the_most_pulled_arm_is_wrong() -> None:
    # read back from the prompts: the share of exploit decisions whose arm is not the most pulled one
    # rises from about 0.1 (uniform decisions, measured 0.11-0.16) to about 0.5 (share 0.5, measured
    # 0.49); the bounds 0.25 / 0.38 are several binomial sd (n > 400) from both
    def off_share(**levers: float) -> tuple[float, int, int]:
        rng = np.random.default_rng(5)
        exploits = off = decisions = stays = 0
        for _ in range(150):
            episode = sample_bandit_episode(rng, 16, **levers)
            e, o = _exploits_off_the_most_pulled_arm(episode)
            exploits, off, decisions = exploits + e, off + o, decisions + len(episode.prompts)
            stays += sum("Stay with" in a for a in episode.answers)
        assert exploits > 400
        return off / exploits, decisions, stays

    uniform, uniform_decisions, uniform_stays = off_share()
    focused, focused_decisions, focused_stays = off_share(informative_share=0.5, max_stickiness=0.0)
    assert uniform < 0.25 and focused > 0.38
    assert focused_decisions < 0.7 * uniform_decisions  # fewer agreeing exploits: fewer decisions
    # no stickiness: a "stay" only on an exact tie of rounded means (rare), against ~5 % of answers
    assert uniform_stays > 0.03 * uniform_decisions and focused_stays < 0.01 * focused_decisions
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="informative_share must be in"):
        sample_bandit_episode(rng, informative_share=1.5)
    with pytest.raises(ValueError, match="max_stickiness must be >= 0"):
        sample_bandit_episode(rng, max_stickiness=-0.1)
    from agents.base_model.config import BaseModelConfig

    with pytest.raises(ValueError, match="informative_decision_share must be a number in"):
        BaseModelConfig(informative_decision_share=2)
    with pytest.raises(ValueError, match="max_stickiness must be a number >= 0"):
        BaseModelConfig(max_stickiness=-1.0)


def test_summary_share_sets_how_often_default_prompts_carry_the_context_summary() -> None:
    # default-prompt decisions (the UCB prompt keeps its own 50 %): none at share 0, all at share 1,
    # and at 0.5 a share within 5 binomial sd of 0.5; warm-up episodes never carry one
    def summary_share_of(**levers: float) -> tuple[float, int]:
        rng = np.random.default_rng(11)
        with_summary = default = 0
        for _ in range(120):
            for prompt in sample_bandit_episode(rng, 8, **levers).prompts:
                if "<ucb_values>" in prompt or "UCB" in prompt:
                    continue
                default += 1
                with_summary += "Summary (all steps so far):" in prompt
        return with_summary / default, default

    assert summary_share_of(summary_share=0.0)[0] == 0.0
    assert summary_share_of(summary_share=1.0)[0] == 1.0
    half, n = summary_share_of(summary_share=0.5)
    assert abs(half - 0.5) < 5 * (0.25 / n) ** 0.5
    rng = np.random.default_rng(0)
    assert not any("Summary" in p for _ in range(20)
                   for p in sample_bandit_episode(rng, 4, warmup=True, summary_share=1.0).prompts)
    with pytest.raises(ValueError, match="summary_share must be in"):
        sample_bandit_episode(rng, summary_share=-0.5)


def test_running_max_means_carry_the_best_arm_so_far() -> None:
    from agents.base_model.demonstrators import means_block

    names = ["red", "green", "blue", "yellow"]
    counts, sums = np.array([1, 2, 0, 1]), np.array([0.54, 1.0, 0.0, 0.79])  # green 0.5
    assert means_block(names, counts, sums, means_format="running_max") == (
        'Means:\nred=0.54 best "red"=0.54\ngreen=0.5 best "red"=0.54\nyellow=0.79 best "yellow"=0.79'
    )
    # a tie keeps the first in label order, as greedy_arm does
    tie = means_block(names, np.array([1, 1, 0, 0]), np.array([0.3, 0.3, 0.0, 0.0]),
                      means_format="running_max")
    assert tie.endswith('green=0.3 best "red"=0.3')
    assert means_block(names, counts, sums) == "Means:\nred=0.54\ngreen=0.5\nyellow=0.79"
    with pytest.raises(ValueError, match="means_format must be one of"):
        means_block(names, counts, sums, means_format="sorted")
    # the later phases write it (episodes and lookups), the copy curriculum keeps the list
    rng = np.random.default_rng(4)
    later = [sample_episode(rng, 0.0, 4, means_format="running_max", lookup_share=0.5) for _ in range(40)]
    worked = [a for e in later for a in e.answers if a.startswith("\nMeans:\n")]
    assert worked and all(" best " in a for a in worked)
    assert {e.task for e in later} == {"bandit", "copy"}
    copy = sample_episode(rng, 0.0, copy=True, copy_documents="lookups", means_format="running_max")
    assert " best " not in copy.answers[0]
    for documents in ("lookups", "episodes"):  # copy_means_format is the copy curriculum's own
        copy = sample_episode(rng, 0.0, copy=True, copy_documents=documents, copy_means_format="running_max")
        assert all(" best " in a for a in copy.answers)
    from agents.base_model.config import BaseModelConfig

    with pytest.raises(ValueError, match="means_format must be one of"):
        BaseModelConfig(means_format="table")
    with pytest.raises(ValueError, match="copy_means_format must be one of"):
        BaseModelConfig(copy_means_format="table")


def test_lookup_documents_train_no_history_actions(tokenizer) -> None:
    # the copy phase made of lookups: one branch per document, only answer tokens are targets
    seqs = training_sequences(tokenizer, seed=3, step=0, token_budget=1500, tictactoe_fraction=0.3,
                              copy=True, copy_documents="lookups")
    assert sum(len(s) for s in seqs) >= 1500
    for seq in seqs:
        assert seq.turns == [0] and (seq.target_turn == 0).all()
        trunk = tokenizer.decode(seq.input_ids[: int((seq.segment == -1).sum())].tolist())
        assert trunk.startswith("Step=0 Action=")
    # the same document with history_loss=True would also train the later history lines' action names
    rng = np.random.default_rng(0)
    doc = next(d for d in iter(lambda: sample_lookup_document(rng), None) if d.prompts[0].count("\n") >= 2)
    with_history = Episode(doc.prompts, doc.answers, "copy", history_loss=True)
    assert (encode_episode(tokenizer, with_history).target_turn == -1).sum() > 0
    assert (encode_episode(tokenizer, doc).target_turn == -1).sum() == 0


def test_pretraining_phases_follow_the_config() -> None:
    # copy_steps first, then reading_warmup_steps, then the full mixture
    from agents.base_model.config import BaseModelConfig

    cfg = BaseModelConfig(steps=7, copy_steps=2, reading_warmup_steps=3)
    assert [cfg.phase(s) for s in range(7)] == ["copy"] * 2 + ["warmup"] * 3 + ["main"] * 2
    assert [BaseModelConfig(steps=3, reading_warmup_steps=1).phase(s) for s in range(3)] == [
        "warmup", "main", "main"]
    with pytest.raises(ValueError, match="copy_steps must be an int >= 0"):
        BaseModelConfig(copy_steps=-1)


def test_history_action_mask_by_hand(tokenizer) -> None:
    prompt = render_bandit_prompt(["red", "green", "blue"], [(0, 0.3), (2, -1.24)], cot=False)
    ids, mask = history_action_mask(tokenizer, prompt)
    assert ids == tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert "".join(tokenizer.decode([i]) for i, m in zip(ids, mask, strict=True) if m) == "redblue"


def test_encoded_episode_targets_are_answers_then_history_actions(tokenizer) -> None:
    names = ["red", "green", "blue"]
    history = [(0, 0.3), (2, -1.24), (2, 0.5)]
    prompts = [render_bandit_prompt(names, history[:t], cot=False) for t in (1, 3)]
    episode = Episode(prompts, ["\nACTION=blue", "\nACTION=green"], "bandit")
    seq = encode_episode(tokenizer, episode)
    text = "".join(tokenizer.decode([i]) for i in seq.target_ids.tolist())
    # both answers with EOS, then the trunk's (= the longer prompt's) three history actions
    assert text == "\nACTION=blue<|endoftext|>\nACTION=green<|endoftext|>redblueblue"
    assert seq.target_turn.tolist().count(-1) == 3
    # each target is predicted by the token just before it in its own sequence
    trunk = seq.input_ids[: int((seq.segment == -1).sum())]
    for target, predictor, turn in zip(seq.target_ids, seq.predictor_index, seq.target_turn, strict=True):
        if turn == -1:
            assert trunk[predictor + 1] == target


def test_packed_episode_equals_separate_documents(tokenizer) -> None:
    # the log-probs of every answer token in the packed episode equal those of prompt + answer run
    # alone through the model (an independent computation: plain causal attention, no packing)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048)
    model = LlamaForCausalLM(cfg).eval()
    episode = sample_bandit_episode(np.random.default_rng(3), max_decisions=4)
    seq = encode_episode(tokenizer, episode)
    with torch.no_grad():
        packed, _, _ = packed_forward(model, collate([seq], pad_id=tokenizer.pad_token_id))
        expected = []
        for prompt, answer in zip(episode.prompts, episode.answers, strict=True):
            p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            a = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            logits = model(input_ids=torch.tensor([p + a]), use_cache=False).logits[0]
            logp = torch.log_softmax(logits[len(p) - 1 : -1], -1)
            expected.append(logp.gather(-1, torch.tensor(a)[:, None]).squeeze(-1))
    n_answer = int((seq.target_turn >= 0).sum())
    torch.testing.assert_close(packed[:n_answer], torch.cat(expected), rtol=1e-4, atol=1e-5)


def test_training_sequences_are_a_function_of_seed_and_step(tokenizer) -> None:
    kw = {"token_budget": 3000, "tictactoe_fraction": 0.3}
    a = training_sequences(tokenizer, seed=1, step=3, **kw)
    b = training_sequences(tokenizer, seed=1, step=3, **kw)
    c = training_sequences(tokenizer, seed=1, step=4, **kw)
    assert [s.input_ids.tolist() for s in a] == [s.input_ids.tolist() for s in b]
    assert [s.input_ids.tolist() for s in a] != [s.input_ids.tolist() for s in c]
    assert sum(len(s) for s in a) >= 3000 and sum(len(s) for s in a[:-1]) < 3000


def test_mixture_shares() -> None:
    rng = np.random.default_rng(5)
    episodes = [sample_episode(rng, 0.2, max_decisions=3) for _ in range(600)]
    share_ttt = sum(e.task == "tictactoe" for e in episodes) / 600
    assert abs(share_ttt - 0.2) < 0.05  # binomial sd 1.6 %
    decisions = [(p, a) for e in episodes if e.task == "bandit"
                 for p, a in zip(e.prompts, e.answers, strict=True)]
    ucb = [(p, a) for p, a in decisions if "<ucb_values>" in a]
    assert abs(len(ucb) / len(decisions) - 0.12) < 0.03  # ~1300 decisions: sd 0.9 %
    default = [(p, a) for p, a in decisions if "<ucb_values>" not in a]
    share_cot = sum("Think step-by-step" in p for p, _ in default) / len(default)
    assert abs(share_cot - 0.65) < 0.05
    # CoT answers work out the means first; action-only answers are the action alone
    assert all(a.startswith("\nMeans:") for p, a in default if "Think step-by-step" in p)
    assert all(a.startswith("\nACTION=") for p, a in default if "Think step-by-step" not in p)
    # the knowing-doing probe shows the per-arm summary; half of the UCB prompts do (sd ~4 %)
    assert abs(sum("Summary (all steps so far)" in p for p, _ in ucb) / len(ucb) - 0.5) < 0.15


def test_copy_phase_sequences_pack_bare_histories(tokenizer) -> None:
    # the copy phase's step data: packed copy episodes whose trunk holds no instructions
    seqs = training_sequences(tokenizer, seed=2, step=0, token_budget=1500, tictactoe_fraction=0.3, copy=True)
    assert sum(len(s) for s in seqs) >= 1500
    for seq in seqs:
        trunk = tokenizer.decode(seq.input_ids[: int((seq.segment == -1).sum())].tolist())
        assert trunk.startswith("Step=0 Action=") and "buttons" not in trunk
        assert (seq.target_turn >= 0).any()  # answers are trained
