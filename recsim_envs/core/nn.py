"""Torch building blocks shared by the environments' learned parts and the agents.

Every module is initialised from an explicit ``torch.Generator``
(:func:`init_from_generator`), never from torch's global generator, so that the same seed
gives identical weights wherever the module is built, whatever ran before it in the
process.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def init_from_generator(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-initialise every Linear and Embedding in ``module`` from ``generator``.

    Linear layers get torch's default scheme (weights, then biases, uniform in
    ±1/sqrt(fan_in)), layer by layer in ``module.modules()`` order; embeddings get
    N(0, 0.1^2) (small, so that id embeddings start as a perturbation of a feature tower).
    Returns ``module`` for chaining.
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
