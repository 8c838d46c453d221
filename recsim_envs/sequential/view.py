"""The typed view of sequential session logs (Wang et al., 2025: sessions of
recommendations to users who may leave).

One row per turn: the flat observation (``context``), the item recommended (``action``), its
reward; ``extras`` hold the session id, the turn, the next observation and the end flags;
``system`` the observation layout and the catalogue's public arrays. Agents and estimators
read :class:`SessionView`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from recsim_envs.data.dataset import DatasetError
from recsim_envs.data.views import FamilyView
from recsim_envs.sequential.family import FAMILY
from recsim_envs.sequential.observation import ObsLayout


@dataclass(frozen=True)
class SessionView(FamilyView):
    """Sequential logs: one row per turn with its session id, turn, next observation and
    end flags; ``complete`` says whether every session in the log ended (logged with
    :func:`recsim_envs.data.collect_sessions`)."""

    family: ClassVar[str] = FAMILY.name
    extras: ClassVar[tuple[str, ...]] = ("episode_id", "step", "next_context", "terminated",
                                         "truncated")
    system: ClassVar[tuple[str, ...]] = ("obs_layout",)

    def check(self) -> None:
        if self.next_context.shape != self.dataset.context.shape:
            raise DatasetError("extras['next_context'] must have the shape of 'context'")

    @property
    def episode_id(self) -> np.ndarray:
        """(n,) the session of each row."""
        return self.dataset.extras["episode_id"]

    @property
    def step(self) -> np.ndarray:
        """(n,) the turn of each row within its session (0 first)."""
        return self.dataset.extras["step"]

    @property
    def next_context(self) -> np.ndarray:
        """(n, dim) the flat observation after each row's turn."""
        return self.dataset.extras["next_context"]

    @property
    def ended(self) -> np.ndarray:
        """(n,) bool: the session ended after this turn (terminated or truncated)."""
        ex = self.dataset.extras
        return ex["terminated"].astype(bool) | ex["truncated"].astype(bool)

    @property
    def terminated(self) -> np.ndarray:
        """(n,) bool: the user left after this turn."""
        return self.dataset.extras["terminated"].astype(bool)

    @property
    def obs_layout(self) -> ObsLayout:
        """Where the user id, features, recent items and feedback sit in ``context``."""
        return ObsLayout.from_array(self.dataset.system["obs_layout"])

    @property
    def item_features(self) -> np.ndarray:
        """(n_items, d) the catalogue's public item features."""
        return self.system_array("item_features")

    @property
    def item_category(self) -> np.ndarray:
        """(n_items,) the category id of each item."""
        return self.system_array("item_category")

    @property
    def item_popularity(self) -> np.ndarray:
        """(n_items,) the catalogue's public popularity."""
        return self.system_array("item_popularity")

    @property
    def complete(self) -> bool:
        return bool(self.dataset.meta.info.get("complete_sessions", False))

    def require_complete(self) -> None:
        if not self.complete:
            raise DatasetError(
                "session estimators need complete sessions: this log was cut at a number of "
                "rows, so it keeps only the sessions that ended early; log it with "
                "recsim_envs.data.collect_sessions(env, policy, n_sessions, seed)")
