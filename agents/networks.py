"""Torch modules of the agents: the two-tower scoring model, on the shared building blocks
of :mod:`recsim_envs.core.nn` (re-exported here: ``MLP``, ``init_from_generator``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from recsim_envs.core.nn import MLP, init_from_generator

__all__ = ["MLP", "TwoTower", "init_from_generator"]


class TwoTower(nn.Module):
    """Score every item for a user: ``u(x) . v(j) + b_j``.

    u is an MLP over the user's features; v is an MLP over the item's (fixed, observable)
    features, plus an optional learned per-item id embedding; b_j is a learned per-item
    bias (item popularity). The item features are a buffer, so a checkpoint of the module
    carries everything it needs to score. Used as the candidate generator of two-stage
    agents (Ma et al., WWW 2020, Sec. 5: "a two-tower model").

    Args:
        user_dim: d_u, width of user features.
        item_features: (n_items, d_i) item features.
        embed_dim: width of the dot product.
        hidden: hidden widths of both towers.
        id_embedding: whether to add a learned (n_items, embed_dim) id embedding.
    """

    def __init__(
        self,
        user_dim: int,
        item_features: torch.Tensor,
        embed_dim: int,
        hidden: Sequence[int],
        id_embedding: bool = False,
    ) -> None:
        super().__init__()
        item_features = torch.as_tensor(item_features, dtype=torch.float32)
        if item_features.ndim != 2:
            raise ValueError(
                f"item_features must be (n_items, d_i), got {tuple(item_features.shape)}"
            )
        self.register_buffer("item_features", item_features.clone())
        self.n_items, self.item_dim = item_features.shape
        self.user_dim = user_dim
        self.user_tower = MLP(user_dim, hidden, embed_dim)
        self.item_tower = MLP(self.item_dim, hidden, embed_dim)
        self.item_bias = nn.Parameter(torch.zeros(self.n_items))
        self.id_embedding = nn.Embedding(self.n_items, embed_dim) if id_embedding else None

    def user_embedding(self, user_x: torch.Tensor) -> torch.Tensor:
        """(n, d_u) -> (n, embed_dim)."""
        return self.user_tower(user_x)

    def item_embedding(
        self, items: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Item vectors and biases: items (m,) ids or None for all -> ((m, e), (m,))."""
        if items is None:
            v = self.item_tower(self.item_features)
            if self.id_embedding is not None:
                v = v + self.id_embedding.weight
            return v, self.item_bias
        v = self.item_tower(self.item_features[items])
        if self.id_embedding is not None:
            v = v + self.id_embedding(items)
        return v, self.item_bias[items]

    def forward(self, user_x: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of ``items`` (m,) (default: the whole catalogue) for each user: (n, m)."""
        v, b = self.item_embedding(items)
        return self.user_embedding(user_x) @ v.T + b
