"""Replay of A-iALP's online transitions: a fixed-capacity ring buffer (Lin, "Self-improving
reactive agents based on reinforcement learning, planning and teaching", Machine Learning,
1992; as in DQN and the off-policy actor-critics)."""

from __future__ import annotations

import numpy as np
import torch


class ReplayBuffer:
    """Fixed-capacity ring buffer of (s, a, r, s', terminated) as numpy arrays.

    ``s``, ``s2``: (capacity, dim) float32; ``a``: (capacity,) int64; ``r``, ``d``:
    (capacity,) float32. The oldest transition is overwritten first.
    """

    def __init__(self, dim: int, capacity: int) -> None:
        self.s = np.zeros((capacity, dim), np.float32)
        self.s2 = np.zeros((capacity, dim), np.float32)
        self.a = np.zeros(capacity, np.int64)
        self.r = np.zeros(capacity, np.float32)
        self.d = np.zeros(capacity, np.float32)
        self.capacity, self.size, self.ptr = capacity, 0, 0

    def add(self, s, a, r, s2, d) -> None:
        i = self.ptr
        self.s[i], self.a[i], self.r[i], self.s2[i], self.d[i] = s, a, r, s2, d
        self.ptr = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        """``n`` transitions drawn uniformly with replacement from ``rng``: tensors
        (n, dim), (n,), (n,), (n, dim), (n,)."""
        idx = rng.integers(self.size, size=n)
        return tuple(torch.as_tensor(x[idx]) for x in (self.s, self.a, self.r, self.s2, self.d))
