"""What two-stage agents read from logged data, checked once for all of them.

:func:`check_two_stage_dataset` validates a :class:`~recsim_envs.data.LoggedDataset` from a
two-stage environment (Ma et al., WWW 2020: a candidate generator, a fixed ranker) and
returns the system's :class:`TwoStageShapes`; the learned generators
(:mod:`agents.two_stage.base`) and the reference policies (:mod:`agents.two_stage.reference`)
start their ``fit`` with it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agents.base import AgentError
from recsim_envs.data import LoggedDataset
from recsim_envs.two_stage.family import FAMILY


class TwoStageShapes(NamedTuple):
    """What a two-stage dataset says about the system it was logged from."""

    n_items: int
    obs_dim: int
    item_dim: int
    n_candidates: int


def check_two_stage_dataset(
    dataset: LoggedDataset, n_candidates: int | None = None
) -> TwoStageShapes:
    """Validate a dataset for two-stage agents; raise :class:`AgentError` naming the problem.

    Checks: the two-stage family; ``candidates``, ``item_features`` and ``ranker_weights``
    present; consistent catalogue size and feature shapes between the metadata, the
    context, the item features and the ranker (a mismatch means the rows were logged from
    another environment); propensities in (0, 1]; item ids inside the catalogue; at least
    one positive reward.
    """
    if not isinstance(dataset, LoggedDataset):
        raise AgentError(f"fit needs a LoggedDataset, got {type(dataset).__name__}")
    family = dataset.meta.info.get("family")
    if family != FAMILY.name:
        raise AgentError(
            f"two-stage agents learn from two-stage data; this dataset's family is {family!r} "
            f"(env {dataset.meta.env_id!r})"
        )
    missing = [n for n in ("candidates",) if n not in dataset.extras]
    missing += [n for n in ("item_features", "ranker_weights") if n not in dataset.system]
    if missing:
        raise AgentError(
            f"the dataset lacks {missing}; collect it with recsim_envs.data.collect from a "
            "two-stage environment"
        )
    n = len(dataset)
    if n == 0:
        raise AgentError("the dataset has no rows")
    items = np.asarray(dataset.system["item_features"])
    ranker = np.asarray(dataset.system["ranker_weights"])
    n_items, obs_dim = int(dataset.meta.n_actions), dataset.context.shape[1]
    if items.ndim != 2 or items.shape[0] != n_items:
        raise AgentError(
            f"item_features has shape {items.shape} but the metadata says {n_items} items: "
            "the system arrays come from another environment (mismatched catalogue size)"
        )
    info_dim = dataset.meta.info.get("obs_dim", obs_dim)
    if info_dim != obs_dim:
        raise AgentError(
            f"context has {obs_dim} features but the metadata says obs_dim={info_dim}: the "
            "rows were logged from another environment (mismatched feature shape)"
        )
    if ranker.shape != (obs_dim + 1, items.shape[1] + 1):
        raise AgentError(
            f"ranker_weights has shape {ranker.shape}; a ranker over {obs_dim} user and "
            f"{items.shape[1]} item features needs {(obs_dim + 1, items.shape[1] + 1)}: the "
            "system arrays come from another environment (mismatched feature shape)"
        )
    if not (np.all(np.isfinite(items)) and np.all(np.isfinite(ranker))):
        raise AgentError("item_features or ranker_weights hold NaN or infinite values")
    cands = np.asarray(dataset.extras["candidates"])
    k = int(dataset.meta.info.get("n_candidates", cands.shape[1] if cands.ndim == 2 else -1))
    # Logs drawn without replacement (the paper's protocol) carry the visit's logged items,
    # not a candidate set of size k.
    width = (int(dataset.meta.info.get("logged_per_user", k))
             if dataset.meta.info.get("protocol") == "without_replacement" else k)
    if cands.ndim != 2 or cands.shape[1] != width:
        raise AgentError(
            f"candidates has shape {cands.shape}; expected (n, {width}) (n_candidates={k})")
    if n_candidates is not None and n_candidates != k:
        raise AgentError(
            f"the agent is configured for n_candidates={n_candidates} but the data were "
            f"logged with k={k}; drop the setting or log with the same k"
        )
    pscore = np.asarray(dataset.pscore, dtype=np.float64)
    bad = ~(np.isfinite(pscore) & (pscore > 0) & (pscore <= 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise AgentError(
            f"{int(bad.sum())} propensities are zero, missing or outside (0, 1] (first: row "
            f"{row}, pscore={pscore[row]!r}); importance weights need the logging policy's "
            "exact positive probability of every logged item"
        )
    for name, ids in (("action", dataset.action), ("candidates", cands)):
        if ids.size and (ids.min() < 0 or ids.max() >= n_items):
            raise AgentError(
                f"'{name}' holds item ids in [{ids.min()}, {ids.max()}], outside the catalogue "
                f"[0, {n_items})"
            )
    reward = np.asarray(dataset.reward)
    if not np.all(np.isfinite(reward)):
        raise AgentError("reward holds NaN or infinite values")
    if not np.any(reward > 0):
        raise AgentError(
            f"the dataset's {n} rows have no positive reward; these agents learn from logged "
            "positives (clicks): log more rounds or a better behaviour policy"
        )
    return TwoStageShapes(n_items, obs_dim, int(items.shape[1]), k)
