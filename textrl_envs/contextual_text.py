"""The contextual (MovieLens) bandit prompt, as pure functions.

Layout::

    You are a movie recommendation assistant ... 10 movies ... named star_wars_(1977), ...

    So far you have tried/seen:
    Step=0 User=[0.02, -0.02, -0.03, -0.05, 0.01] Action=fargo_(1996) Reward=3.41
    Current user: This person is a 28-year-old man, working as a administrator and live in
    Santa Clara county, CA. The user has some numerical values that represent their true implicit
    preference or taste for all movies: [-0.04, 0.02, -0.02, -0.0, 0.02]
    What do you predict next?
    Think step-by-step ... ACTION=X where X is one of the movies listed above ...

The user sentence and the vector format (Python's ``repr`` of values rounded to 2 decimals,
hence ``-0.0``) follow BanditBench's example. History lines show each past user's vector only
(not their demographics) to keep the context short; rewards use ``bandit_text.format_reward``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textrl_envs.bandit_text import HISTORY_HEADER, QUESTION, format_reward


def format_vector(vector: Sequence[float] | np.ndarray) -> str:
    """``[-0.04, 0.02, -0.0]``: each value rounded to 2 decimals, Python float repr."""
    return "[" + ", ".join(repr(round(float(x), 2)) for x in vector) + "]"


def instruction_text(movie_names: Sequence[str], horizon: int) -> str:
    """The task description."""
    return (
        "You are a movie recommendation assistant for a streaming platform, and you act as a contextual "
        f"bandit algorithm. There are {len(movie_names)} movies you can recommend, named "
        f"{', '.join(movie_names)}. Each time a user visits, you read their description and choose "
        "one movie to recommend; your reward is a score of how much the user likes that movie "
        "(higher is better). Users differ in taste, so the best movie depends on the user. You will serve "
        f"{horizon} users, and your goal is to maximize the total reward over the {horizon} time steps."
    )


def history_line(step: int, context: Sequence[float] | np.ndarray, name: str, reward: float) -> str:
    """``Step=0 User=[...] Action=fargo_(1996) Reward=3.41``."""
    return f"Step={step} User={format_vector(context)} Action={name} Reward={format_reward(reward)}"


def user_block(description: str, context: Sequence[float] | np.ndarray) -> str:
    """The current user: demographics sentence plus preference vector."""
    return (
        f"Current user: {description} The user has some numerical values that represent their true "
        f"implicit preference or taste for all movies: {format_vector(context)}"
    )


def output_instruction(cot: bool) -> str:
    """Output format instruction, with or without chain-of-thought."""
    if cot:
        return (
            "Think step-by-step and output your final answer in the format ACTION=X where X is one of "
            "the movies listed above. IMPORTANT: Provide your (SHORT!) thinking process and your answer "
            "ACTION=X"
        )
    return "Output ONLY your final answer in the format ACTION=X where X is one of the movies listed above."


def prompt_prefix(movie_names: Sequence[str], horizon: int) -> str:
    """Instruction, a blank line, then the history header."""
    return f"{instruction_text(movie_names, horizon)}\n\n{HISTORY_HEADER}"


def assemble_prompt(prefix: str, lines: Sequence[str] | str, user: str, cot: bool) -> str:
    """Join prefix, history (list or pre-joined string), current user, question, instruction."""
    history = lines if isinstance(lines, str) else "\n".join(lines)
    parts = [prefix, history] if history else [prefix]
    return "\n".join([*parts, user, QUESTION, output_instruction(cot)])


def render_contextual_prompt(
    movie_names: Sequence[str],
    history: Sequence[tuple[Sequence[float] | np.ndarray, int, float]],
    description: str,
    context: Sequence[float] | np.ndarray,
    *,
    horizon: int = 50,
    cot: bool = True,
    history_window: int | None = None,
) -> str:
    """The prompt ``TextContextualBandit-v0`` shows after ``history`` for the current user.

    Args:
        movie_names: arm names, index = action index.
        history: past ``(user_vector, action_index, raw_reward)`` triples, step ``t`` at position ``t``.
        description: the current user's demographics sentence.
        context: the current user's preference vector.
        horizon: the number of users served, stated in the text.
        cot: chain-of-thought output instruction (True) or action only (False).
        history_window: show only the last this-many steps (None: all).

    Raises:
        ValueError: an action index is out of range or ``history_window`` is below 1.
    """
    if history_window is not None and history_window < 1:
        raise ValueError(
            f"history_window must be None or >= 1 (0 would hide the whole history), got {history_window}"
        )
    lines = []
    for step, (vector, action, reward) in enumerate(history):
        if not 0 <= int(action) < len(movie_names):
            raise ValueError(f"history[{step}] has action index {action}, allowed 0..{len(movie_names) - 1}")
        lines.append(history_line(step, vector, movie_names[int(action)], reward))
    if history_window is not None:
        lines = lines[max(0, len(lines) - history_window) :]
    return assemble_prompt(prompt_prefix(movie_names, horizon), lines, user_block(description, context), cot)
