"""The experts and their answers: the paper's template, actions that parse, both modes alike."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from agents.sft.data import collect_expert_episodes
from agents.sft.experts import make_expert, resolve_expert, ucb_rationale_line
from textrl_envs.bandit_text import format_reward
from textrl_envs.extraction import extract_action

BANDIT = {"n_arms": 4, "horizon": 14}


def _cents(x: Fraction) -> Fraction:
    """2 decimals, halves away from zero, on exact fractions (independent of the expert's Decimal code)."""
    sign = -1 if x < 0 else 1
    return sign * Fraction(math.floor(abs(x) * 100 + Fraction(1, 2)), 100)


def test_rationale_line_is_the_papers_template():
    line, ucb = ucb_rationale_line("green", ["1.41", "0.17", "0.67", "-0.1"])
    assert line == (
        "Count for action green = 4, Mean = (1.41 + 0.17 + 0.67 + -0.1) / 4 = 0.54, "
        "UCB = 0.54 + sqrt(1 / 4) = 1.04"
    )
    assert ucb == 1.04
    short, _ = ucb_rationale_line("green", ["1.41", "0.17", "0.67", "-0.1"], style="sum")
    assert short.startswith("Count for action green = 4, Mean = 2.15 / 4 = 0.54,")


def _episodes(mode, env_id="TextBandit-v0", env_kwargs=BANDIT, seeds=(100, 101), **kwargs):
    expert = make_expert(env_id, mode=mode, **kwargs)
    return collect_expert_episodes(env_id, expert, num_envs=3, seeds=list(seeds), env_kwargs=env_kwargs)


def test_thought_cloning_answers_parse_to_the_experts_action_which_is_ucb_on_the_shown_rewards():
    episodes, steps = _episodes("thought")
    assert len(episodes) == 6 and [e.seed for e in episodes] == [100] * 3 + [101] * 3
    names = ["red", "green", "blue", "yellow"]
    for episode in episodes:
        log = steps[(steps["seed"] == episode.seed) & (steps["episode"] == episode.slot)].sort_values("step")
        executed = log["action_index"].tolist()
        parsed = [extract_action(a, names).index for a in episode.answers]
        assert parsed == episode.actions == executed  # every answer names the action the env played
        shown: list[list[Fraction]] = [[] for _ in names]  # rewards as the prompt prints them
        for t, (action, reward) in enumerate(zip(executed, log["env_reward"], strict=True)):
            if t < 4:
                assert action == t and "has not been tried yet" in episode.answers[t]
            else:
                ucb = [_cents(_cents(sum(r) / len(r)) + Fraction(math.sqrt(1 / len(r)))) for r in shown]
                assert action == int(np.argmax(ucb))
                assert episode.answers[t].count("Count for action") == 4
                assert f"Highest UCB: {names[action]} = {float(max(ucb)):.2f}." in episode.answers[t]
            shown[action].append(Fraction(format_reward(reward)))
            # the answer is about the prompt it answers: the history so far is in it
            assert episode.prompts[t].count("\nStep=") == t


def test_behaviour_cloning_answers_are_the_same_actions_alone():
    thought, _ = _episodes("thought")
    behaviour, _ = _episodes("behaviour")
    names = ["red", "green", "blue", "yellow"]
    for a, b in zip(thought, behaviour, strict=True):
        assert a.actions == b.actions
        assert b.answers == [f"ACTION={names[i]}" for i in b.actions]


@pytest.mark.parametrize(
    ("env_id", "env_kwargs", "marker"),
    [
        ("TextContextualBandit-v0", {"n_arms": 4, "horizon": 5, "n_users": 30}, "LinUCB estimate + bonus"),
        ("TextTicTacToe-v0", {}, "Minimax values"),
    ],
)
def test_other_experts_answer_in_both_modes(env_id, env_kwargs, marker):
    for mode in ("thought", "behaviour"):
        episodes, steps = _episodes(mode, env_id, env_kwargs, seeds=(100,))
        assert steps["valid_action"].all() and not steps.get("illegal_move", steps["valid_action"] * 0).any()
        answers = [a for e in episodes for a in e.answers]
        assert all((marker in a) == (mode == "thought") for a in answers)
        assert all(a is not None for e in episodes for a in e.actions)


def test_resolve_expert():
    assert resolve_expert("TextBandit-v0") == "ucb"
    assert resolve_expert("textrl_envs:TextTicTacToe-v0", "minimax") == "minimax"
    with pytest.raises(ValueError, match="expert 'minimax' does not fit TextBandit-v0; its expert is 'ucb'"):
        resolve_expert("TextBandit-v0", "minimax")
    with pytest.raises(ValueError, match="expert must be one of"):
        resolve_expert("TextBandit-v0", "oracle")
    with pytest.raises(ValueError, match="mode must be 'behaviour' or 'thought'"):
        make_expert("TextBandit-v0", mode="both")
