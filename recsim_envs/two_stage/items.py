"""Item catalogues: observable features for the recommender, hidden factors for the user."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ItemCatalogue:
    """A fixed set of items.

    Attributes:
        features: (n_items, item_dim) float32, observable item features (what the system,
            and so every agent, sees).
        latent: (n_items, latent_dim) float32, hidden item factors used by a low-rank
            response model; empty (n_items, 0) where the response model has its own.
        bias: (n_items,) float32, hidden item popularity on the logit scale.
    """

    features: np.ndarray
    latent: np.ndarray
    bias: np.ndarray

    def __post_init__(self) -> None:
        n = self.features.shape[0]
        if self.features.ndim != 2 or n < 1:
            raise ValueError(f"features must be (n_items, item_dim), got {self.features.shape}")
        if self.latent.shape[0] != n or self.bias.shape != (n,):
            raise ValueError("features, latent and bias must have one row per item")
        if not np.all(np.isfinite(self.features)):
            raise ValueError("item features hold NaN or infinite values; clean the catalogue first")

    @property
    def n_items(self) -> int:
        return self.features.shape[0]

    @property
    def item_dim(self) -> int:
        return self.features.shape[1]


def low_rank_catalogue(
    n_items: int,
    item_dim: int,
    latent_dim: int,
    feature_noise: float,
    bias_std: float,
    rng: np.random.Generator,
) -> ItemCatalogue:
    """Items of a low-rank model: latent w ~ N(0, I), features f = w B + noise.

    Args:
        n_items: catalogue size (10 to 1,000,000 in the environments).
        item_dim: dimension of the observable features.
        latent_dim: rank of the hidden preference model.
        feature_noise: std of the Gaussian noise that makes features an imperfect view of w.
        bias_std: std of the hidden per-item popularity.
        rng: generator for every draw.
    """
    latent = rng.standard_normal((n_items, latent_dim), dtype=np.float32)
    mixing = rng.standard_normal((latent_dim, item_dim), dtype=np.float32) / np.sqrt(latent_dim)
    features = latent @ mixing
    features += feature_noise * rng.standard_normal((n_items, item_dim), dtype=np.float32)
    bias = (bias_std * rng.standard_normal(n_items)).astype(np.float32)
    return ItemCatalogue(features=features, latent=latent, bias=bias)
