"""Playing a session policy in a rating table under the stated quit rule: the simulator of
the model-based rollout estimate (:mod:`recsim_envs.ope.session_model`).

The session's public rules (:class:`SessionRules`: turn limit, the stated quit rule every
agent is shown as its action mask, the reward of a rating) are those of
:class:`~recsim_envs.sequential.dynamics.SessionDynamics`; only the ratings come from a table
the caller fitted. Many rating tables (bootstrap replicates) x users are played side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from recsim_envs.evaluation import AgentHandle
from recsim_envs.ope.targets import target_distribution
from recsim_envs.sequential.observation import ObsLayout


@dataclass(frozen=True)
class SessionRules:
    """The public rules of a session world that a rollout needs.

    Attributes:
        layout: the flat observation layout.
        item_category: (n_items,) category of each item.
        item_colour: (n_items,) colour of each item.
        item_popularity: (n_items,) public popularity.
        max_turns: turn limit.
        quit_window, max_same: the stated quit rule (``max_same`` None: repeats only).
        rating_min, rating_max: the rating scale.
        reward_type, click_threshold: reward of a rating (as ``SequentialRec-v0``).
    """

    layout: ObsLayout
    item_category: np.ndarray
    item_colour: np.ndarray
    item_popularity: np.ndarray
    max_turns: int
    quit_window: int
    max_same: int | None
    rating_min: float = 1.0
    rating_max: float = 5.0
    reward_type: str = "rating"
    click_threshold: float = 4.0

    def __post_init__(self) -> None:
        n = self.layout.n_items
        for name in ("item_category", "item_colour", "item_popularity"):
            if np.shape(getattr(self, name)) != (n,):
                raise ValueError(f"{name} must have shape ({n},) (the layout's n_items)")
        if self.reward_type not in ("rating", "click"):
            raise ValueError(f"reward_type must be 'rating' or 'click', got {self.reward_type!r}")
        if self.max_turns < 1 or self.quit_window < 1:
            raise ValueError("max_turns and quit_window must be >= 1")

    def would_quit(self, hist: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """(B, L) item history (padding n_items), (B,) items -> (B,) bool: the stated rule
        ends the session on this item (as :meth:`SessionDynamics.would_quit`)."""
        m = min(self.quit_window - 1, hist.shape[1])
        prev = hist[:, hist.shape[1] - m:]
        out = (prev == actions[:, None]).any(axis=1)
        if self.max_same is not None:
            cat = np.append(self.item_category, -1)
            same = (cat[prev] == cat[actions][:, None]).sum(axis=1) + 1
            out |= same > self.max_same
        return out


_HASH = np.random.default_rng(20261207).integers(1, 2**62, size=4096, dtype=np.int64) | 1
"""Odd multipliers of the row hash in :func:`_distinct_rows` (fixed: a hash, not a draw)."""


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, c) int64 rows -> (index of one row per distinct row, (B,) its distinct row of
    each row): np.unique(axis=0) semantics, via a 64-bit hash checked for collisions."""
    if rows.shape[1] > len(_HASH):
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        return first, inverse.reshape(-1)
    with np.errstate(over="ignore"):
        key = (rows * _HASH[:rows.shape[1]]).sum(axis=1)  # wraps modulo 2**64
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if not np.array_equal(rows[first][inverse], rows):  # a collision: exact fallback
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def simulate(agent: AgentHandle, rules: SessionRules, first_obs: np.ndarray,
             mean_ratings: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """Play the target from each user's first observation in each rating table.

    Args:
        agent: the target (its declared distribution, else a one-hot of ``act``).
        rules: :class:`SessionRules`.
        first_obs: (U, dim) a logged first observation of each user (empty history).
        mean_ratings: (R, U, n_items) model mean ratings.
        rng: draws the target's actions and the integer ratings.

    Returns:
        (R, U) simulated session returns and (R, U, n_items) how often each item was shown.
    """
    lay = rules.layout
    r, n_users, n_items = mean_ratings.shape
    k, d = lay.history_len, lay.user_dim
    length = max(k, rules.quit_window - 1)
    b = r * n_users
    table = mean_ratings.reshape(b, n_items)
    base = np.repeat(np.asarray(first_obs, np.float32)[None], r, axis=0).reshape(b, -1)
    hist = np.full((b, length), n_items, np.int64)
    fb = np.zeros((b, length), np.float32)
    returns, active = np.zeros(b), np.ones(b, bool)
    visits = np.zeros((b, n_items))
    user = np.tile(np.arange(n_users), r)
    space = gym.spaces.Discrete(n_items)
    for _ in range(rules.max_turns):
        idx = np.flatnonzero(active)
        if not idx.size:
            break
        obs = base[idx].copy()
        obs[:, 1 + d:1 + d + k] = hist[idx, length - k:]
        obs[:, 1 + d + k:1 + d + 2 * k] = fb[idx, length - k:]
        # the same (user, history, ratings) recurs across replicates: ask the agent once
        first_row, inverse = _distinct_rows(np.column_stack(
            [user[idx], hist[idx, length - k:], fb[idx, length - k:].astype(np.int64)]))
        probs = target_distribution(agent, obs[first_row], n_items, space)[inverse]
        cum = np.cumsum(probs, axis=1)
        a = np.minimum((cum < rng.random(len(idx))[:, None] * cum[:, -1:]).sum(axis=1),
                       n_items - 1)
        mean = table[idx, a]
        visits[idx, a] += 1.0
        low = np.floor(mean)
        drawn = np.clip(low + (rng.random(len(idx)) < mean - low), rules.rating_min,
                        rules.rating_max)
        returns[idx] += mean if rules.reward_type == "rating" else \
            (drawn >= rules.click_threshold)
        quit_ = rules.would_quit(hist[idx], a)
        hist[idx, :-1], hist[idx, -1] = hist[idx, 1:], a
        fb[idx, :-1], fb[idx, -1] = fb[idx, 1:], drawn
        active[idx[quit_]] = False
    return returns.reshape(r, n_users), visits.reshape(r, n_users, n_items)
