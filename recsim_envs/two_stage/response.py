"""User response models: the probability that a user clicks an item.

A response model reads a user's hidden state (never shown to agents) and item ids. The
environment samples clicks from these probabilities and reports them as the expected
reward, so evaluation can use exact expectations instead of noisy clicks.
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
