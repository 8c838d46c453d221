"""Fit a world on a table of interactions: a learned response model plus the public system.

:func:`fit` trains the neural simulator of :mod:`recsim_envs.two_stage.simulator` (id embeddings,
projected numeric and one-hot categorical features, an MLP, BCE with Adagrad; Ma et al.,
WWW 2020 reference code) on a training split, evaluates it on a held-out split (log loss,
ROC AUC, expected calibration error, a reliability plot) and tabulates its probability for
every user x item pair: that table is the simulated users' private response model.

The recommender's public side is built from the *training log only*, never from the model:
item categories (signs of the top three singular vectors of the +-1 label matrix, 8
categories), per-user and per-item activity and positive rates, category shares; a
bilinear ranker and a default behaviour scorer fitted on clicks sampled from the table.
For sessions, a quit model is fitted when timestamps give sessions (see :func:`patience`).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsim_envs.core.threads import torch_threads
from recsim_envs.two_stage.simulator import (
    SimulatorConfig,
    TrainedSimulator,
    fit_params,
    init_params,
    predict_matrix,
    roc_auc,
)
from recsim_envs.worlds.store import FittedWorld
from recsim_envs.worlds.table import InteractionTable, TableError

FAMILIES = ("two_stage", "sequential")
N_CATEGORIES = 8  # 2**3 sign patterns; the sequential family's catalogue has 8 categories


@dataclass(frozen=True)
class FitConfig:
    """Settings of :func:`fit`.

    Attributes:
        family: ``"two_stage"`` or ``"sequential"`` (recorded; both environments load any world).
        seed: seeds the split, the simulator (a ``torch.Generator``), categories and fits.
        simulator: :class:`~recsim_envs.two_stage.simulator.SimulatorConfig` or a dict of its
            fields;
            its ``valid_fraction`` is the held-out share.
        session_gap: seconds of inactivity that end a session (default 30 minutes).
        test_fraction: share of users held out for the sequential family's evaluation.
        n_bins: bins of the calibration error and the reliability plot.
        ranker_fit_cells: random (user, item) cells whose sampled clicks fit the ranker.
        progress: show progress bars on stderr while training.
    """

    family: str = "two_stage"
    seed: int = 0
    simulator: Any = field(default_factory=SimulatorConfig)
    session_gap: float = 1800.0
    test_fraction: float = 0.2
    n_bins: int = 10
    ranker_fit_cells: int = 20_000
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "simulator", SimulatorConfig.from_any(self.simulator))
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        if not self.session_gap > 0:
            raise ValueError(f"session_gap must be > 0 seconds, got {self.session_gap}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be >= 2, got {self.n_bins}")
        if self.ranker_fit_cells < 100:
            raise ValueError(f"ranker_fit_cells must be >= 100, got {self.ranker_fit_cells}")
        if not 0 < self.simulator.valid_fraction < 0.5:
            raise ValueError("simulator valid_fraction must be in (0, 0.5): a fitted world "
                             "reports held-out metrics")


def split(table: InteractionTable, fraction: float, rng: np.random.Generator
          ) -> tuple[np.ndarray, np.ndarray]:
    """Random hold-out of ``fraction`` of rows; rows whose user or item would have no
    training interaction go back to training (every id keeps at least one). Returns
    (train_rows, valid_rows), sorted int64."""
    n = len(table)
    held = np.zeros(n, bool)
    held[rng.permutation(n)[: int(round(fraction * n))]] = True
    for idx, size in ((table.user, table.n_users), (table.item, table.n_items)):
        uncovered = np.bincount(idx[~held], minlength=size) == 0
        held &= ~uncovered[idx]
    return np.flatnonzero(~held), np.flatnonzero(held)


def _inputs(features: np.ndarray) -> np.ndarray:
    # A table without features still needs a (constant) input column for the projection.
    return features if features.shape[1] else np.zeros((len(features), 1), np.float32)


def train(table: InteractionTable, rows: np.ndarray, config: SimulatorConfig, seed: int,
          progress: bool = True) -> TrainedSimulator:
    """The simulator of :func:`recsim_envs.two_stage.simulator.train_simulator` on ``rows``, with a
    progress bar (one torch thread: identical results and no oversubscription)."""
    import torch
    from tqdm.auto import tqdm

    with torch_threads(1):
        generator = torch.Generator().manual_seed(int(seed))
        xu = torch.as_tensor(_inputs(table.user_features))
        xi = torch.as_tensor(_inputs(table.item_features))
        ru = torch.as_tensor(table.user[rows])
        ri = torch.as_tensor(table.item[rows])
        y = torch.as_tensor(table.label[rows])
        params = init_params(table.n_users, table.n_items, xu.shape[1], xi.shape[1], config,
                             generator)
        n_batches = math.ceil(len(rows) / config.batch_size)
        bar = tqdm(total=config.epochs * n_batches, desc="fitting the response model",
                   unit="batch", disable=not progress, file=sys.stderr, mininterval=0.5)
        # The tensors hold the training rows only, so the loop visits all of them.
        last = fit_params(params, (xu, xi, ru, ri, y), torch.arange(len(rows)), config,
                          generator, on_batch=lambda: bar.update(1),
                          on_epoch=lambda epoch, loss: bar.set_postfix(
                              epoch=epoch + 1, loss=f"{loss:.4f}"))
        bar.close()
    params_np = {k: v.detach().numpy().astype(np.float32) for k, v in params.items()}
    return TrainedSimulator(params_np, float("nan"), last)


def heldout_metrics(p: np.ndarray, y: np.ndarray, n_bins: int) -> dict[str, Any]:
    """Log loss, ROC AUC and expected calibration error of probabilities ``p`` (n,) for
    labels ``y`` (n,); ECE = sum_b (n_b / n) |mean(p in b) - mean(y in b)| over equal-width
    bins (Naeini et al., AAAI 2015). Also the base-rate log loss and the reliability bins."""
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(y, np.float64)
    log_loss = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
    rate = float(np.clip(y.mean(), 1e-7, 1 - 1e-7))
    base = float(-(y * np.log(rate) + (1 - y) * np.log(1 - rate)).mean())
    b = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    mean_p = np.bincount(b, weights=p, minlength=n_bins) / np.maximum(count, 1)
    mean_y = np.bincount(b, weights=y, minlength=n_bins) / np.maximum(count, 1)
    ece = float((count / len(p) * np.abs(mean_p - mean_y)).sum())
    return {"auc": roc_auc(p, y), "log_loss": log_loss, "calibration_error": ece,
            "log_loss_base_rate": base, "positive_rate": float(y.mean()), "n_heldout": len(p),
            "reliability": {"count": count.tolist(), "mean_predicted": mean_p.tolist(),
                            "mean_observed": mean_y.tolist()}}


def item_categories(table: InteractionTable, rows: np.ndarray, rng: np.random.Generator,
                    n_iter: int = 30) -> np.ndarray:
    """(n_items,) int64 in [0, 8): sign pattern of each item on the top three right singular
    vectors of the (users x items) matrix holding +1/-1 for positive/negative interactions
    (subspace iteration with sparse products by bincount): items liked by the same users
    share a category."""
    u, i = table.user[rows], table.item[rows]
    s = 2.0 * table.label[rows] - 1.0
    v = rng.standard_normal((table.n_items, 3))
    for _ in range(n_iter):
        left = np.stack([np.bincount(u, s * v[i, c], table.n_users) for c in range(3)], 1)
        v = np.stack([np.bincount(i, s * left[u, c], table.n_items) for c in range(3)], 1)
        v, _ = np.linalg.qr(v)
    v *= np.where(v.sum(axis=0) < 0, -1.0, 1.0)  # a fixed sign per component
    return ((v > 0).astype(np.int64) * np.array([1, 2, 4])).sum(axis=1)


def patience(table: InteractionTable, session_gap: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Per-user quit model from sessions: a session ends after ``session_gap`` seconds
    without an interaction; a user's patience is the (lower) median length of their
    sessions, and a simulated session ends when it reaches it. Returns ((n_users,) int64,
    summary); zeros and ``kind="default_rule"`` without timestamps."""
    if table.timestamp is None:
        return np.zeros(table.n_users, np.int64), {"kind": "default_rule"}
    order = np.lexsort((table.timestamp, table.user))
    user, ts = table.user[order], table.timestamp[order]
    new = np.ones(len(user), bool)
    new[1:] = (user[1:] != user[:-1]) | (np.diff(ts) > session_gap)
    session = np.cumsum(new) - 1
    length = np.bincount(session)
    s_user = user[new]
    by = np.lexsort((length, s_user))
    n_sessions = np.bincount(s_user, minlength=table.n_users)
    starts = np.concatenate([[0], np.cumsum(n_sessions)[:-1]])
    median = length[by][starts + (n_sessions - 1) // 2]
    return median.astype(np.int64), {
        "kind": "session_lengths", "session_gap_seconds": session_gap,
        "n_sessions": int(len(length)), "mean_session_length": float(length.mean()),
        "median_session_length": float(np.median(length)),
    }


def _observable(table: InteractionTable, rows: np.ndarray, category: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Public user and item features from the training log: given features, standardised
    log activity, smoothed positive rate, category shares (users) / one-hot (items)."""
    u, i, y = table.user[rows], table.item[rows], table.label[rows]
    rate = float(y.mean())

    def stats(idx: np.ndarray, n: int) -> np.ndarray:
        count = np.bincount(idx, minlength=n).astype(np.float64)
        act = np.log1p(count)
        act = (act - act.mean()) / max(act.std(), 1e-9)
        pos = (np.bincount(idx, y, n) + 2 * rate) / (count + 2)  # Beta prior, weight 2
        return np.stack([act, pos], 1)

    shares = np.bincount(u * N_CATEGORIES + category[i], minlength=table.n_users * N_CATEGORIES)
    shares = shares.reshape(table.n_users, N_CATEGORIES)
    shares = shares / np.maximum(shares.sum(axis=1, keepdims=True), 1)
    users = np.hstack([table.user_features, stats(u, table.n_users), shares])
    items = np.hstack([table.item_features, stats(i, table.n_items),
                       np.eye(N_CATEGORIES)[category]])
    return (np.clip(users, -5, 5).astype(np.float32), np.clip(items, -5, 5).astype(np.float32))


def system_fits(truth: np.ndarray, user_obs: np.ndarray, item_obs: np.ndarray,
                 cells: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ranker (ridge on clicks sampled at random cells) and default behaviour scorer, as
    for ``TwoStageMovieLens-v0``."""
    from recsim_envs.two_stage.items import ItemCatalogue
    from recsim_envs.two_stage.ranker import fit_bilinear
    from recsim_envs.two_stage.response import LookupResponse
    from recsim_envs.two_stage.users import TableUserSampler
    from recsim_envs.two_stage.world import fit_click_scorer

    n_users, n_items = truth.shape
    cu, ci = rng.integers(0, n_users, cells), rng.integers(0, n_items, cells)
    clicks = (rng.random(cells) < truth[cu, ci]).astype(np.float64)
    ranker = fit_bilinear(user_obs[cu], item_obs[ci], clicks, ridge=1.0)
    catalogue = ItemCatalogue(features=item_obs, latent=np.zeros((n_items, 0), np.float32),
                              bias=np.zeros(n_items, np.float32))
    users = TableUserSampler(user_obs, bound=5.0)
    behaviour = fit_click_scorer(rng, users, catalogue, LookupResponse(truth), n_cells=10_000)
    return ranker.astype(np.float32), behaviour.astype(np.float32)


def _rating_levels(table: InteractionTable) -> tuple[np.ndarray, np.ndarray, float]:
    """Levels and shares of the raw label column for the sequential ratings (its distinct
    values when they are at most 10 and >= 0, else 0/1) and the click threshold."""
    values, counts = np.unique(table.value, return_counts=True)
    if len(values) > 10 or values.min() < 0:
        values, counts = np.unique(table.label, return_counts=True)
        return values, counts / counts.sum(), 1.0
    pos, neg = table.value[table.label > 0], table.value[table.label == 0]
    monotone = neg.max() < pos.min()
    return values, counts / counts.sum(), float(pos.min()) if monotone else float(values.max())


def fit(table: InteractionTable, family: str = "two_stage", **settings: Any) -> FittedWorld:
    """Fit a world on ``table`` (see the module docstring); ``settings`` are :class:`FitConfig`
    fields. Prints the held-out evaluation; returns a :class:`FittedWorld` (save it with
    ``.save(dir)``, load it with ``gymnasium.make("recsim_envs/TwoStageFromWorld-v0",
    world=dir)``)."""
    if not isinstance(table, InteractionTable):
        from recsim_envs.data.dataset import LoggedDataset
        from recsim_envs.worlds.adapters import from_logged_dataset

        if not isinstance(table, LoggedDataset):
            raise TypeError("fit needs an InteractionTable (recsim_envs.worlds.read_table) or "
                            f"a LoggedDataset, got {type(table).__name__}")
        table = from_logged_dataset(table)
    config = FitConfig(family=family, **settings)
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    train_rows, valid_rows = split(table, config.simulator.valid_fraction, rng)
    if len(valid_rows) < 2 or len(np.unique(table.label[valid_rows])) < 2:
        raise TableError(f"{table.source}: the held-out split has {len(valid_rows)} rows and "
                         "not both classes; give more interactions or a larger valid_fraction")
    sim = train(table, train_rows, config.simulator, config.seed, config.progress)
    truth = predict_matrix(sim, _inputs(table.user_features), _inputs(table.item_features))
    metrics = heldout_metrics(truth[table.user[valid_rows], table.item[valid_rows]],
                              table.label[valid_rows], config.n_bins)
    metrics["train_loss"] = sim.train_loss
    category = item_categories(table, train_rows, rng)
    user_obs, item_obs = _observable(table, train_rows, category)
    ranker, behaviour = system_fits(truth, user_obs, item_obs, config.ranker_fit_cells, rng)
    user_patience, quit_model = patience(table, config.session_gap)
    levels, shares, click_threshold = _rating_levels(table)
    n_test = max(1, int(round(config.test_fraction * table.n_users)))
    test_users = np.sort(rng.permutation(table.n_users)[:n_test])
    metrics["fit_seconds"] = time.perf_counter() - start
    arrays = {
        "truth": truth, "user_obs": user_obs, "item_obs": item_obs, "ranker_weights": ranker,
        "behaviour_weights": behaviour, "item_category": category,
        "patience": user_patience, "rating_levels": levels.astype(np.float32),
        "rating_shares": shares.astype(np.float64), "test_users": test_users.astype(np.int64),
        "user_ids": table.user_ids.astype(str), "item_ids": table.item_ids.astype(str),
    }
    if "titles" in table.info:
        arrays["item_names"] = np.asarray(table.info["titles"]).astype(str)
    manifest = {
        "family": config.family,
        "settings": {**dataclasses.asdict(config), "progress": None},
        "input": {"source": table.source, "sha256": table.sha256,
                  "label_rule": table.label_rule, "n_interactions": len(table),
                  "n_users": table.n_users, "n_items": table.n_items,
                  "has_timestamps": table.timestamp is not None,
                  "user_features": list(table.user_feature_names),
                  "item_features": list(table.item_feature_names)},
        "metrics": metrics, "quit_model": quit_model, "click_threshold": click_threshold,
    }
    world = FittedWorld(arrays=arrays, manifest=manifest)
    if config.progress:
        print(world.summary(), file=sys.stderr)
    return world
