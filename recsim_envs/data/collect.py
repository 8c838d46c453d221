"""Collect logged rounds from an environment with a behaviour policy."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.core.policies import BehaviourPolicy
from recsim_envs.data.dataset import LoggedDataset


def collect(
    env_or_id: str | gym.Env,
    policy: BehaviourPolicy,
    n_rounds: int,
    seed: int,
    **env_kwargs: Any,
) -> LoggedDataset:
    """Log ``n_rounds`` rounds of ``policy`` in an environment, with exact propensities.

    Args:
        env_or_id: a registered id (made with ``env_kwargs``) or an environment instance.
        policy: the behaviour policy; its ``n_actions`` must match the environment's.
        n_rounds: number of logged rounds (rows).
        seed: seeds the collection; the same seed gives an element-wise identical dataset.

    Returns:
        A validated :class:`LoggedDataset`. The environment family decides what a round
        is (see each environment's ``log_rounds``); collection is vectorised, not a loop
        over ``env.step``.
    """
    if isinstance(env_or_id, str):
        env = gym.make(env_or_id, **env_kwargs)
    else:
        if env_kwargs:
            raise TypeError("env_kwargs are only used when an environment id is given")
        env = env_or_id
    base = env.unwrapped
    if not hasattr(base, "log_rounds"):
        raise TypeError(
            f"{type(base).__name__} does not support vectorised logging (no log_rounds method)"
        )
    if int(n_rounds) < 1:
        raise ValueError(f"n_rounds must be >= 1, got {n_rounds}")
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    rng = np.random.default_rng(int(seed))
    return base.log_rounds(policy, int(n_rounds), rng=rng, seed=int(seed))


def collect_sessions(
    env_or_id: str | gym.Env,
    policy: BehaviourPolicy,
    n_sessions: int,
    seed: int,
    **env_kwargs: Any,
) -> LoggedDataset:
    """Log ``n_sessions`` whole sessions of ``policy`` (sequential environments).

    Session estimators (per-decision IS, FQE, DR) need every session complete; a log cut
    at a number of rows keeps only the sessions that ended early. Same arguments as
    :func:`collect`, with a number of sessions; the environment implements
    ``log_sessions(policy, n_sessions, rng=..., seed=...)``.
    """
    env = gym.make(env_or_id, **env_kwargs) if isinstance(env_or_id, str) else env_or_id
    if env_kwargs and not isinstance(env_or_id, str):
        raise TypeError("env_kwargs are only used when an environment id is given")
    base = env.unwrapped
    if not hasattr(base, "log_sessions"):
        raise TypeError(f"{type(base).__name__} does not log whole sessions (no log_sessions "
                        "method); use collect(..., n_rounds) for one-step environments")
    if int(n_sessions) < 1:
        raise ValueError(f"n_sessions must be >= 1, got {n_sessions}")
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return base.log_sessions(policy, int(n_sessions), rng=np.random.default_rng(int(seed)),
                             seed=int(seed))
