"""Where the user of the sequential family responds: ratings, rewards and quitting.

The world (:mod:`recsim_envs.sequential.world`) fixes who the users are and how they rate
each item; :class:`SessionDynamics` plays a session on it, turn by turn: the user rates the shown
item with their true rating, the reward is read from the rating, and the user leaves when
bored (the quit rule of ``SequentialRec-v0``, after the Kuai / Coat / Yahoo RL simulators
used by Wang et al., "Large Language Model driven Policy Exploration for Recommender
Systems", WSDM 2025; see ``docs/sequential.md``). The single environment, the native vector
environment, logging and the privileged oracle all call it, so the user responds in this
one place.
"""

from __future__ import annotations

import numpy as np

from recsim_envs.sequential.observation import flatten_obs
from recsim_envs.sequential.world import SequentialWorld


class SessionDynamics:
    """Batched session dynamics shared by the single env, the vector env and logging.

    Holds the world and settings; every method works on arrays of B sessions at once.
    History buffers hold the last ``L = max(history_len, quit_window)`` items, oldest
    first, padded with ``n_items`` (item ids) and 0 (ratings).
    """

    def __init__(self, world: SequentialWorld, history_len: int, max_turns: int,
                 reward_type: str, click_threshold: float, quit_rule: str, quit_window: int,
                 max_same_category: int, distance_threshold: float | None) -> None:
        self.world = world
        self.k = history_len
        self.max_turns = max_turns
        self.reward_type = reward_type
        self.click_threshold = click_threshold
        self.quit_rule = quit_rule
        self.window = quit_window
        self.max_same = max_same_category
        self.L = max(history_len, quit_window)
        self.pad = world.n_items
        self.user_features = world.user_features()
        # Category of each item id, with the padding id mapped to an impossible category.
        self.cat = np.append(world.item_category, -1)
        if quit_rule == "distance":
            # Coat/Yahoo style: distance between items = mean |rating difference| over users.
            r = world.ratings.astype(np.float32)
            dist = np.abs(r.T[:, None, :] - r.T[None, :, :]).mean(axis=2) \
                if world.n_items <= 400 else _column_distances(r)
            if distance_threshold is None:
                off = dist[~np.eye(len(dist), dtype=bool)]
                distance_threshold = float(np.quantile(off, 0.05))
            self.dist = np.pad(dist, ((0, 1), (0, 1)), constant_values=np.inf)
        self.distance_threshold = distance_threshold
        # (n_items + 1, d) public item attributes, padding row 0; set by show_item_features
        self.item_table: np.ndarray | None = None

    def show_item_features(self) -> None:
        """Add ``item_features`` (n_items, d) and ``recent_item_features`` (k, d) to every
        observation (``SequentialRec-v0(item_features=True)``): the public catalogue
        attributes of :meth:`SequentialWorld.item_features`, 0 for padding slots."""
        feats = self.world.item_features().astype(np.float32)
        self.item_table = np.vstack([feats, np.zeros((1, feats.shape[1]), np.float32)])

    def empty_history(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """(B, L) item ids (all padding) and (B, L) ratings (all 0) of B new sessions."""
        return (np.full((b, self.L), self.pad, np.int64), np.zeros((b, self.L), np.float32))

    def clear(self, hist: np.ndarray, fb: np.ndarray, t: np.ndarray, rows: np.ndarray) -> None:
        """Empty the histories and turn counters of sessions ``rows`` (in place)."""
        hist[rows], fb[rows] = self.pad, 0.0
        t[rows] = 0

    def obs(self, users: np.ndarray, hist: np.ndarray, fb: np.ndarray) -> dict[str, np.ndarray]:
        """Batched Dict observation of B sessions."""
        out = {
            "user_id": users.astype(np.int64),
            "user_features": self.user_features[users],
            "recent_items": hist[:, -self.k:].copy(),
            "recent_feedback": fb[:, -self.k:].copy(),
        }
        if self.item_table is not None:
            table = self.item_table
            out["item_features"] = np.broadcast_to(table[:-1], (len(users), *table[:-1].shape)
                                                   ).copy()
            out["recent_item_features"] = table[out["recent_items"]]
        return out

    def flat_obs(self, users: np.ndarray, hist: np.ndarray, fb: np.ndarray) -> np.ndarray:
        """(B, dim) flat observations (:class:`~recsim_envs.sequential.observation.ObsLayout`)."""
        return flatten_obs(self.obs(users, hist, fb))

    def would_quit(self, hist: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """(B, L) history, (B,) new items -> (B,) bool: does the user leave after this item?

        The window is the new item plus the previous ``quit_window - 1`` items; at the
        start of an episode it holds only the items shown so far (padding never counts).
        """
        prev = hist[:, self.L - (self.window - 1):] if self.window > 1 else hist[:, :0]
        repeat = (prev == actions[:, None]).any(axis=1)
        if self.quit_rule == "category":
            same = (self.cat[prev] == self.cat[actions][:, None]).sum(axis=1) + 1
            return repeat | (same > self.max_same)
        d = self.dist[prev, actions[:, None]]
        return repeat | (d < self.distance_threshold).any(axis=1)

    def safe_items(self, hist: np.ndarray) -> np.ndarray:
        """(B, L) history -> (B, n_items) bool: items on which the quit rule would *not*
        end the session (the action mask, sb3-contrib's convention).

        Element-wise ``~would_quit(hist, j)`` for every item ``j``, in one batched call. A
        row where every item would end the session is all True (a mask must allow some
        action; the user then leaves whatever is shown). Quitting that does not depend on
        the item (a fitted world's patience) is not part of the mask.
        """
        n, b = self.world.n_items, len(hist)
        prev = hist[:, self.L - (self.window - 1):] if self.window > 1 else hist[:, :0]
        quits = np.zeros((b, n + 1), bool)  # column n: the padding id
        np.put_along_axis(quits, prev, True, axis=1)
        quits = quits[:, :n]
        if self.quit_rule == "category":
            n_cat = int(self.cat.max()) + 1
            cat_prev = np.where(prev == self.pad, n_cat, self.cat[prev])
            counts = (cat_prev[:, :, None] == np.arange(n_cat)).sum(axis=1)  # (B, n_cat)
            crowded = counts + 1 > self.max_same  # decided per category, then per item
            quits |= crowded[:, self.cat[:n]]
        else:
            quits |= (self.dist[prev][:, :, :n] < self.distance_threshold).any(axis=1)
        safe = ~quits
        safe[~safe.any(axis=1)] = True
        return safe

    def rating(self, users: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """(B,) users, (B,) items -> (B,) true ratings."""
        return self.world.ratings[users, actions]

    def reward(self, rating: np.ndarray) -> np.ndarray:
        """(B,) ratings -> (B,) float32 rewards (the rating, or a click at the threshold)."""
        if self.reward_type == "click":
            return (rating >= self.click_threshold).astype(np.float32)
        return rating.astype(np.float32)

    def step(self, users: np.ndarray, hist: np.ndarray, fb: np.ndarray, t: np.ndarray,
             actions: np.ndarray):
        """Advance B sessions by one turn (in place on hist, fb, t).

        Returns (rating, reward, terminated, truncated), each (B,).
        """
        rating = self.rating(users, actions)
        quit_ = self.would_quit(hist, actions)
        hist[:, :-1] = hist[:, 1:]
        hist[:, -1] = actions
        fb[:, :-1] = fb[:, 1:]
        fb[:, -1] = rating
        t += 1
        truncated = ~quit_ & (t >= self.max_turns)
        return rating, self.reward(rating), quit_, truncated


def _column_distances(r: np.ndarray) -> np.ndarray:
    # Memory-light version for large catalogues: one item block at a time.
    n = r.shape[1]
    out = np.empty((n, n), np.float32)
    for s in range(0, n, 64):
        out[s:s + 64] = np.abs(r.T[s:s + 64, None, :] - r.T[None, :, :]).mean(axis=2)
    return out
