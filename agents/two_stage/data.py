"""What two-stage agents read from logged data.

The logs are checked by the one two-stage validator,
:class:`~recsim_envs.two_stage.view.TwoStageView` (Ma et al., WWW 2020: a candidate
generator, a fixed ranker): the family, the columns, the catalogue and feature shapes, the
candidates' width and ids. :func:`two_stage_view` runs it (with the dataset's own checks of
propensities, item ids and finite values) and adds only what the agents themselves need: a
non-empty log with logged positives, and the agent's ``n_candidates`` setting matching the
logs. The learned generators (:mod:`agents.two_stage.base`), the linear IPS generator and
the reference policies (:mod:`agents.two_stage.reference`) start their ``fit`` with it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agents.base import AgentError
from recsim_envs.data import DatasetError, LoggedDataset
from recsim_envs.two_stage.view import TwoStageView


class TwoStageShapes(NamedTuple):
    """What a two-stage dataset says about the system it was logged from (kept in an
    agent's checkpoint)."""

    n_items: int
    obs_dim: int
    item_dim: int
    n_candidates: int

    @classmethod
    def of(cls, view: TwoStageView) -> TwoStageShapes:
        return cls(view.n_items, view.obs_dim, view.item_dim, view.n_candidates)


def two_stage_view(dataset: LoggedDataset, n_candidates: int | None = None) -> TwoStageView:
    """The checked :class:`TwoStageView` of ``dataset`` for a two-stage agent; raise
    :class:`AgentError` naming the problem.

    The dataset's checks run again (:meth:`LoggedDataset.validate`, the view's included):
    its arrays can have changed since it was built, and an agent must not learn from
    propensities that are zero or item ids outside the catalogue.
    """
    if not isinstance(dataset, LoggedDataset):
        raise AgentError(f"fit needs a LoggedDataset, got {type(dataset).__name__}")
    try:
        view = TwoStageView.of(dataset)  # first: a wrong family is named as such
        dataset.validate()
    except DatasetError as exc:
        raise AgentError(f"two-stage agents cannot learn from these logs: {exc}") from exc
    if len(dataset) == 0:
        raise AgentError("the dataset has no rows")
    if n_candidates is not None and n_candidates != view.n_candidates:
        raise AgentError(
            f"the agent is configured for n_candidates={n_candidates} but the data were "
            f"logged with k={view.n_candidates}; drop the setting or log with the same k"
        )
    if not np.any(np.asarray(dataset.reward) > 0):
        raise AgentError(
            f"the dataset's {len(dataset)} rows have no positive reward; these agents learn "
            "from logged positives (clicks): log more rounds or a better behaviour policy"
        )
    return view
