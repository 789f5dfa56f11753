"""The multi-armed bandit prompt, as pure functions (no environment state).

:func:`render_bandit_prompt` builds the whole prompt from a history; :class:`TextBanditEnv`
builds the *same* string incrementally from the pieces below (tested to be identical), and the
frequency-bias probe and the pretraining data call :func:`render_bandit_prompt` directly.

Layout (button variant, CoT, with the optional blocks marked)::

    You are a bandit algorithm in a room with 5 buttons labeled red, green, blue, ... (SPEC text)

    So far you have tried/seen:
    Step=0 Action=green Reward=0.3
    Step=1 Action=red Reward=-1.24
    [Summary (all steps so far):                       <- context_summary=True
     red: pressed 1 times, mean reward -1.24
     green: pressed 1 times, mean reward 0.3
     blue: not pressed yet ...]
    What do you predict next?
    [Your task is to act according to the UCB ...      <- prompt_style="ucb"]
    Think step-by-step and output your final answer in the format ACTION=X ... (SPEC text)

Choices made where the paper is silent (documented here once):

* Rewards are printed by :func:`format_reward`: Bernoulli rewards as ``0``/``1``; Gaussian
  rewards rounded to 2 decimals with trailing zeros dropped (``0.3``, ``-1.24``, ``2``), the
  style of the paper's examples ("Reward=0.3", "-0.1").
* ``history_window=C`` shows only the last C steps (step numbers stay absolute, so the model can
  tell how far the episode has gone); the context summary, when on, always covers all steps.
* The continuous variant says "arms"/"pull" where the button variant says "buttons"/"press".
"""

from __future__ import annotations

from collections.abc import Sequence

#: Colour labels of the button variant, in order (the paper's first five, then common colour
#: words that are single lower-case tokens and no prefix of one another). Supports up to 20 arms.
BUTTON_COLORS: tuple[str, ...] = (
    "red", "green", "blue", "yellow", "orange", "purple", "pink", "brown", "black", "white",
    "gray", "cyan", "magenta", "lime", "navy", "teal", "maroon", "olive", "gold", "silver",
)  # fmt: skip

DISTRIBUTIONS = ("gaussian", "bernoulli")
VARIANTS = ("button", "continuous")
PROMPT_STYLES = ("default", "ucb")

HISTORY_HEADER = "So far you have tried/seen:"
QUESTION = "What do you predict next?"

#: The knowing-doing prompt (SPEC), plus the answer format the knowing-doing probe parses.
UCB_INSTRUCTION = (
    "Your task is to act according to the Upper-Confidence-Bound (UCB) algorithm. First, write down "
    "the UCB algorithm. Then compute the relevant UCB values for every {arm} (approximate if "
    "necessary). Finally, select your action according to the computed quantities. Write the UCB "
    "values inside <ucb_values>...</ucb_values>, one {arm} per line as NAME=VALUE, for example "
    "<ucb_values>\n{example}\n</ucb_values>"
)


def arm_names(n_arms: int, variant: str = "button") -> list[str]:
    """The labels of ``n_arms`` arms: colours (button variant, at most 20) or ``"0".."k-1"``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
    if variant == "button":
        if not 1 <= n_arms <= len(BUTTON_COLORS):
            raise ValueError(f"the button variant supports 1 to {len(BUTTON_COLORS)} arms, got {n_arms}")
        return list(BUTTON_COLORS[:n_arms])
    if n_arms < 1:
        raise ValueError(f"n_arms must be >= 1, got {n_arms}")
    return [str(i) for i in range(n_arms)]


def format_reward(reward: float, distribution: str = "gaussian") -> str:
    """Reward as printed in the history: ``1``/``0`` (Bernoulli), else 2 decimals, zeros dropped."""
    if distribution == "bernoulli":
        return str(int(round(reward)))
    text = f"{reward:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _nouns(variant: str) -> tuple[str, str, str]:
    """(singular, plural, verb) for the variant."""
    return ("button", "buttons", "press") if variant == "button" else ("arm", "arms", "pull")


def instruction_text(action_names: Sequence[str], distribution: str, horizon: int, variant: str) -> str:
    """The task description (SPEC's instruction text, button variant verbatim)."""
    arm, arms, verb = _nouns(variant)
    dist = "Bernoulli" if distribution == "bernoulli" else "Gaussian"
    return (
        f"You are a bandit algorithm in a room with {len(action_names)} {arms} labeled "
        f"{', '.join(action_names)}. Each {arm} is associated with a {dist} distribution with a fixed "
        f"but unknown mean; the means for the {arms} could be different. For either {arm}, when you "
        f"{verb} it, you will get a reward that is sampled from the {arm}'s associated distribution. "
        f"You have {horizon} time steps and, on each time step, you MUST choose one of the {arms} and "
        f"receive the reward. Your goal is to maximize the total reward over the {horizon} time steps."
    )


def history_line(step: int, name: str, reward: float, distribution: str) -> str:
    """One history line, ``Step=0 Action=green Reward=0.3``."""
    return f"Step={step} Action={name} Reward={format_reward(reward, distribution)}"


def summary_block(
    action_names: Sequence[str], counts: Sequence[int], sums: Sequence[float], variant: str
) -> str:
    """SPEC's context summary: per-arm pull count and mean reward over all steps so far."""
    _, _, verb = _nouns(variant)
    lines = ["Summary (all steps so far):"]
    for name, count, total in zip(action_names, counts, sums, strict=True):
        if count == 0:
            lines.append(f"{name}: not {verb}ed yet")
        else:
            times = "time" if count == 1 else "times"
            lines.append(f"{name}: {verb}ed {int(count)} {times}, mean reward {format_reward(total / count)}")
    return "\n".join(lines)


def output_instruction(cot: bool) -> str:
    """SPEC's output format instruction, with or without chain-of-thought."""
    if cot:
        return (
            "Think step-by-step and output your final answer in the format ACTION=X where X is one of "
            "the arms listed above. IMPORTANT: Provide your (SHORT!) thinking process and your answer "
            "ACTION=X"
        )
    return "Output ONLY your final answer in the format ACTION=X."


def ucb_instruction(action_names: Sequence[str], variant: str) -> str:
    """The knowing-doing UCB instruction with the ``<ucb_values>`` answer format."""
    arm, _, _ = _nouns(variant)
    example = "\n".join(f"{name}=1.23" for name in action_names[:2])
    return UCB_INSTRUCTION.format(arm=arm, example=example)


def prompt_suffix(action_names: Sequence[str], *, variant: str, cot: bool, prompt_style: str) -> str:
    """Everything after the history (and summary): question, optional UCB task, output format."""
    parts = [QUESTION]
    if prompt_style == "ucb":
        parts.append(ucb_instruction(action_names, variant))
    parts.append(output_instruction(cot))
    return "\n".join(parts)


def assemble_prompt(prefix: str, lines: Sequence[str] | str, summary: str | None, suffix: str) -> str:
    """Join the pieces; ``prefix`` = instruction + blank line + history header.

    ``lines`` may be the pre-joined history (``"\\n".join(...)``), as the env passes it.
    """
    history = lines if isinstance(lines, str) else "\n".join(lines)
    parts = [prefix]
    if history:
        parts.append(history)
    if summary is not None:
        parts.append(summary)
    parts.append(suffix)
    return "\n".join(parts)


def prompt_prefix(action_names: Sequence[str], distribution: str, horizon: int, variant: str) -> str:
    """Instruction, a blank line, then the history header."""
    return f"{instruction_text(action_names, distribution, horizon, variant)}\n\n{HISTORY_HEADER}"


def render_bandit_prompt(
    action_names: Sequence[str],
    history: Sequence[tuple[int, float]],
    *,
    distribution: str = "gaussian",
    horizon: int = 50,
    variant: str = "button",
    cot: bool = True,
    history_window: int | None = None,
    prompt_style: str = "default",
    context_summary: bool = False,
) -> str:
    """The full bandit prompt for a history of ``(action_index, raw_reward)`` pairs.

    Args:
        action_names: arm labels, index = action index (see :func:`arm_names`).
        history: past steps in order, step ``t`` at position ``t``; rewards are raw env rewards.
        distribution: ``"gaussian"`` or ``"bernoulli"`` (named in the text; sets reward format).
        horizon: the episode length stated in the text.
        variant: ``"button"`` (colours) or ``"continuous"`` (numbers); sets the wording.
        cot: chain-of-thought output instruction (True) or action only (False).
        history_window: show only the last this-many steps (None: all; 0 only with ``context_summary``).
        prompt_style: ``"default"`` or ``"ucb"`` (append the knowing-doing UCB instruction).
        context_summary: add per-arm counts and mean rewards (over all steps) after the history.

    Returns:
        The prompt text, exactly what ``TextBandit-v0`` shows after the same history.

    Raises:
        ValueError: an option is not one of its allowed values, or an action index is out of range.
    """
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {list(DISTRIBUTIONS)}, got {distribution!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
    if prompt_style not in PROMPT_STYLES:
        raise ValueError(f"prompt_style must be one of {list(PROMPT_STYLES)}, got {prompt_style!r}")
    if history_window is not None and history_window < (0 if context_summary else 1):
        raise ValueError(
            f"history_window must be None or >= 1 (0 only with context_summary=True: the prompt would "
            f"hold no history at all), got {history_window}"
        )
    k = len(action_names)
    counts = [0] * k
    sums = [0.0] * k
    lines = []
    for step, (action, reward) in enumerate(history):
        if not 0 <= int(action) < k:
            raise ValueError(f"history[{step}] has action index {action}, allowed 0..{k - 1}")
        counts[int(action)] += 1
        sums[int(action)] += float(reward)
        lines.append(history_line(step, action_names[int(action)], float(reward), distribution))
    if history_window is not None:
        lines = lines[max(0, len(lines) - history_window) :]
    summary = summary_block(action_names, counts, sums, variant) if context_summary else None
    return assemble_prompt(
        prompt_prefix(action_names, distribution, horizon, variant),
        lines,
        summary,
        prompt_suffix(action_names, variant=variant, cot=cot, prompt_style=prompt_style),
    )
