"""The typed view of two-stage logs, and the one check of them (Ma et al., "Off-policy
Learning in Two-stage Recommender Systems", WWW 2020).

A two-stage round: a candidate generator nominated ``k`` items (``extras['candidates']``,
(n, k)), the deployed ranker (``system['ranker_weights']`` over ``system['item_features']``)
showed one of them first (``action``) and the user clicked or not (``reward``). The paper's
own MovieLens protocol (``TwoStagePaper-v0``) logs movies drawn without replacement instead:
each user visit is ``logged_per_user`` consecutive rows and ``candidates`` holds the visit's
logged movies. :class:`TwoStageView` names these columns and checks, when a dataset is built
or loaded, that they belong together; agents and estimators read the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from recsim_envs.data.dataset import DatasetError
from recsim_envs.data.views import FamilyView
from recsim_envs.two_stage.family import FAMILY


@dataclass(frozen=True)
class TwoStageView(FamilyView):
    """Two-stage logs: the candidates (n, width) the ranker chose from, the item features
    (n_items, item_dim) and the ranker's weights (obs_dim + 1, item_dim + 1); ``action`` is
    the item shown first."""

    family: ClassVar[str] = FAMILY.name
    extras: ClassVar[tuple[str, ...]] = ("candidates",)
    system: ClassVar[tuple[str, ...]] = ("item_features", "ranker_weights")

    def check(self) -> None:
        """The catalogue, feature shapes and candidate ids agree with each other and with
        the metadata; a mismatch means the parts were logged from different environments."""
        n_items, items, ranker = self.n_items, self.item_features, self.ranker_weights
        if items.ndim != 2 or items.shape[0] != n_items:
            raise DatasetError(
                f"system['item_features'] has shape {items.shape} but the metadata says "
                f"{n_items} items: the system arrays come from another environment "
                "(mismatched catalogue size)")
        obs_dim = int(self.dataset.context.shape[1])
        if self.obs_dim != obs_dim:
            raise DatasetError(
                f"context has {obs_dim} features but the metadata says obs_dim="
                f"{self.obs_dim}: the rows were logged from another environment "
                "(mismatched feature shape)")
        want = (obs_dim + 1, self.item_dim + 1)
        if ranker.shape != want:
            raise DatasetError(
                f"system['ranker_weights'] has shape {ranker.shape}; a ranker over {obs_dim} "
                f"user and {self.item_dim} item features needs {want}: the system arrays come "
                "from another environment (mismatched feature shape)")
        if not (np.all(np.isfinite(items)) and np.all(np.isfinite(ranker))):
            raise DatasetError("system['item_features'] or system['ranker_weights'] hold NaN "
                               "or infinite values")
        cands, width = self.candidates, self.logged_width
        if cands.ndim != 2 or cands.shape[1] != width:
            raise DatasetError(f"extras['candidates'] has shape {cands.shape}; expected "
                               f"(n, {width}) (n_candidates={self.n_candidates})")
        if cands.size and (cands.min() < 0 or cands.max() >= n_items):
            raise DatasetError(f"extras['candidates'] holds item ids in [{cands.min()}, "
                               f"{cands.max()}], outside the catalogue [0, {n_items})")

    @property
    def candidates(self) -> np.ndarray:
        """(n, width) item ids: the generator's nominations (the visit's logged movies in
        the paper's protocol)."""
        return self.dataset.extras["candidates"]

    @property
    def item_features(self) -> np.ndarray:
        """(n_items, item_dim) the catalogue's features."""
        return self.dataset.system["item_features"]

    @property
    def ranker_weights(self) -> np.ndarray:
        """(obs_dim + 1, item_dim + 1) the deployed bilinear ranker (bias columns last)."""
        return self.dataset.system["ranker_weights"]

    @property
    def n_items(self) -> int:
        return int(self.dataset.meta.n_actions)

    @property
    def obs_dim(self) -> int:
        """User features per row (the metadata's ``obs_dim``, else the context's width)."""
        return int(self.dataset.meta.info.get("obs_dim", self.dataset.context.shape[1]))

    @property
    def item_dim(self) -> int:
        return int(self.item_features.shape[1])

    @property
    def n_candidates(self) -> int:
        """k, the size of the generator's candidate set (the metadata's ``n_candidates``,
        else the candidates' width)."""
        cands = self.candidates
        return int(self.dataset.meta.info.get(
            "n_candidates", cands.shape[1] if cands.ndim == 2 else -1))

    @property
    def without_replacement(self) -> bool:
        """Whether the rows follow the paper's protocol (``TwoStagePaper-v0``): movies drawn
        without replacement per user visit, not the ranker's picks."""
        return self.dataset.meta.info.get("protocol") == "without_replacement"

    @property
    def rows_per_visit(self) -> int:
        """Consecutive rows of one user visit: ``logged_per_user`` in the paper's protocol,
        else 1."""
        if not self.without_replacement:
            return 1
        return int(self.dataset.meta.info.get("logged_per_user", self.n_candidates))

    @property
    def logged_width(self) -> int:
        """Columns of ``candidates``: k, or the visit's logged movies in the paper's
        protocol."""
        return self.rows_per_visit if self.without_replacement else self.n_candidates
