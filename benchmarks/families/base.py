"""The small protocol each environment family implements for the benchmark runner.

The runner (:func:`benchmarks.runner.run_cell`) calls a family's steps in a fixed order, so
that what an agent can reach is decided here and not by each family:

1. :meth:`Family.make_env` and :meth:`Family.behaviour_policy`, then :meth:`Family.log`
   twice (training and held-out rounds, independent seeds);
2. the logging environment is dropped; :meth:`Family.fit` hands the agent the training
   :class:`~recsim_envs.data.LoggedDataset` (and, for online budgets, transitions only);
3. only then are the evaluation seeds drawn and :meth:`Family.evaluate` builds a fresh
   environment and measures the agent online;
4. :meth:`Family.off_policy` estimates the same value from the held-out rounds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from recsim_envs.data import LoggedDataset, collect
from recsim_envs.policies import BehaviourPolicy
from recsim_envs.stats import Estimate


class CellError(RuntimeError):
    """A cell that cannot run: the message names the problem (the runner adds the cell)."""


@dataclass
class OnlineResult:
    """Online evaluation of one agent in one environment.

    Attributes:
        value: mean value per evaluation unit (user or episode) with its 95% interval.
        metrics: further named scalars (e.g. optimality, episode length).
        curve: learning curve of an online phase, a list of ``{"step": int, "value": float}``.
    """

    value: Estimate
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)


class Family(ABC):
    """One environment family's steps; see the module docstring for the order."""

    name: ClassVar[str]
    value_name: ClassVar[str] = "value"
    """What the online value measures (shown in tables)."""

    # ------------------------------------------------------------------ environment
    def make_env(self, env_id: str, kwargs: dict[str, Any]) -> gym.Env:
        """``gymnasium.make(env_id, **kwargs)`` with errors that name the problem."""
        import recsim_envs  # noqa: F401  (registers the ids)

        if env_id not in gym.registry:
            from recsim_envs import registered_ids

            raise CellError(f"unknown environment {env_id!r}; registered: {registered_ids()}")
        try:
            return gym.make(env_id, **kwargs)
        except ModuleNotFoundError as exc:
            raise CellError(
                f"environment {env_id!r} is registered but its module is not available "
                f"yet ({exc})"
            ) from exc
        except TypeError as exc:
            raise CellError(f"bad setting for environment {env_id!r}: {exc}") from exc

    @abstractmethod
    def behaviour_policy(
        self, env: gym.Env, settings: dict[str, Any], seed: int
    ) -> BehaviourPolicy:
        """The logging policy named by ``settings["policy"]``, built for ``env``."""

    def log(
        self, env: gym.Env, policy: BehaviourPolicy, n_rounds: int, seed: int
    ) -> LoggedDataset:
        return collect(env, policy, n_rounds, seed)

    # ------------------------------------------------------------------ agent
    def fit(
        self, agent: Any, train: LoggedDataset, online_steps: int, curve_points: int,
        env_factory: Any, seed: int,
    ) -> list[dict[str, float]]:
        """Fit on logged rounds only; returns a learning curve (empty without online phase).

        ``env_factory`` builds a fresh environment for an online phase; the base class
        ignores it (one-step families have no online budget).
        """
        agent.fit(train)
        return []

    @abstractmethod
    def evaluate(
        self, agent: Any, env_id: str, kwargs: dict[str, Any], n_eval: int, seed: int
    ) -> OnlineResult:
        """Online value of the fitted agent in a fresh environment seeded with ``seed``."""

    @abstractmethod
    def off_policy(
        self, agent: Any, train: LoggedDataset, heldout: LoggedDataset, env: gym.Env, seed: int
    ) -> dict[str, Estimate]:
        """Off-policy estimates of the agent's value from ``heldout`` (a reward model for
        DM/DR is fitted on ``train``). ``env`` is the harness's logging environment, used
        only for harness-side quantities (the ranker, the sentence generator)."""


# ---------------------------------------------------------------------- helpers


def check_behaviour_keys(settings: dict[str, Any], allowed: set[str] | frozenset[str]) -> None:
    """Raise a :class:`CellError` naming behaviour settings a family does not know."""
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise CellError(f"unknown behaviour setting(s) {unknown}; allowed: {sorted(allowed)}")


def agent_actions(agent: Any, obs: np.ndarray, space: gym.Space, agent_name: str) -> np.ndarray:
    """``agent.act`` on a batch (n, d), checked against the single action ``space``.

    Returns (n,) for ``Discrete`` and (n, k) for ``MultiDiscrete`` int64 arrays; raises
    :class:`CellError` naming the agent and the first bad row otherwise.
    """
    n = len(obs)
    try:
        raw = agent.act(obs)
    except Exception as exc:
        raise CellError(f"agent {agent_name!r} raised in act(): {type(exc).__name__}: "
                        f"{exc}") from exc
    arr = np.asarray(raw)
    if isinstance(space, gym.spaces.Discrete):
        want: tuple[int, ...] = (n,)
        if arr.shape == (n, 1):
            arr = arr[:, 0]
        high = np.full(want, space.n + space.start)
        low = np.full(want, space.start)
    elif isinstance(space, gym.spaces.MultiDiscrete):
        want = (n, *space.shape)
        high = np.broadcast_to(space.nvec + space.start, want)
        low = np.broadcast_to(space.start, want)
    else:  # pragma: no cover - every family here uses discrete actions
        raise CellError(f"unsupported action space {space}")
    if arr.shape != want:
        raise CellError(
            f"agent {agent_name!r} returned actions of shape {arr.shape} for {n} "
            f"observations; the action space {space} needs shape {want}"
        )
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise CellError(
                f"agent {agent_name!r} returned non-integer actions (dtype {arr.dtype}); "
                f"the action space is {space}"
            )
    bad = (arr < low) | (arr >= high)
    if bad.any():
        row = int(np.flatnonzero(bad.reshape(n, -1).any(axis=1))[0])
        raise CellError(
            f"agent {agent_name!r} returned out-of-space actions: row {row} is "
            f"{arr[row].tolist()}, outside {space}"
        )
    return arr.astype(np.int64)


def agent_probs(agent: Any, obs: np.ndarray, n_actions: int, agent_name: str) -> np.ndarray | None:
    """``agent.action_probs(obs)`` checked as (n, n_actions) rows summing to 1, or None
    for agents without ``action_probs``."""
    fn = getattr(agent, "action_probs", None)
    if fn is None:
        return None
    try:
        probs = np.asarray(fn(obs), dtype=np.float64)
    except NotImplementedError:
        return None
    except Exception as exc:
        raise CellError(f"agent {agent_name!r} raised in action_probs(): "
                        f"{type(exc).__name__}: {exc}") from exc
    if probs.shape != (len(obs), n_actions):
        raise CellError(
            f"agent {agent_name!r}: action_probs returned shape {probs.shape}; expected "
            f"({len(obs)}, {n_actions})"
        )
    if not np.all(np.isfinite(probs)) or probs.min() < -1e-9 or not np.allclose(
        probs.sum(axis=1), 1.0, atol=1e-4
    ):
        raise CellError(
            f"agent {agent_name!r}: action_probs rows must be finite, non-negative and sum to 1"
        )
    return np.clip(probs, 0.0, None)


def one_hot(index: np.ndarray, n: int) -> np.ndarray:
    """(m,) int -> (m, n) float64 one-hot rows."""
    out = np.zeros((len(index), n))
    out[np.arange(len(index)), index] = 1.0
    return out


def ridge_reward_model(
    features: np.ndarray, reward: np.ndarray, ridge: float = 1.0
) -> np.ndarray:
    """Least squares weights of ``reward`` (m,) on ``features`` (m, p), with an L2 penalty."""
    x = np.asarray(features, dtype=np.float64)
    gram = x.T @ x + ridge * np.eye(x.shape[1])
    return np.linalg.solve(gram, x.T @ np.asarray(reward, dtype=np.float64))
