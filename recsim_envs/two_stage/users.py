"""User samplers: draw a user's observable features and hidden preference state.

A sampler turns a fixed number of uniform draws per user into a :class:`UserBatch`
(:meth:`UserSampler.from_uniforms`). Environments draw those uniforms from their own
generator, one call per user, so a native vector environment that keeps one generator per
sub-environment reproduces the single environment exactly while doing the arithmetic for
all users in one batched call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class UserBatch:
    """Users drawn for a batch of episodes.

    Attributes:
        features: (n, user_dim) float32, what the recommender observes.
        hidden: (n, hidden_dim) float32, what only the response model reads (latent
            preferences, or the index of a real user for learned simulators).
    """

    features: np.ndarray
    hidden: np.ndarray

    def __len__(self) -> int:
        return self.features.shape[0]


class UserSampler(Protocol):
    n_uniforms: int
    """Uniform draws needed per user."""
    user_dim: int

    def from_uniforms(self, u: np.ndarray) -> UserBatch:
        """(n, n_uniforms) uniforms in [0, 1) -> n users."""
        ...


def uniforms_to_normals(u: np.ndarray) -> np.ndarray:
    """Box-Muller: (n, 2m) uniforms in [0, 1) -> (n, 2m) independent standard normals."""
    half = u.shape[1] // 2
    u1, u2 = 1.0 - u[:, :half], u[:, half : 2 * half]  # 1 - u lies in (0, 1]: log is finite
    radius = np.sqrt(-2.0 * np.log(u1))
    angle = 2.0 * np.pi * u2
    return np.hstack([radius * np.cos(angle), radius * np.sin(angle)])


@dataclass(frozen=True)
class LowRankUserSampler:
    """Users of a low-rank model: latent z ~ N(0, I), features x = clip(z P + noise).

    Attributes:
        projection: (latent_dim, user_dim) float32 map from latent state to features.
        feature_noise: std of the noise on the observable features.
        bound: features are clipped to [-bound, bound] so the observation space is finite.
    """

    projection: np.ndarray
    feature_noise: float
    bound: float

    @property
    def latent_dim(self) -> int:
        return self.projection.shape[0]

    @property
    def user_dim(self) -> int:
        return self.projection.shape[1]

    @property
    def n_uniforms(self) -> int:
        n = self.latent_dim + self.user_dim
        return n + n % 2  # Box-Muller makes normals in pairs

    def from_uniforms(self, u: np.ndarray) -> UserBatch:
        z = uniforms_to_normals(np.asarray(u, dtype=np.float64)).astype(np.float32)
        latent = z[:, : self.latent_dim]
        noise = z[:, self.latent_dim : self.latent_dim + self.user_dim]
        features = np.clip(latent @ self.projection + self.feature_noise * noise,
                           -self.bound, self.bound)
        return UserBatch(features=features.astype(np.float32), hidden=latent)


def make_low_rank_user_sampler(
    latent_dim: int, user_dim: int, feature_noise: float, bound: float, rng: np.random.Generator
) -> LowRankUserSampler:
    """A :class:`LowRankUserSampler` with a random projection drawn from ``rng``."""
    projection = rng.standard_normal((latent_dim, user_dim), dtype=np.float32)
    projection /= np.sqrt(latent_dim)
    return LowRankUserSampler(projection=projection, feature_noise=feature_noise, bound=bound)


@dataclass(frozen=True)
class TableUserSampler:
    """A real user drawn uniformly from rows [start, n_users) of a table of user features.

    Used by worlds learned from logs (MovieLens, fitted worlds): the hidden state is the
    user's row index, which a lookup response model
    (:class:`recsim_envs.two_stage.response.LookupResponse`) reads. ``start > 0`` keeps the
    first rows out (the paper protocol's epoch-selection users).

    Attributes:
        features: (n_users, user_dim) float32 observable features of every user.
        bound: the observation space is [-bound, bound]^user_dim.
        start: first row drawn.
    """

    features: np.ndarray
    bound: float = 1.0
    n_uniforms: int = 1
    start: int = 0

    @property
    def user_dim(self) -> int:
        return self.features.shape[1]

    @property
    def n_users(self) -> int:
        return self.features.shape[0]

    def from_uniforms(self, u: np.ndarray) -> UserBatch:
        """(n, 1) uniforms in [0, 1) -> users start + floor(u * (n_users - start)); hidden =
        the row index as a float32 column (exact below 2**24)."""
        n = self.n_users - self.start
        idx = self.start + np.minimum((np.asarray(u)[:, 0] * n).astype(np.int64), n - 1)
        return UserBatch(features=self.features[idx], hidden=idx.astype(np.float32)[:, None])
