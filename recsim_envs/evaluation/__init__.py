"""Evaluation: the agent contract, online evaluation in every family, the online phase.

- :mod:`~recsim_envs.evaluation.contract`: :class:`Deployment`, the capability Protocols and
  :class:`AgentHandle` (an agent with its capabilities resolved once).
- :mod:`~recsim_envs.evaluation.harness`: :class:`FamilyHarness`, the one object per family
  (world, logs, online measurement and learning, off-policy inputs) the evaluation and the
  benchmark runner call.
- :mod:`~recsim_envs.evaluation.online`: :func:`evaluate` -> :class:`EvalResult`.
- :mod:`~recsim_envs.evaluation.learning`: the online learning phase (sessions with a learning
  curve, or batched one-step rounds).
"""

from recsim_envs.evaluation.contract import (
    Agent,
    AgentHandle,
    CandidateSampler,
    ContractError,
    Deployment,
    EpisodeLearner,
    OnlineLearner,
    Privileged,
    StochasticPolicy,
)
from recsim_envs.evaluation.harness import FamilyHarness, HarnessError, get_harness
from recsim_envs.evaluation.online import EvalResult, evaluate

__all__ = [
    "Agent",
    "AgentHandle",
    "CandidateSampler",
    "ContractError",
    "Deployment",
    "EpisodeLearner",
    "EvalResult",
    "FamilyHarness",
    "HarnessError",
    "OnlineLearner",
    "Privileged",
    "StochasticPolicy",
    "evaluate",
    "get_harness",
]
