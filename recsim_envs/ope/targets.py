"""The target policy's actions and distribution on logged contexts, checked.

Every family's off-policy inputs start here: the deployed policy is the distribution an agent
declares, or a one-hot of ``act`` for deterministic agents (the policy ``act`` deploys).
Problems raise :class:`recsim_envs.evaluation.ContractError` naming the agent.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.evaluation.contract import AgentHandle, ContractError
from recsim_envs.ope.policy import one_hot


def agent_actions(agent: Any, obs: np.ndarray, space: gym.Space, agent_name: str) -> np.ndarray:
    """``agent.act`` on a batch (n, d), checked against the single action ``space``.

    Returns (n,) for ``Discrete`` and (n, k) for ``MultiDiscrete`` int64 arrays; raises
    :class:`ContractError` naming the agent and the first bad row otherwise.
    """
    n = len(obs)
    try:
        raw = agent.act(obs)
    except Exception as exc:
        raise ContractError(f"agent {agent_name!r} raised in act(): {type(exc).__name__}: "
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
        raise ContractError(f"unsupported action space {space}")
    if arr.shape != want:
        raise ContractError(
            f"agent {agent_name!r} returned actions of shape {arr.shape} for {n} "
            f"observations; the action space {space} needs shape {want}"
        )
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ContractError(
                f"agent {agent_name!r} returned non-integer actions (dtype {arr.dtype}); "
                f"the action space is {space}"
            )
    bad = (arr < low) | (arr >= high)
    if bad.any():
        row = int(np.flatnonzero(bad.reshape(n, -1).any(axis=1))[0])
        raise ContractError(
            f"agent {agent_name!r} returned out-of-space actions: row {row} is "
            f"{arr[row].tolist()}, outside {space}"
        )
    return arr.astype(np.int64)


def target_distribution(agent: AgentHandle, obs: np.ndarray, n_actions: int,
                        space: gym.Space) -> np.ndarray:
    """The deployed policy's distribution (n, n_actions) over one-action spaces: the
    declared one, or a one-hot of ``act`` for deterministic agents."""
    probs = agent.distribution(obs, n_actions)
    if probs is None:
        probs = one_hot(agent_actions(agent, obs, space, agent.name), n_actions)
    return probs
