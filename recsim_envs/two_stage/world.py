"""The two-stage world: everything fixed by ``world_seed`` and shared by every episode.

Ma et al., "Off-policy Learning in Two-stage Recommender Systems" (WWW 2020). A
:class:`TwoStageWorld` holds the catalogue's observable features, the user sampler, the
response model and the ranker (RecSim's order: users, items, response), plus the weights of
the default behaviour scorer. It is built once from the settings (gymnax-style frozen
parameters) and shared by every environment of a benchmark cell: build it once with
``TwoStageEnv.build_world(**settings)`` and pass it as ``gymnasium.make(id,
built_world=...)`` (:mod:`recsim_envs.core.built_world`). A :class:`WorldSource` says how
one environment id builds its world and
logs from it: the environments take their source by composition, so the synthetic,
MovieLens, paper and fitted-world environments are one pair of classes over different
sources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsim_envs.core.policies import LinearScorer
from recsim_envs.two_stage.items import ItemCatalogue, low_rank_catalogue
from recsim_envs.two_stage.log import log_rounds
from recsim_envs.two_stage.ranker import BilinearRanker, fit_bilinear, fit_bilinear_grid
from recsim_envs.two_stage.response import LogisticResponse, ResponseModel
from recsim_envs.two_stage.settings import FromKwargs
from recsim_envs.two_stage.users import UserSampler, make_low_rank_user_sampler

SYNTHETIC_ID = "recsim_envs/TwoStageSynthetic-v0"

MAX_ITEMS = 1_000_000


@dataclass(frozen=True)
class TwoStageConfig(FromKwargs):
    """Settings of a two-stage environment (``gymnasium.make(id, **settings)``).

    Attributes:
        n_items: catalogue size, 10 to 1,000,000.
        n_candidates: k, item ids per action (the candidate set).
        slate_size: items the ranker shows per step (1 <= slate_size <= n_candidates).
        session_length: steps per episode (the same user throughout).
        user_dim: observable user feature dimension.
        item_dim: observable item feature dimension.
        latent_dim: rank of the hidden preference model.
        user_feature_noise, item_feature_noise: how imperfectly features reveal the latents.
        feature_bound: user features are clipped to [-bound, bound].
        response_scale: weight of the latent affinity in the click logit.
        response_offset: base click logit (sets the average click rate).
        item_bias_std: std of hidden item popularity.
        ranker_noise: relative perturbation of the ranker's fitted weights; 0 gives the best
            bilinear fit of the true logits from features, larger makes the ranker disagree
            more with the user.
        ranker_fit_users, ranker_fit_items: sample sizes for fitting the ranker.
        world_seed: seeds the catalogue, users' feature map, ranker and default scorer.
    """

    n_items: int = 1000
    n_candidates: int = 30
    slate_size: int = 1
    session_length: int = 1
    user_dim: int = 16
    item_dim: int = 16
    latent_dim: int = 8
    user_feature_noise: float = 0.7
    item_feature_noise: float = 0.7
    feature_bound: float = 5.0
    response_scale: float = 0.6
    response_offset: float = -3.5
    item_bias_std: float = 0.5
    ranker_noise: float = 1.0
    ranker_fit_users: int = 500
    ranker_fit_items: int = 200
    world_seed: int = 0

    def __post_init__(self) -> None:
        if not 10 <= self.n_items <= MAX_ITEMS:
            raise ValueError(f"n_items must be in [10, {MAX_ITEMS:,}], got {self.n_items}")
        if not 1 <= self.n_candidates <= self.n_items:
            raise ValueError(
                f"n_candidates must be in [1, n_items={self.n_items}], got {self.n_candidates}"
            )
        if not 1 <= self.slate_size <= self.n_candidates:
            raise ValueError(
                f"slate_size must be in [1, n_candidates={self.n_candidates}], "
                f"got {self.slate_size}"
            )
        if self.session_length < 1:
            raise ValueError(f"session_length must be >= 1, got {self.session_length}")
        for name in ("user_dim", "item_dim", "latent_dim", "ranker_fit_users", "ranker_fit_items"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("user_feature_noise", "item_feature_noise", "ranker_noise", "item_bias_std"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.feature_bound > 0:
            raise ValueError(f"feature_bound must be > 0, got {self.feature_bound}")


@dataclass(frozen=True)
class TwoStageWorld:
    """Everything fixed across episodes: items, user model, response model, ranker.

    Attributes:
        item_features: (n_items, item_dim) observable item features.
        users: draws users (observable features and hidden state).
        response: click probabilities from the hidden state.
        ranker: the fixed second stage.
        behaviour_weights: (user_dim + 1, item_dim + 1) weights of a default scoring model
            for behaviour policies (fitted on noisy clicks of random user-item cells).
    """

    item_features: np.ndarray
    users: UserSampler
    response: ResponseModel
    ranker: BilinearRanker
    behaviour_weights: np.ndarray

    @property
    def n_items(self) -> int:
        return self.item_features.shape[0]


def build_synthetic_world(config: TwoStageConfig) -> TwoStageWorld:
    """The low-rank world of ``TwoStageSynthetic-v0``, drawn from ``config.world_seed``.

    The ranker is the ridge fit of the true click logits on observable features (the best a
    bilinear model can do), perturbed by ``ranker_noise``: a good but imperfect ranker, as
    in production where it is trained on past logs. The default behaviour scorer is a ridge
    fit on 10,000 random (user, item) cells with sampled clicks, as in the reference set-up
    of Ma et al. where the logging policy is trained on 10,000 random cells.

    The world is a pure function of ``config`` and never mutated: build it once
    (:meth:`TwoStageEnv.build_world`) and pass it to every environment that runs on it.
    """
    rng = np.random.default_rng(config.world_seed)
    catalogue = low_rank_catalogue(
        config.n_items, config.item_dim, config.latent_dim,
        config.item_feature_noise, config.item_bias_std, rng,
    )
    users = make_low_rank_user_sampler(
        config.latent_dim, config.user_dim, config.user_feature_noise, config.feature_bound, rng
    )
    response = LogisticResponse(catalogue, config.response_scale, config.response_offset)

    # Ranker: ridge on true logits over a sample of cells.
    fit_users = users.from_uniforms(rng.random((config.ranker_fit_users, users.n_uniforms)))
    n_fit_items = min(config.ranker_fit_items, config.n_items)
    items = rng.choice(config.n_items, size=n_fit_items, replace=False)
    grid = np.broadcast_to(items, (len(fit_users), n_fit_items))
    logits = response.logits(fit_users.hidden, grid)  # (users, items)
    weights = fit_bilinear_grid(fit_users.features, catalogue.features[items], logits, ridge=1.0)
    weights = weights + config.ranker_noise * np.abs(weights).mean() * rng.standard_normal(
        weights.shape, dtype=np.float32
    )
    ranker = BilinearRanker(weights=weights, item_features=catalogue.features)

    behaviour_weights = fit_click_scorer(rng, users, catalogue, response, n_cells=10_000)
    return TwoStageWorld(catalogue.features, users, response, ranker, behaviour_weights)


def fit_click_scorer(
    rng: np.random.Generator,
    users: UserSampler,
    catalogue: ItemCatalogue,
    response: ResponseModel,
    n_cells: int,
) -> np.ndarray:
    """(user_dim + 1, item_dim + 1) float32 weights of the default behaviour scorer.

    A ridge fit (``fit_bilinear``, ridge 10) of sampled clicks of ``n_cells`` random
    (user, item) cells; draws, in order, the users' uniforms, the items and the clicks
    from ``rng``.
    """
    sample = users.from_uniforms(rng.random((n_cells, users.n_uniforms)))
    items = rng.integers(0, catalogue.n_items, size=n_cells)
    clicks = rng.random(n_cells) < response.click_prob(sample.hidden, items[:, None])[:, 0]
    labels = clicks.astype(np.float64)
    weights = fit_bilinear(sample.features, catalogue.features[items], labels, 10.0)
    # Scale to unit score spread across items, so a softmax temperature of 1 means the same
    # peakedness whatever the click rate.
    step = max(1, catalogue.n_items // 4096)  # a strided subset keeps 1M-item worlds cheap
    scores = LinearScorer(weights, catalogue.features[::step])(sample.features[:256])
    return (weights / max(float(scores.std(axis=1).mean()), 1e-8)).astype(np.float32)


@dataclass(frozen=True)
class WorldSource:
    """How an environment id gets its world: one source per id, shared by its single and
    vector environment (composition, where subclasses of the environments used to
    override the world building).

    Attributes:
        config_class: the settings dataclass (``from_kwargs`` names unknown keys).
        build: settings -> (world, settings with defaults resolved, ``world_info``).
        env_id: the id recorded in logged data when the environment was built directly
            (not through ``gymnasium.make``).
        log_rounds: ``(env, policy, n_rounds, rng, seed, chunk_cells)`` -> the logged data
            (:func:`recsim_envs.two_stage.log.log_rounds` by default).
    """

    config_class: type
    build: Callable[[Any], tuple[TwoStageWorld, Any, dict[str, Any]]]
    env_id: str
    log_rounds: Callable[..., Any] = field(default=log_rounds)


def _build_synthetic(config: TwoStageConfig) -> tuple[TwoStageWorld, TwoStageConfig, dict]:
    return build_synthetic_world(config), config, {}


SYNTHETIC = WorldSource(TwoStageConfig, _build_synthetic, SYNTHETIC_ID)
"""``TwoStageSynthetic-v0``: the low-rank world of :func:`build_synthetic_world`."""
