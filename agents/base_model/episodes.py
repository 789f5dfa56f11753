"""Pretraining episodes: a demonstrator plays one environment episode, and several of its decisions
become (prompt, answer) pairs that share the episode's history.

An :class:`Episode` holds, for a few decision steps ``t`` of one episode, the exact prompt the
environment shows at ``t`` (rendered with ``textrl_envs.bandit_text.render_bandit_prompt`` /
``textrl_envs.tictactoe_text.render_tictactoe_prompt``) and the demonstrator's answer there. All the
prompts of an episode start with the same instructions and history lines, so the data module packs
them as one trunk with one branch per decision (:mod:`agents.rlft.packing`): one forward pass trains
every chosen decision of the episode, where separate documents would re-read the history each time.

What varies per episode: the bandit task (arms, distribution, noise, labels, history window) and the
demonstrator. What varies per decision (it lives after the history, in the branch): the output
instruction (chain-of-thought or action only), the knowing-doing UCB prompt, the context summary.
The mixture is documented in :mod:`agents.base_model`; every draw comes from the generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.base_model.demonstrators import (
    BanditDemonstrator,
    bandit_answer,
    greedy_arm,
    most_pulled_arm,
    sample_bandit_demonstrator,
    sample_tictactoe_demonstrator,
    tictactoe_answer,
)
from textrl_envs import bandit_text as bt
from textrl_envs import tictactoe_logic as ttt
from textrl_envs import tictactoe_text as ttt_text
from textrl_envs.bandit import BERNOULLI_MEANS, GAUSSIAN_SIGMA, draw_arm_means, pull_arm

HORIZON = 50  # the bandit horizon of every episode (the paper's T)
UCB_PROMPT_SHARE = 0.12  # decisions asked with the knowing-doing UCB prompt
COT_SHARE = 0.65  # default-prompt decisions asked with the chain-of-thought instruction
#: During the reading warm-up (the first steps of pretraining) episodes stop by this step: short
#: histories, where most worked means are a single reward to copy, teach the model to find an arm's
#: rewards before it has to average 50 of them.
WARMUP_LAST_STEP = 16
#: Arms per copy-curriculum episode: 10 (the paper's) mostly, 5 and 20 so that no count is special.
COPY_ARMS = {10: 0.7, 5: 0.15, 20: 0.15}
#: What the copy curriculum is made of (``BaseModelConfig.copy_documents``): multi-decision copy
#: episodes (:func:`sample_copy_episode`) or one-decision lookup documents (:func:`sample_lookup_document`).
COPY_DOCUMENTS = ("episodes", "lookups")
#: Lookup documents: the paper's 10 labels; the reward noise of one document (sigma) is one of these.
LOOKUP_ARMS = 10
LOOKUP_SIGMAS = (0.1, 1.0, 2.0)


@dataclass(frozen=True)
class Episode:
    """Decisions of one demonstrator episode: ``prompts[i]`` is answered by ``answers[i]``.

    Prompts are in decision order; every answer starts with ``"\\n"`` (the model is trained on
    ``prompt + "\\n" + answer``, as it is asked at inference: the prompt alone).
    """

    prompts: list[str]
    answers: list[str]
    task: str
    #: Train on the history lines' action names too (the demonstrator's earlier decisions). False
    #: where those names are random draws, pure noise to predict (lookup documents).
    history_loss: bool = True

    def __post_init__(self) -> None:
        if not self.prompts or len(self.prompts) != len(self.answers):
            raise ValueError(f"an episode needs as many answers as prompts (>= 1), got "
                             f"{len(self.prompts)} prompts and {len(self.answers)} answers")


def _pick(rng: np.random.Generator, options: dict) -> object:
    """Draw a key of ``options`` with probability proportional to its value."""
    keys = list(options)
    p = np.array([options[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _check_shares(**shares: float) -> None:
    """Raise a ``ValueError`` naming the first keyword whose value is not a share in [0, 1]."""
    for name, share in shares.items():
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {share!r}")


def informative_steps(states: list[tuple[np.ndarray, np.ndarray, int, str]]) -> list[int]:
    """Steps where the demonstrator exploits the best mean and that arm is not the most pulled one.

    ``states[t]`` is ``(counts, sums, arm, kind)`` before step ``t``. At these steps "play the arm you
    pulled most" (the frequency bias) gives the wrong answer and only comparing the means gives the
    right one; at the other exploiting steps of an explore-then-exploit demonstrator both rules agree
    (about 85 % of them), so a model can learn the cheaper rule from them.
    """
    return [t for t, (counts, sums, arm, kind) in enumerate(states)
            if kind == "greedy" and arm != most_pulled_arm(counts, sums)]


#: With ``informative_share`` > 0, an episode keeps at least this many decisions besides its last
#: step and its informative ones (so exploring steps and agreeing exploits are still trained).
MIN_OTHER_DECISIONS = 3


def _decision_steps(
    rng: np.random.Generator, last: int, n: int, informative: list[int], informative_share: float
) -> list[int]:
    """The decision steps of an episode played to step ``last``: ``last``, then up to ``n - 1`` before it.

    With ``informative_share`` 0 they are ``n - 1`` steps uniform without replacement (the stream of
    earlier data versions). Otherwise every ``informative`` step before ``last``
    (:func:`informative_steps`) is taken first (up to ``n - 1``), then only as many others, uniformly,
    as keep the informative ones at ``informative_share`` of the earlier decisions, but at least
    :data:`MIN_OTHER_DECISIONS`: the agreeing exploits, which teach nothing the informative ones do not,
    stop outnumbering them, and a step's token budget holds more episodes.
    """
    if not last:
        return [0]
    if informative_share <= 0:
        return sorted([last, *rng.choice(last, size=n - 1, replace=False).tolist()])
    pool = [t for t in informative if t < last]
    m = min(len(pool), n - 1)
    chosen = rng.choice(pool, size=m, replace=False).tolist() if m else []
    wanted = int(np.ceil(m * (1.0 - informative_share) / informative_share))
    others = min(n - 1 - m, last - m, max(MIN_OTHER_DECISIONS, wanted))
    rest = np.setdiff1d(np.arange(last), chosen)
    chosen += rng.choice(rest, size=others, replace=False).tolist()
    return sorted([last, *(int(t) for t in chosen)])


def sample_bandit_episode(
    rng: np.random.Generator,
    max_decisions: int = 16,
    *,
    warmup: bool = False,
    informative_share: float = 0.0,
    max_stickiness: float = 0.4,
    summary_share: float = 0.1,
    means_format: str = "list",
) -> Episode:
    """A TextBandit-v0 episode of a demonstrator, with up to ``max_decisions`` of its decisions.

    ``warmup=True`` draws the reading warm-up's episodes instead: Gaussian rewards, no history window,
    a last step uniform in 0..16 and every decision asked with the default chain-of-thought prompt
    (no summary, no UCB prompt): the model learns to read short histories first.

    Per episode: 10 arms 70 % (5 and 20 arms 15 % each); Gaussian 85 % (noise medium 60 %, low 20 %,
    high 20 %), Bernoulli 15 % (easy / hard); button labels 90 %, continuous 10 %; a history window of
    5-20 steps 5 %; horizon 50; the demonstrator of :func:`sample_bandit_demonstrator`. The episode is
    played to a last step drawn uniformly in 0..49, and the decisions are that step and others drawn
    uniformly without replacement before it. Per decision: the knowing-doing UCB prompt 12 %
    (answered by the UCB-prompt demonstrator, on the same history), else chain-of-thought 65 % /
    action only 35 %; the context summary 50 % of UCB prompts, ``summary_share`` (10 %) of the others.

    Two levers against the frequency bias (issue 12), each at its default drawing exactly as before:
    ``max_stickiness`` bounds the demonstrators' stickiness to the most pulled arm (0: none), and
    ``informative_share`` > 0 trains every step where the exploited best mean is not the most pulled
    arm (:func:`informative_steps`) and fewer others, so that those steps make about that share of
    the decisions before the last (see ``_decision_steps``). ``means_format`` is how the CoT answers
    write their means (:func:`~agents.base_model.demonstrators.means_block`).
    """
    _check_shares(informative_share=informative_share, summary_share=summary_share)
    k = int(_pick(rng, {10: 0.7, 5: 0.15, 20: 0.15}))
    distribution = "gaussian" if warmup else str(_pick(rng, {"gaussian": 0.85, "bernoulli": 0.15}))
    if distribution == "gaussian":
        noise = str(_pick(rng, {"medium": 0.6, "low": 0.2, "high": 0.2}))
        sigma = GAUSSIAN_SIGMA[noise]
    else:
        noise, sigma = str(_pick(rng, {n: 1.0 for n in BERNOULLI_MEANS})), 0.0
    variant = str(_pick(rng, {"button": 0.9, "continuous": 0.1}))
    window = int(rng.choice([5, 10, 20])) if rng.random() < 0.05 and not warmup else None
    last = int(rng.integers(WARMUP_LAST_STEP + 1 if warmup else HORIZON))
    names = bt.arm_names(k, variant)
    means = draw_arm_means(rng, k, distribution, noise)
    demonstrator = sample_bandit_demonstrator(rng, k, "default", max_stickiness=max_stickiness)

    counts = np.zeros(k, dtype=np.int64)
    sums = np.zeros(k)
    history: list[tuple[int, float]] = []
    states: list[tuple[np.ndarray, np.ndarray, int, str]] = []  # (counts, sums, arm, kind) at each t
    for _ in range(last + 1):
        arm, kind = demonstrator.act(counts, sums, rng)
        states.append((counts.copy(), sums.copy(), arm, kind))
        reward = pull_arm(rng, float(means[arm]), distribution, sigma)
        history.append((arm, reward))
        counts[arm] += 1
        # the demonstrator sees the rounded reward the prompt shows, as the model will
        sums[arm] += float(bt.format_reward(reward, distribution))

    n = min(max_decisions, last + 1)
    informative = informative_steps(states) if informative_share > 0 else []
    steps = _decision_steps(rng, last, n, informative, informative_share)
    ucb_demonstrator = BanditDemonstrator("ucb_prompt")
    prompts, answers = [], []
    for t in steps:
        counts_t, sums_t, arm, kind = states[t]
        style = "ucb" if rng.random() < UCB_PROMPT_SHARE and not warmup else "default"
        cot = style == "ucb" or warmup or bool(rng.random() < COT_SHARE)
        summary = bool(rng.random() < (0.5 if style == "ucb" else summary_share)) and not warmup
        if style == "ucb":  # the same history, another question: answered by the UCB-prompt rule
            arm, kind = ucb_demonstrator.act(counts_t, sums_t, rng)
        prompts.append(bt.render_bandit_prompt(
            names, history[:t], distribution=distribution, horizon=HORIZON, variant=variant, cot=cot,
            history_window=window, prompt_style=style, context_summary=summary,
        ))
        answers.append("\n" + bandit_answer(arm, kind, names, cot=cot, prompt_style=style,
                                            counts=counts_t, sums=sums_t, means_format=means_format))
    return Episode(prompts, answers, "bandit")


def sample_copy_episode(
    rng: np.random.Generator, max_decisions: int = 16, *, means_format: str = "list"
) -> Episode:
    """A copy-curriculum episode: bare history lines where every tried arm was pulled once.

    The demonstrator explores ``n ~ U{2..k}`` distinct arms in a random order, one pull each, then
    exploits the best; the decisions are drawn among the steps after 1 to ``n`` pulls (at most
    ``max_decisions``, the exploiting one always among them). The prompt is the history lines alone
    (``Step=0 Action=green Reward=0.3`` ..., no instructions), so that the worked ``Means:`` block of
    the answer is a lookup: each tried arm's line holds its only reward, to be found by the arm's name
    and copied. A model trained on the paper's full prompts from the start learns to list the tried
    arms but writes one value for all of them; on these short documents the name-to-value lookup is
    learned first (see the issue-12 notes in the README), and the reading warm-up and the full
    mixture follow. Gaussian rewards (noise low / medium / high), button labels.
    """
    k = int(_pick(rng, COPY_ARMS))
    noise = str(_pick(rng, {"medium": 0.6, "low": 0.2, "high": 0.2}))
    names = bt.arm_names(k)
    means = draw_arm_means(rng, k, "gaussian", noise)
    n = int(rng.integers(2, k + 1))
    demonstrator = BanditDemonstrator("greedy", min_explore=n, explore_in_order=False)
    counts, sums = np.zeros(k, dtype=np.int64), np.zeros(k)
    lines: list[str] = []
    prompts, answers = [], []
    # decisions after 1..n pulls (an empty history is no lookup); the exploiting one always
    steps = set((1 + rng.choice(n - 1, size=min(max_decisions, n) - 1, replace=False)).tolist()) | {n}
    for t in range(n + 1):
        arm, kind = demonstrator.act(counts, sums, rng)
        if t in steps:
            prompts.append("\n".join(lines))
            answers.append("\n" + bandit_answer(arm, kind, names, cot=True, counts=counts, sums=sums,
                                                means_format=means_format))
        reward = pull_arm(rng, float(means[arm]), "gaussian", GAUSSIAN_SIGMA[noise])
        lines.append(bt.history_line(t, names[arm], reward, "gaussian"))
        counts[arm] += 1
        sums[arm] += float(bt.format_reward(reward, "gaussian"))
    return Episode(prompts, answers, "copy")


def sample_lookup_document(
    rng: np.random.Generator,
    *,
    full_prompt_share: float = 0.0,
    max_pulls: int = 1,
    means_format: str = "list",
) -> Episode:
    """A one-decision lookup document: ``k ~ U{1..10}`` distinct arms pulled (once each), then the answer.

    The prompt is bare history lines (``Step=0 Action=orange Reward=0.77`` ...) over the paper's 10
    labels, the arms tried in a random order; the answer is the worked ``Means:`` block (each tried
    arm's single reward, found by its name and copied, in label order) and the exploit of the best.
    Arm means ~ N(0, 1), reward noise sigma drawn from :data:`LOOKUP_SIGMAS` per document. With
    probability ``full_prompt_share`` the same history is shown in the paper's full prompt instead
    (TextBandit-v0's default: instructions, history, chain-of-thought request), so that the lookup
    and the comparison are learned where the model is asked them; 0 draws nothing more from ``rng``
    (the bare documents' stream is unchanged). ``max_pulls > 1``: each tried arm is pulled
    ``U{1..max_pulls}`` times, independently of its mean, in a shuffled order, so that the most pulled
    arm is no guide to the best one (a model that answers by pull counts, the frequency bias, is
    wrong here) and the written means are averages; 1 draws nothing more from ``rng``. ``means_format``:
    how the answer writes the means (:func:`~agents.base_model.demonstrators.means_block`).

    How it differs from :func:`sample_copy_episode`, each difference taken from a pilot in which a
    small model learned the name-to-value lookup abruptly (issue 12, README "Lookup documents"): one
    decision per document, so a step holds many independent histories instead of a few long ones;
    every history length from 1 to 10; no loss on the history's action names (``history_loss=False``:
    the order of exploration is random, nothing to learn); means spread wider than U(0, 1), so the
    best arm is rarely a near-tie.
    """
    if isinstance(max_pulls, bool) or not isinstance(max_pulls, int) or max_pulls < 1:
        raise ValueError(f"max_pulls must be an int >= 1, got {max_pulls!r}")
    k = int(rng.integers(1, LOOKUP_ARMS + 1))
    means = rng.normal(0.0, 1.0, LOOKUP_ARMS)
    sigma = float(rng.choice(LOOKUP_SIGMAS))
    tried = [int(a) for a in rng.permutation(LOOKUP_ARMS)[:k]]
    names = bt.arm_names(LOOKUP_ARMS)
    counts, sums = np.zeros(LOOKUP_ARMS, dtype=np.int64), np.zeros(LOOKUP_ARMS)
    if max_pulls > 1:
        pulls = [arm for arm in tried for _ in range(int(rng.integers(1, max_pulls + 1)))]
        tried = [pulls[i] for i in rng.permutation(len(pulls))]
    history: list[tuple[int, float]] = []
    for arm in tried:
        reward = float(np.round(rng.normal(means[arm], sigma), 2))
        history.append((arm, reward))
        counts[arm] += 1
        sums[arm] += float(bt.format_reward(reward, "gaussian"))
    if full_prompt_share > 0 and rng.random() < full_prompt_share:
        prompt = bt.render_bandit_prompt(names, history, distribution="gaussian", horizon=HORIZON, cot=True)
    else:
        prompt = "\n".join(bt.history_line(t, names[arm], reward, "gaussian")
                           for t, (arm, reward) in enumerate(history))
    answer = "\n" + bandit_answer(greedy_arm(counts, sums), "greedy", names, cot=True,
                                  counts=counts, sums=sums, means_format=means_format)
    return Episode([prompt], [answer], "copy", history_loss=False)


def sample_tictactoe_episode(rng: np.random.Generator) -> Episode:
    """A TextTicTacToe-v0 game (vs the random opponent) of a weak demonstrator; every decision.

    Agent first 75 % (the environment's default) or second; legal actions shown 75 % (per game);
    per decision chain-of-thought 65 % / action only 35 %. The demonstrator is
    :func:`~agents.base_model.demonstrators.sample_tictactoe_demonstrator`; the answer at a decision is
    the move it played there.
    """
    demonstrator = sample_tictactoe_demonstrator(rng)
    show_legal = bool(rng.random() < 0.75)
    board = [0] * 9
    if rng.random() < 0.25:  # the opponent (player 2) opens
        board[ttt.random_move(board, rng)] = 2
    history: list[tuple[str, int, float]] = []
    prompts, answers = [], []
    while not ttt.is_over(board):
        cot = bool(rng.random() < COT_SHARE)
        cell, kind = demonstrator.act(board, rng)
        prompts.append(
            ttt_text.render_tictactoe_prompt(board, history, show_legal_actions=show_legal, cot=cot)
        )
        answers.append("\n" + tictactoe_answer(cell, kind, cot=cot, board=board))
        history.append((ttt.board_string(board), cell, 0.0))
        board[cell] = 1
        if not ttt.is_over(board):
            board[ttt.random_move(board, rng)] = 2
    return Episode(prompts, answers, "tictactoe")


def sample_episode(
    rng: np.random.Generator,
    tictactoe_fraction: float,
    max_decisions: int = 16,
    *,
    warmup: bool = False,
    copy: bool = False,
    copy_documents: str = "episodes",
    lookup_share: float = 0.0,
    lookup_full_prompt_share: float = 0.0,
    lookup_max_pulls: int = 1,
    informative_share: float = 0.0,
    max_stickiness: float = 0.4,
    summary_share: float = 0.1,
    means_format: str = "list",
    copy_means_format: str = "list",
) -> Episode:
    """A tic-tac-toe game with probability ``tictactoe_fraction``, else a bandit episode.

    ``warmup=True``: a reading warm-up bandit episode (see :func:`sample_bandit_episode`), always.
    ``copy=True``: a copy-curriculum document, always: a copy episode (:func:`sample_copy_episode`)
    when ``copy_documents`` is ``"episodes"``, a lookup document (:func:`sample_lookup_document`) when
    it is ``"lookups"`` (always bare history lines). Outside the copy curriculum a lookup document is
    drawn first with probability ``lookup_share`` (0: no draw, the stream is as without it), shown in
    the full prompt with probability ``lookup_full_prompt_share``, each tried arm pulled up to
    ``lookup_max_pulls`` times. ``informative_share``, ``max_stickiness`` and ``summary_share`` go to
    the bandit episodes (warm-up and main; :func:`sample_bandit_episode`). ``means_format`` is how
    the answers of the warm-up and main phases write their means, lookups included;
    ``copy_means_format`` the copy curriculum's.
    """
    if copy and warmup:
        raise ValueError("an episode is either a copy-curriculum or a warm-up one, not both")
    if copy_documents not in COPY_DOCUMENTS:
        raise ValueError(f"copy_documents must be one of {COPY_DOCUMENTS}, got {copy_documents!r}")
    _check_shares(lookup_share=lookup_share, lookup_full_prompt_share=lookup_full_prompt_share)
    if copy:
        if copy_documents == "lookups":
            return sample_lookup_document(rng, means_format=copy_means_format)
        return sample_copy_episode(rng, max_decisions, means_format=copy_means_format)
    if lookup_share > 0 and rng.random() < lookup_share:
        return sample_lookup_document(rng, full_prompt_share=lookup_full_prompt_share,
                                      max_pulls=lookup_max_pulls, means_format=means_format)
    levers = {"informative_share": informative_share, "max_stickiness": max_stickiness,
              "summary_share": summary_share, "means_format": means_format}
    if warmup:
        return sample_bandit_episode(rng, max_decisions, warmup=True, **levers)
    if rng.random() < tictactoe_fraction:
        return sample_tictactoe_episode(rng)
    return sample_bandit_episode(rng, max_decisions, **levers)
