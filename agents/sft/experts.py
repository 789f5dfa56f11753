"""The experts whose rollouts expert SFT imitates, and their answers in both modes.

SPEC ("Expert data"): supervised fine-tuning on UCB rollouts, actions only (*behaviour cloning*) or
with rationales (*thought cloning*), rationale template::

    Count for action green = 4, Mean = (1.41 + 0.17 + 0.67 + -0.1) / 4 = 0.54, UCB = 0.54 + sqrt(1 / 4) = 1.04
    ...
    ACTION=red

===========================  ===================  ====================================================
environment                  expert               thought-cloning answer
===========================  ===================  ====================================================
``TextBandit-v0``            :class:`UCBExpert`   the template above, one line per arm, then the pick
``TextContextualBandit-v0``  LinUCB (alpha 0.5)   each arm's estimate + bonus, then the pick
``TextTicTacToe-v0``         minimax              every legal move's game value, then the pick
===========================  ===================  ====================================================

A behaviour-cloning answer is the same expert's action alone (``ACTION=X``), so both modes imitate
the same decisions.

:class:`UCBExpert` reasons only from what the prompt shows: each reward exactly as the history
prints it (``bandit_text.format_reward``), the mean and the UCB ``mean + sqrt(1 / n)`` rounded to
the 2 decimals it writes (halves away from zero), and the arm with the highest *written* UCB (ties:
the first arm listed). A model that copies the numbers from its prompt and does the arithmetic can
therefore reproduce every step of the rationale and its action. Untried arms come first, in index
order, with the try-all rationale ("Action X has not been tried yet, let's explore it.").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from agents.baselines.bandit import BanditAgent, detect_distribution
from agents.baselines.common import action_text, require_key
from agents.mechanisms.wrappers import TRY_ALL_RATIONALE
from agents.protocol import Info, TextAgent
from textrl_envs.bandit_text import format_reward

EXPERTS = ("auto", "ucb", "linucb", "minimax")
RATIONALE_REWARDS = ("list", "sum")
_EXPERT_FOR_ENV = {"TextBandit-v0": "ucb", "TextContextualBandit-v0": "linucb", "TextTicTacToe-v0": "minimax"}


def ucb_rationale_line(name: str, rewards: Sequence[str], *, style: str = "list") -> tuple[str, float]:
    """One arm's rationale line and the UCB it writes (rounded to 2 decimals).

    ``rewards`` are the arm's rewards as the history prints them. ``style="list"`` is the paper's
    template ("Mean = (1.41 + 0.17) / 2 = 0.79"); ``"sum"`` writes their sum ("Mean = 1.58 / 2 = 0.79").

    Example: ``ucb_rationale_line("green", ["1.41", "0.17", "0.67", "-0.1"])`` gives
    ``("Count for action green = 4, Mean = (1.41 + 0.17 + 0.67 + -0.1) / 4 = 0.54,
    UCB = 0.54 + sqrt(1 / 4) = 1.04", 1.04)`` (one line).
    """
    if style not in RATIONALE_REWARDS:
        raise ValueError(f"style must be one of {RATIONALE_REWARDS}, got {style!r}")
    n = len(rewards)
    if n == 0:
        raise ValueError(f"arm {name!r} has no rewards yet: the try-all rationale applies")
    total = sum(Decimal(r) for r in rewards)  # exact: the printed rewards have at most 2 decimals
    mean = _cents(total / n)
    ucb = _cents(mean + Decimal(math.sqrt(1.0 / n)))
    shown = f"({' + '.join(rewards)})" if style == "list" else f"{total:.2f}"
    line = (
        f"Count for action {name} = {n}, Mean = {shown} / {n} = {mean:.2f}, "
        f"UCB = {mean:.2f} + sqrt(1 / {n}) = {ucb:.2f}"
    )
    return line, float(ucb)


def _cents(value: Decimal) -> Decimal:
    """Rounded to 2 decimals, halves away from zero (as a person rounds 0.545 to 0.55)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class UCBExpert(BanditAgent):
    """The paper's rationale UCB (``mean + sqrt(1 / n)``) computed from the rewards as printed.

    Args:
        seed: unused (the expert is deterministic); accepted for the registry's signature.
        rationale: thought cloning (the template, then ``ACTION=``) or behaviour cloning (``False``:
            ``ACTION=X`` only).
        rewards: ``"list"`` (the paper's template, every reward of the arm) or ``"sum"`` (their sum,
            a shorter rationale for long horizons).
    """

    name = "ucb-expert"

    def __init__(self, seed: int | None = None, *, rationale: bool = True, rewards: str = "list") -> None:
        super().__init__(seed)
        if rewards not in RATIONALE_REWARDS:
            raise ValueError(f"rewards must be one of {RATIONALE_REWARDS}, got {rewards!r}")
        self.rationale, self.rewards = bool(rationale), rewards

    def _reset_state(self, infos: Sequence[Info]) -> None:
        super()._reset_state(infos)
        self._shown: list[list[list[str]]] = [[[] for _ in info["action_names"]] for info in infos]
        self._distribution = ["gaussian"] * len(infos)

    def observe(self, infos: Sequence[Info], env_ids: Sequence[int]) -> None:
        super().observe(infos, env_ids)
        for info, slot in zip(infos, env_ids, strict=True):
            arm = int(require_key(info, "action_index", self.name))
            reward = float(require_key(info, "env_reward", self.name))
            self._shown[slot][arm].append(format_reward(reward, self._distribution[slot]))

    def decide(self, observation: str, info: Info, slot: int) -> str:
        names = require_key(info, "action_names", self.name)
        self._distribution[slot] = (
            "bernoulli" if detect_distribution(observation, info) == "beta" else "gaussian"
        )
        shown = self._shown[slot]
        untried = [a for a in range(len(names)) if not shown[a]]
        if untried:
            name = names[untried[0]]
            return action_text(name, TRY_ALL_RATIONALE.format(name=name) if self.rationale else "")
        lines, ucbs = zip(
            *(ucb_rationale_line(n, r, style=self.rewards) for n, r in zip(names, shown, strict=True)),
            strict=True,
        )
        choice = int(np.argmax(ucbs))  # the first of the highest written values
        why = "\n".join([*lines, f"Highest UCB: {names[choice]} = {ucbs[choice]:.2f}."])
        return action_text(names[choice], why if self.rationale else "")


def resolve_expert(env_id: str, expert: str = "auto") -> str:
    """The expert's name for ``env_id`` (``"auto"``: UCB, LinUCB or minimax by environment).

    Raises:
        ValueError: an unknown expert, or one that does not fit the environment.
    """
    if expert not in EXPERTS:
        raise ValueError(f"expert must be one of {EXPERTS}, got {expert!r}")
    bare = env_id.split(":", 1)[-1]
    natural = _EXPERT_FOR_ENV.get(bare)
    if natural is None:
        raise ValueError(
            f"no expert for environment {env_id!r}; expert SFT supports {sorted(_EXPERT_FOR_ENV)}"
        )
    if expert != "auto" and expert != natural:
        raise ValueError(f"expert {expert!r} does not fit {bare}; its expert is {natural!r}")
    return natural


def make_expert(
    env_id: str, *, mode: str, expert: str = "auto", rewards: str = "list", seed: int = 0
) -> TextAgent:
    """The expert agent for ``env_id``: rationales in ``mode="thought"``, actions only in ``"behaviour"``."""
    from agents.baselines import LinUCBAgent, MinimaxAgent

    if mode not in ("behaviour", "thought"):
        raise ValueError(f"mode must be 'behaviour' or 'thought', got {mode!r}")
    rationale = mode == "thought"
    name = resolve_expert(env_id, expert)
    if name == "ucb":
        return UCBExpert(seed, rationale=rationale, rewards=rewards)
    if name == "linucb":
        return LinUCBAgent(seed, rationale=rationale)
    return MinimaxAgent(seed, rationale=rationale)
