"""The observation of ``SequentialRec-v0``: the Dict space, the flat layout agents and logged
data use, and the wrapper that flattens one into the other.

Paper context: the state of Wang et al., "Large Language Model driven Policy Exploration for
Recommender Systems" (WSDM 2025) - a user and their last k items with the ratings given.

Contents:
    :class:`ObsLayout` - where each part of the observation sits in the flat vector.
    :func:`flatten_obs` - Dict observation (single or batched) -> flat float32.
    :class:`SequentialFlatObservation` - wrapper to a flat ``Box`` observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


@dataclass(frozen=True)
class ObsLayout:
    """Where each part of the observation sits in the flat vector.

    Flat observation (float32, length ``dim``):
    ``[user_id (1), user_features (user_dim), items (k), feedback (k)]``; ``items`` are ids
    (as floats) padded with ``n_items`` at the front, ``feedback`` the ratings, 0 for padding.
    """

    n_users: int
    n_items: int
    user_dim: int
    history_len: int

    @property
    def dim(self) -> int:
        return 1 + self.user_dim + 2 * self.history_len

    def split(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(n, dim) -> user ids (n,) int64, features (n, user_dim), items (n, k) int64,
        feedback (n, k)."""
        flat = np.asarray(flat)
        k, d = self.history_len, self.user_dim
        return (
            flat[:, 0].astype(np.int64),
            flat[:, 1:1 + d],
            flat[:, 1 + d:1 + d + k].astype(np.int64),
            flat[:, 1 + d + k:1 + d + 2 * k],
        )

    def to_array(self) -> np.ndarray:
        return np.array([self.n_users, self.n_items, self.user_dim, self.history_len], np.int64)

    @classmethod
    def from_array(cls, arr: np.ndarray) -> ObsLayout:
        a = [int(x) for x in np.asarray(arr).ravel()]
        return cls(n_users=a[0], n_items=a[1], user_dim=a[2], history_len=a[3])


def flatten_obs(obs: dict[str, np.ndarray]) -> np.ndarray:
    """Dict observation (single or batched) -> flat float32 (dim,) or (n, dim)."""
    user = np.asarray(obs["user_id"], np.float32)
    batched = user.ndim == 1
    parts = [
        user.reshape(-1, 1),
        np.asarray(obs["user_features"], np.float32).reshape(user.size, -1),
        np.asarray(obs["recent_items"], np.float32).reshape(user.size, -1),
        np.asarray(obs["recent_feedback"], np.float32).reshape(user.size, -1),
    ]
    flat = np.concatenate(parts, axis=1)
    return flat if batched else flat[0]


def single_obs_space(layout: ObsLayout, rating_max: float, item_dim: int = 0) -> spaces.Dict:
    # The Dict observation space of one session (see SequentialRecEnv's docstring);
    # item_dim > 0 adds the public item attributes (item_features=True).
    k = layout.history_len
    keys = {
        "user_id": spaces.Discrete(layout.n_users),
        "user_features": spaces.Box(0.0, 1.0, (layout.user_dim,), np.float32),
        "recent_items": spaces.MultiDiscrete(np.full(k, layout.n_items + 1, np.int64)),
        "recent_feedback": spaces.Box(0.0, float(rating_max), (k,), np.float32),
    }
    if item_dim:
        keys["item_features"] = spaces.Box(0.0, 1.0, (layout.n_items, item_dim), np.float32)
        keys["recent_item_features"] = spaces.Box(0.0, 1.0, (k, item_dim), np.float32)
    return spaces.Dict(keys)


class SequentialFlatObservation(gym.ObservationWrapper):
    """Flattens the Dict observation into one ``Box`` (see :class:`ObsLayout`).

    Layout: ``[user_id, user_features (14), items (history_len), feedback (history_len)]``
    as float32; item ids are raw ids (``n_items`` = padding), not one-hot, so learners
    should embed them. This is the ``context`` of logged data and what agents receive.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        lay: ObsLayout = env.unwrapped.layout
        rmax = float(env.unwrapped.world.rating_max)
        k, d = lay.history_len, lay.user_dim
        low = np.zeros(lay.dim, np.float32)
        high = np.concatenate([[lay.n_users - 1], np.ones(d), np.full(k, lay.n_items),
                               np.full(k, rmax)]).astype(np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.layout = lay

    def observation(self, observation: dict[str, Any]) -> np.ndarray:
        return flatten_obs(observation)
