"""The agent protocol that every offline agent, baseline and user plug-in follows.

An agent is configured by a dataclass, learns from a :class:`~recsim_envs.data.LoggedDataset`
only (never the environment or its response model), and then acts on observations:

    agent = agents.make("two_ips", epochs=5).fit(dataset)
    action = agent.act(obs)            # one observation -> one action
    actions = agent.act(obs_batch)     # (n, d) -> (n, ...) batched
    probs = agent.action_probs(obs)    # stochastic policies: for off-policy evaluation

What the harness reads from an agent (fit, act, and the optional capabilities
``candidate_probs``/``with_replacement``, ``action_probs``, ``explore``/``observe``,
``bind_env``) is defined once, as the Protocols of :mod:`recsim_envs.evaluation.contract`;
they are re-exported here and from :mod:`agents`. The environment object itself is never
given to an agent.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from recsim_envs.evaluation.contract import (  # noqa: F401  (re-exported: one definition)
    Agent,
    CandidateSampler,
    OnlineLearner,
    StochasticPolicy,
)


class AgentError(ValueError):
    """An agent was given data or settings it cannot use; the message names the problem."""


class BaseAgent:
    """Shared plumbing: config handling, batching of observations, checkpoints.

    Subclasses set ``name`` and ``Config`` (a dataclass) and implement ``fit`` and
    ``act``; those with learnable state implement ``state_dict``/``load_state_dict``
    (tensors or arrays only, so that loading never unpickles code).
    """

    name: ClassVar[str] = "base"
    Config: ClassVar[type] = type(None)
    offline: ClassVar[bool] = True
    """False for reference policies that use privileged information (e.g. the oracle)."""

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        if config is None:
            config = self.Config(**overrides)
        elif overrides:
            config = dataclasses.replace(config, **overrides)
        if not isinstance(config, self.Config):
            raise AgentError(
                f"{type(self).__name__} needs a {self.Config.__name__}, got {type(config).__name__}"
            )
        self.config = config
        self.fitted = False

    # -------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            raise AgentError(f"{type(self).__name__} has no state to load, got {sorted(state)}")

    def save(self, path: str | Path) -> Path:
        """Write config and learned state to ``path`` (a torch file of tensors, no code)."""
        from agents.checkpoint import save_checkpoint

        return save_checkpoint(path, self)

    @classmethod
    def load(cls, path: str | Path) -> BaseAgent:
        """Rebuild an agent saved with :meth:`save` (``torch.load(weights_only=True)``)."""
        from agents.checkpoint import load_checkpoint

        agent = load_checkpoint(path)
        if not isinstance(agent, cls):
            raise AgentError(f"{path} holds a {type(agent).__name__}, not a {cls.__name__}")
        return agent

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise AgentError(f"{type(self).__name__} must be fit before it acts; call fit(dataset)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


def as_batch(obs: np.ndarray, obs_dim: int) -> tuple[np.ndarray, bool]:
    """Return ``obs`` as a float32 (n, obs_dim) batch and whether it was a single observation."""
    arr = np.asarray(obs, dtype=np.float32)
    single = arr.ndim == 1
    if single:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != obs_dim:
        raise AgentError(
            f"observation has shape {np.shape(obs)}; expected ({obs_dim},) or (n, {obs_dim})"
        )
    if not np.all(np.isfinite(arr)):
        raise AgentError("observation holds NaN or infinite values")
    return arr, single
