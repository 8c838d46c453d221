"""Torch modules shared by the agent families: MLPs and a two-tower scoring model.

Every module here is initialised from an explicit ``torch.Generator`` (see
:func:`init_from_generator`), never from torch's global generator, so that the same seed
gives identical weights wherever the module is built.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def init_from_generator(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-initialise every Linear and Embedding in ``module`` from ``generator``.

    Linear layers get torch's default scheme (weights and biases uniform in
    ±1/sqrt(fan_in)); embeddings get N(0, 0.1^2) (small, so that id embeddings start as a
    perturbation of the feature tower). Returns ``module`` for chaining.
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(max(m.in_features, 1))
                m.weight.uniform_(-bound, bound, generator=generator)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=generator)
            elif isinstance(m, nn.Embedding):
                m.weight.normal_(0.0, 0.1, generator=generator)
    return module


class MLP(nn.Sequential):
    """``in_dim -> hidden[0] -> ... -> out_dim`` with ReLU between layers (none after the last).

    Args:
        in_dim: input width.
        hidden: widths of the hidden layers (may be empty: a single linear map).
        out_dim: output width.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int) -> None:
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, out_dim))
        super().__init__(*layers)


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
