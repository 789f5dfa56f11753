"""Classic scripted baselines, all speaking the text protocol of :mod:`agents.protocol`.

- :mod:`agents.baselines.common`: :class:`RandomAgent` (any env) and the shared seeding machinery.
- :mod:`agents.baselines.bandit`: greedy, epsilon-greedy, UCB (BanditBench and paper forms), Thompson.
- :mod:`agents.baselines.contextual`: LinUCB for the contextual bandit.
- :mod:`agents.baselines.tictactoe`: minimax and MCTS players.

Build them by name with :func:`agents.registry.make_agent`.
"""

from __future__ import annotations

from agents.baselines.bandit import EpsilonGreedyAgent, GreedyAgent, ThompsonAgent, UCBAgent
from agents.baselines.common import RandomAgent, ScriptedAgent
from agents.baselines.contextual import LinUCBAgent
from agents.baselines.tictactoe import MCTSAgent, MinimaxAgent

__all__ = [
    "EpsilonGreedyAgent",
    "GreedyAgent",
    "LinUCBAgent",
    "MCTSAgent",
    "MinimaxAgent",
    "RandomAgent",
    "ScriptedAgent",
    "ThompsonAgent",
    "UCBAgent",
]
