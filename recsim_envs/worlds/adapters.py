"""Other sources of interactions as an :class:`~recsim_envs.worlds.table.InteractionTable`.

- :func:`from_movielens`: a MovieLens folder in a published layout (ML-100K or ML-1M),
  read by :mod:`recsim_envs.two_stage.movielens_data` (with its completeness checks); user features
  are the demographics (categorical), item features the release year and genres.
- :func:`from_logged_dataset`: logs of this suite; the family's harness says who the users
  are and what a positive is (sequential logs carry the user id in the first context
  column; one-step logs identify a user by their context row), and
  ``system["item_features"]`` are the items'.
- :func:`from_arrays`: plain arrays (what the two above build on).
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from recsim_envs.worlds.table import InteractionTable, TableError, check_table


def _array_sha256(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def from_arrays(
    user: np.ndarray, item: np.ndarray, label: np.ndarray, *,
    value: np.ndarray | None = None, timestamp: np.ndarray | None = None,
    user_features: np.ndarray | None = None, item_features: np.ndarray | None = None,
    n_users: int | None = None, n_items: int | None = None,
    label_rule: str = "label", source: str = "arrays",
) -> InteractionTable:
    """Interactions given as arrays of indices in ``[0, n_users)`` and ``[0, n_items)``.

    Args:
        user, item: (n,) integer indices; label: (n,) in {0, 1}.
        value: (n,) raw label values (defaults to ``label``); timestamp: (n,) seconds.
        user_features: (n_users, d_u); item_features: (n_items, d_i), already numeric.
    """
    user = np.asarray(user, np.int64)
    item = np.asarray(item, np.int64)
    label = np.asarray(label, np.float32)
    n_users = int(n_users if n_users is not None else user.max() + 1)
    n_items = int(n_items if n_items is not None else item.max() + 1)
    if not (len(user) == len(item) == len(label)):
        raise TableError(f"{source}: user, item and label have different lengths")
    if not np.isin(label, (0.0, 1.0)).all():
        raise TableError(f"{source}: labels must be 0 or 1")
    for name, idx, n in (("user", user, n_users), ("item", item, n_items)):
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise TableError(f"{source}: {name} indices must lie in [0, {n})")
        seen = np.bincount(idx, minlength=n)
        if (seen == 0).any():
            raise TableError(f"{source}: {name} {int(np.flatnonzero(seen == 0)[0])} has no "
                             "interactions; drop it (re-index) before fitting")
    uf = np.zeros((n_users, 0), np.float32) if user_features is None else user_features
    itf = np.zeros((n_items, 0), np.float32) if item_features is None else item_features
    table = InteractionTable(
        user=user, item=item, label=label,
        value=label.copy() if value is None else np.asarray(value, np.float32),
        timestamp=None if timestamp is None else np.asarray(timestamp, np.int64),
        user_ids=np.arange(n_users).astype(str), item_ids=np.arange(n_items).astype(str),
        user_features=np.asarray(uf, np.float32), item_features=np.asarray(itf, np.float32),
        user_feature_names=tuple(f"u{j}" for j in range(np.shape(uf)[1])),
        item_feature_names=tuple(f"i{j}" for j in range(np.shape(itf)[1])),
        label_rule=label_rule, source=source,
        sha256=_array_sha256(user, item, label, np.asarray(uf), np.asarray(itf)),
    )
    check_table(table)
    return table


def from_movielens(data_dir: str | os.PathLike, dataset: str = "auto") -> InteractionTable:
    """A MovieLens release (label rating > 3, with timestamps, demographics and genres)."""
    from recsim_envs.two_stage.movielens_data import load_movielens
    from recsim_envs.two_stage.movielens_files import find_movielens, movielens_files
    from recsim_envs.two_stage.movielens_world import user_feature_matrix
    from recsim_envs.worlds.table import file_sha256

    fmt, folder = find_movielens(data_dir, dataset)
    data = load_movielens(folder, fmt)
    year = data.year.astype(np.float64)
    year_z = np.clip((year - year.mean()) / max(year.std(), 1e-6), -3, 3)
    item_features = np.hstack([year_z[:, None], data.genres]).astype(np.float32)
    files = movielens_files(fmt, folder)
    table = InteractionTable(
        user=data.rating_user, item=data.rating_movie,
        label=(data.rating > 3).astype(np.float32), value=data.rating.astype(np.float32),
        timestamp=data.timestamp, user_ids=data.user_ids.astype(str),
        item_ids=data.movie_ids.astype(str),
        user_features=user_feature_matrix(data), item_features=item_features,
        user_feature_names=("gender", *(f"age{i}" for i in range(7)),
                            *(f"occupation{i}" for i in range(21)),
                            *(f"zip{i}" for i in range(11))),
        item_feature_names=("year", *data.genre_names), label_rule="rating > 3",
        source=f"MovieLens {fmt} at {folder}", sha256=file_sha256(files),
        info={"titles": data.titles},
    )
    check_table(table)
    return table


def from_logged_dataset(dataset) -> InteractionTable:
    """Logged rounds of this suite as interactions: who the users are and what a positive
    is are the family's (its harness's ``interactions``)."""
    from recsim_envs.evaluation.harness import get_harness

    family = dataset.meta.info.get("family", "")
    try:
        harness = get_harness(family)
    except ValueError as exc:
        raise TableError(f"LoggedDataset from {dataset.meta.env_id}: {exc}") from exc
    user, uf, label_rule, label = harness.interactions(dataset)
    item_ids, item = np.unique(dataset.action, return_inverse=True)
    itf = dataset.system.get("item_features")
    if itf is not None:
        itf = np.asarray(itf, np.float32)[item_ids]
    return from_arrays(
        user, item, np.asarray(label).astype(np.float32), value=dataset.reward,
        user_features=uf, item_features=itf, label_rule=label_rule,
        source=f"LoggedDataset from {dataset.meta.env_id}",
    )
