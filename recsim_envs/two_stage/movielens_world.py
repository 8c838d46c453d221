"""The world of ``TwoStageMovieLens-v0``: users simulated from MovieLens ratings.

Ma et al., "Off-policy Learning in Two-stage Recommender Systems" (WWW 2020) on MovieLens: a
neural reward model trained on real ratings (label: rating > 3) gives the click probability
of every real user for every movie. Built once per (files, settings) and cached on disk
(see :func:`build_movielens_world`):
  occupation one-hot (21), first zip digit one-hot (10 digits + 1 for non-US codes);
- item features (observable, ``item_features`` in the logged data's system arrays):
  standardised release year (1), genre multi-hot (19 for ML-100K, 18 for ML-1M) and
  standardised log(1 + number of ratings) (1). No learned embedding is exposed: what the
  agent sees is what a recommender team would have in its catalogue and logs;
- hidden user state: the real user's row index; the response looks up the simulator's
  probability table (``binary_truth=True`` thresholds it, as the reference code does);
- ranker: ridge fit (``fit_bilinear``) of sampled clicks of ``ranker_fit_cells`` uniformly
  random (user, movie) cells on the bilinear features, then frozen; the reference trains a
  bilinear ranker with BCE on logged rows, ridge on labels plays the same role here;
- default behaviour scorer: as in the synthetic world, a ridge fit on 10,000 random cells'
  sampled clicks, scaled to unit score spread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recsim_envs.core.io import save_npz_atomic
from recsim_envs.two_stage.items import ItemCatalogue
from recsim_envs.two_stage.movielens_data import (
    AGE_BUCKETS,
    N_OCCUPATIONS,
    MovieLensData,
    find_movielens,
    load_movielens,
    movielens_files,
)
from recsim_envs.two_stage.ranker import BilinearRanker, fit_bilinear
from recsim_envs.two_stage.response import LookupResponse
from recsim_envs.two_stage.settings import FromKwargs
from recsim_envs.two_stage.simulator import (
    SimulatorConfig,
    cache_key,
    default_cache_dir,
    load_npz,
    predict_matrix,
    train_simulator,
)
from recsim_envs.two_stage.users import TableUserSampler
from recsim_envs.two_stage.world import TwoStageWorld, WorldSource, fit_click_scorer

ENV_ID = "recsim_envs/TwoStageMovieLens-v0"
# Bump when the feature encoding or the cached arrays change: old cache files are then ignored.
CACHE_VERSION = 1
_CACHE_ARRAYS = ("truth", "user_features", "item_features", "titles", "valid_auc", "n_ratings")


@dataclass(frozen=True)
class MovieLensConfig(FromKwargs):
    """Settings of ``TwoStageMovieLens-v0`` (``gymnasium.make(id, **settings)``).

    Attributes:
        n_candidates: k, movie ids per action (the candidate set).
        slate_size: movies the ranker shows per step (1 <= slate_size <= n_candidates).
        session_length: steps per episode (the same user throughout).
        world_seed: seeds the simulator's training, the ranker's and the behaviour scorer's fits.
        data_dir: folder with the MovieLens files; ``None`` reads ``$RECSIM_ENVS_DATA``.
        dataset: ``"auto"``, ``"ml-100k"`` or ``"ml-1m"`` (needed only if both are present).
        cache_dir: where trained simulators are kept; ``None`` reads ``$RECSIM_ENVS_CACHE``,
            else ``~/.cache/recsim_envs``.
        simulator: :class:`recsim_envs.two_stage.simulator.SimulatorConfig` or a dict of its fields.
        binary_truth: threshold the simulator's probabilities so that the top
            ``truth_positive_rate`` of all user x movie pairs click with probability 1 and
            the rest with 0 (the reference code's ground truth); default: Bernoulli clicks.
        truth_positive_rate: share of positive pairs under ``binary_truth`` (reference: 12-16%).
        ranker_fit_cells: random (user, movie) cells whose sampled clicks fit the ranker.
    """

    n_candidates: int = 30
    slate_size: int = 1
    session_length: int = 1
    world_seed: int = 0
    data_dir: str | None = None
    dataset: str = "auto"
    cache_dir: str | None = None
    simulator: Any = field(default_factory=SimulatorConfig)
    binary_truth: bool = False
    truth_positive_rate: float = 0.15
    ranker_fit_cells: int = 20_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "simulator", SimulatorConfig.from_any(self.simulator))
        for name in ("data_dir", "cache_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, os.fspath(value))
        if self.n_candidates < 1:
            raise ValueError(f"n_candidates must be >= 1, got {self.n_candidates}")
        if not 1 <= self.slate_size <= self.n_candidates:
            raise ValueError(
                f"slate_size must be in [1, n_candidates={self.n_candidates}], "
                f"got {self.slate_size}"
            )
        if self.session_length < 1:
            raise ValueError(f"session_length must be >= 1, got {self.session_length}")
        if self.dataset not in ("auto", "ml-100k", "ml-1m"):
            raise ValueError(f"dataset must be 'auto', 'ml-100k' or 'ml-1m', got {self.dataset!r}")
        if not 0 < self.truth_positive_rate < 1:
            raise ValueError(
                f"truth_positive_rate must be in (0, 1), got {self.truth_positive_rate}"
            )
        if self.ranker_fit_cells < 100:
            raise ValueError(f"ranker_fit_cells must be >= 100, got {self.ranker_fit_cells}")



# ---------------------------------------------------------------------------- features
def user_feature_matrix(data: MovieLensData) -> np.ndarray:
    """(n_users, 40) float32 in {0, 1}: gender, age bucket, occupation, zip-digit one-hots."""
    n = data.n_users
    rows = np.arange(n)
    age = np.zeros((n, len(AGE_BUCKETS)), dtype=np.float32)
    age[rows, data.age_bucket] = 1.0
    occ = np.zeros((n, N_OCCUPATIONS), dtype=np.float32)
    occ[rows, data.occupation] = 1.0
    zip_ = np.zeros((n, 11), dtype=np.float32)
    zip_[rows, data.zip_prefix] = 1.0
    return np.hstack([data.gender[:, None].astype(np.float32), age, occ, zip_])


def item_feature_matrix(data: MovieLensData) -> np.ndarray:
    """(n_movies, n_genres + 2) float32: standardised year, genres, standardised log count."""
    year = data.year.astype(np.float64)
    year_z = (year - year.mean()) / max(year.std(), 1e-6)
    counts = np.bincount(data.rating_movie, minlength=data.n_movies).astype(np.float64)
    pop = np.log1p(counts)
    pop_z = (pop - pop.mean()) / max(pop.std(), 1e-6)
    # Clip so one ancient film cannot dominate a linear ranker's score.
    out = np.hstack([np.clip(year_z, -3, 3)[:, None], data.genres, np.clip(pop_z, -3, 3)[:, None]])
    out = out.astype(np.float32)
    if not np.all(np.isfinite(out)):
        raise ValueError("movie features hold NaN or infinite values; check the movies file")
    return out


# ---------------------------------------------------------------------------- the world
def _train_world_arrays(config: MovieLensConfig) -> dict[str, np.ndarray]:
    """Parse, encode, train and tabulate: the expensive part, cached on disk."""
    data = load_movielens(config.data_dir, config.dataset)
    user_features = user_feature_matrix(data)
    if not np.all(np.isfinite(user_features)):
        raise ValueError("user features hold NaN or infinite values; check the users file")
    item_features = item_feature_matrix(data)
    sim = train_simulator(
        user_features, item_features, data.rating_user, data.rating_movie,
        (data.rating > 3).astype(np.float32), config.simulator, seed=config.world_seed,
    )
    truth = predict_matrix(sim, user_features, item_features)
    return {
        "truth": truth,
        "user_features": user_features,
        "item_features": item_features,
        "titles": data.titles,
        "valid_auc": np.array(sim.valid_auc, dtype=np.float64),
        "n_ratings": np.array(data.n_ratings, dtype=np.int64),
    }


def _fit_system(
    config: MovieLensConfig,
    users: TableUserSampler,
    response: LookupResponse,
    item_features: np.ndarray,
) -> dict[str, np.ndarray]:
    """Ranker and default behaviour-scorer weights, drawn from ``world_seed``."""
    rng = np.random.default_rng(config.world_seed)
    n_users, n_items = response.truth.shape
    # Ranker: ridge on sampled clicks of uniformly random cells, then frozen.
    cu = rng.integers(0, n_users, size=config.ranker_fit_cells)
    ci = rng.integers(0, n_items, size=config.ranker_fit_cells)
    clicks = (rng.random(config.ranker_fit_cells) < response.truth[cu, ci]).astype(np.float64)
    ranker_w = fit_bilinear(users.features[cu], item_features[ci], clicks, ridge=1.0)
    catalogue = ItemCatalogue(
        features=item_features,
        latent=np.zeros((n_items, 0), dtype=np.float32),
        bias=np.zeros(n_items, dtype=np.float32),
    )
    behaviour = fit_click_scorer(rng, users, catalogue, response, n_cells=10_000)
    return {"ranker_weights": ranker_w, "behaviour_weights": behaviour}


def cached_arrays(
    path: Path, required: tuple[str, ...], build: Any
) -> tuple[dict[str, np.ndarray], bool]:
    """Arrays from ``path`` if it holds ``required``, else ``build()`` saved atomically there.

    Several processes (benchmark workers) asking for the same missing file build it once:
    the first holds an exclusive lock on ``path`` + ``.lock`` while it builds, the others
    wait for it and then read the file it wrote.
    """
    arrays = load_npz(path)
    if arrays is not None and all(k in arrays for k in required):
        return arrays, True
    with _build_lock(path):
        arrays = load_npz(path)  # another process may have built it while this one waited
        if arrays is not None and all(k in arrays for k in required):
            return arrays, True
        arrays = build()
        try:
            save_npz_atomic(path, arrays)
        except OSError as exc:
            warnings.warn(
                f"could not write the cache file {path} ({exc}); the world is built but will "
                "be computed again next time. Set cache_dir= or RECSIM_ENVS_CACHE to a "
                "writable folder",
                stacklevel=3,
            )
    return arrays, False


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (``fcntl.flock``) beside ``path``; no lock (and no error)
    where the folder cannot be written, since the build then cannot be shared anyway."""
    lock = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock, "a")  # noqa: SIM115 (held across yield)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
    finally:
        # Removed while still held, so a failed build leaves nothing in the cache folder; a
        # process already waiting on it then rechecks the cache (and builds if it failed).
        with contextlib.suppress(OSError):
            os.unlink(lock)
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def build_movielens_world(
    config: MovieLensConfig, with_system: bool = True,
) -> tuple[TwoStageWorld, dict[str, Any], MovieLensConfig]:
    """The world of ``TwoStageMovieLens-v0``; the trained simulator comes from the cache if present.

    The cache file ``movielens-<format>-<key>.npz`` in ``cache_dir`` holds the ground-truth
    table (n_users, n_items) float32 and the feature matrices; ``key`` is the sha256 of the
    three input files' bytes, the simulator settings, ``world_seed`` and the cache version,
    so editing a file or a setting trains anew. It is written to a temporary file and
    renamed (never half-written) and read with ``allow_pickle=False``.

    ``with_system=False`` skips the ranker and behaviour fits (their weights are zeros):
    for worlds that fit their own (``TwoStagePaper-v0``).

    Returns:
        (world, info, config with ``data_dir``, ``dataset`` and ``cache_dir`` resolved).
        ``info``: format, sizes, the simulator's held-out AUC, the cache path, whether the
        simulator was loaded from it, the mean click probability and the titles.
    """
    fmt, folder = find_movielens(config.data_dir, config.dataset)
    cache_dir = Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()
    config = dataclasses.replace(
        config, data_dir=str(folder), dataset=fmt, cache_dir=str(cache_dir)
    )
    settings = {
        "cache_version": CACHE_VERSION,
        "format": fmt,
        "world_seed": config.world_seed,
        "simulator": dataclasses.asdict(config.simulator),
    }
    key = cache_key(movielens_files(fmt, folder), settings)
    path = cache_dir / f"movielens-{fmt}-{key[:32]}.npz"
    arrays, from_cache = cached_arrays(path, _CACHE_ARRAYS, lambda: _train_world_arrays(config))
    truth = np.asarray(arrays["truth"], dtype=np.float32)
    user_features = np.asarray(arrays["user_features"], dtype=np.float32)
    item_features = np.asarray(arrays["item_features"], dtype=np.float32)
    n_users, n_items = truth.shape
    if user_features.shape[0] != n_users or item_features.shape[0] != n_items:
        raise ValueError(f"the cache file {path} is inconsistent; delete it to rebuild")
    if config.n_candidates > n_items:
        raise ValueError(
            f"n_candidates={config.n_candidates} exceeds the {n_items} movies of the dataset"
        )
    if config.binary_truth:
        cut = np.quantile(truth, 1.0 - config.truth_positive_rate)
        truth = (truth > cut).astype(np.float32)
    users = TableUserSampler(user_features, bound=1.0)
    response = LookupResponse(truth)

    # The ranker and behaviour fits take about a second (ridge over ~900 bilinear terms), so
    # they are cached too, in a second file keyed by the simulator's key and their settings:
    # changing binary_truth refits them without retraining the simulator.
    fit_settings = {
        "simulator_key": key,
        "binary_truth": config.binary_truth,
        "truth_positive_rate": config.truth_positive_rate,
        "ranker_fit_cells": config.ranker_fit_cells,
    }
    fit_key = cache_key([], fit_settings)
    fit_path = cache_dir / f"movielens-fits-{fit_key[:32]}.npz"
    if with_system:
        fits, _ = cached_arrays(
            fit_path, ("ranker_weights", "behaviour_weights"),
            lambda: _fit_system(config, users, response, item_features),
        )
    else:
        shape = (user_features.shape[1] + 1, item_features.shape[1] + 1)
        fits = {"ranker_weights": np.zeros(shape, np.float32),
                "behaviour_weights": np.zeros(shape, np.float32)}
    ranker = BilinearRanker(
        weights=np.asarray(fits["ranker_weights"], dtype=np.float32), item_features=item_features
    )
    behaviour = np.asarray(fits["behaviour_weights"], dtype=np.float32)
    world = TwoStageWorld(item_features, users, response, ranker, behaviour)
    info = {
        "format": fmt,
        "n_users": n_users,
        "n_items": n_items,
        "n_ratings": int(arrays["n_ratings"]),
        "simulator_valid_auc": float(arrays["valid_auc"]),
        "cache_path": str(path),
        "from_cache": from_cache,
        "mean_click_prob": float(truth.mean()),
        "titles": arrays["titles"],
    }
    return world, info, config


def _build_for_env(config: MovieLensConfig) -> tuple[TwoStageWorld, MovieLensConfig, dict]:
    world, info, resolved = build_movielens_world(config)
    return world, resolved, info


MOVIELENS = WorldSource(MovieLensConfig, _build_for_env, ENV_ID)
"""``TwoStageMovieLens-v0``: the world of :func:`build_movielens_world`."""
