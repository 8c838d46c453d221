"""The sentence kernel: how alike two sentence embeddings are, as DSO weighs them.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025), Section 4 (the kernel-smoothed sentence density) and the authors'
OfflinePrompts code (the distance divided by the embedding width). Used by the DSO agent
(:mod:`agents.prompt.dso`), the world diagnostics (:mod:`recsim_envs.prompt.text.diagnostics`)
and the benchmark's sentence-space estimates.
"""

from __future__ import annotations

import numpy as np

KERNELS = ("gaussian", "uniform")
"""The kernels :func:`kernel_values` knows."""


def kernel_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """d_i = ||a_i - b_i|| / dim, (n, dim), (n, dim) -> (n,) (the reference's scaling)."""
    return np.sqrt(((a - b) ** 2).sum(axis=1)) / a.shape[1]


def kernel_values(a: np.ndarray, b: np.ndarray, kernel: str, bandwidth: float) -> np.ndarray:
    """K(o_i, o'_i) per row: (n, d), (n, d) -> (n,), with d_i = ||o_i - o'_i|| / d.

    Gaussian: exp(-d^2 / (2 tau^2)); uniform: 1[d <= tau]. Constants cancel in the ratio
    pi_theta / pi_0, so neither is normalised.
    """
    dist = kernel_distance(a, b)
    if kernel == "gaussian":
        return np.exp(-(dist**2) / (2.0 * bandwidth**2))
    return (dist <= bandwidth).astype(np.float64)
