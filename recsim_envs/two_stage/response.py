"""User response models: the probability that a user clicks an item.

A response model reads a user's hidden state (never shown to agents) and item ids. The
environment samples clicks from these probabilities and reports them as the expected
reward, so evaluation can use exact expectations instead of noisy clicks.
:class:`LogisticResponse` is the synthetic low-rank model; :class:`LookupResponse` serves a
table of probabilities learned from logs (the MovieLens simulator of
:mod:`recsim_envs.two_stage.simulator`, fitted worlds of :mod:`recsim_envs.worlds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from recsim_envs.two_stage.items import ItemCatalogue


class ResponseModel(Protocol):
    n_items: int

    def click_prob(self, hidden: np.ndarray, items: np.ndarray) -> np.ndarray:
        """hidden (n, h), items (n, s) int -> click probabilities (n, s) float32."""
        ...

    def click_prob_all(self, hidden: np.ndarray) -> np.ndarray:
        """hidden (n, h) -> click probabilities for every item, (n, n_items) float32."""
        ...


def sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a non-positive argument only: no overflow warnings for large |x|
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


@dataclass(frozen=True)
class LogisticResponse:
    """p(click | u, j) = sigmoid(scale * <z_u, w_j> + b_j + offset).

    The low-rank ground truth of the synthetic environments: known exactly, so expected
    rewards are exact.

    Attributes:
        catalogue: the items; ``latent`` (n_items, latent_dim) and ``bias`` are used.
        scale: multiplies the latent affinity (larger = more personalised).
        offset: shifts every logit (sets the base click rate).
    """

    catalogue: ItemCatalogue
    scale: float
    offset: float

    @property
    def n_items(self) -> int:
        return self.catalogue.n_items

    def logits(self, hidden: np.ndarray, items: np.ndarray) -> np.ndarray:
        w = self.catalogue.latent[items]  # (n, s, L)
        affinity = np.einsum("nl,nsl->ns", hidden, w)
        return self.scale * affinity + self.catalogue.bias[items] + self.offset

    def click_prob(self, hidden: np.ndarray, items: np.ndarray) -> np.ndarray:
        return sigmoid(self.logits(hidden, items).astype(np.float32))

    def click_prob_all(self, hidden: np.ndarray) -> np.ndarray:
        z = self.scale * (hidden @ self.catalogue.latent.T) + self.catalogue.bias + self.offset
        return sigmoid(z.astype(np.float32))


@dataclass(frozen=True)
class LookupResponse:
    """Clicks from a table of ground-truth probabilities: p(click | user u, item j) = T[u, j].

    The hidden user state is the user's row index, stored as a float32 column (exact for
    indices below 2**24).

    Attributes:
        truth: (n_users, n_items) float32 probabilities in [0, 1].
    """

    truth: np.ndarray

    def __post_init__(self) -> None:
        t = self.truth
        if t.ndim != 2 or not np.all(np.isfinite(t)) or t.min() < 0 or t.max() > 1:
            raise ValueError("truth must be an (n_users, n_items) array of probabilities in [0, 1]")

    @property
    def n_items(self) -> int:
        return self.truth.shape[1]

    @staticmethod
    def _rows(hidden: np.ndarray) -> np.ndarray:
        return np.asarray(hidden)[:, 0].astype(np.int64)

    def click_prob(self, hidden: np.ndarray, items: np.ndarray) -> np.ndarray:
        """hidden (n, 1), items (n, s) -> (n, s) float32."""
        return self.truth[self._rows(hidden)[:, None], np.asarray(items, dtype=np.int64)]

    def click_prob_all(self, hidden: np.ndarray) -> np.ndarray:
        """hidden (n, 1) -> (n, n_items) float32."""
        return self.truth[self._rows(hidden)]
