"""Two plug-in agents for the toy family (given to the runner as ``module:Class``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class GreedyConfig:
    ridge: float = 1.0


class ToyGreedy:
    """Per-arm ridge regression of reward on context; acts greedily (deterministic)."""

    Config = GreedyConfig

    def __init__(self, ridge: float = 1.0) -> None:
        self.ridge = ridge

    def fit(self, dataset, deployment=None):
        x, a, r = dataset.context.astype(np.float64), dataset.action, dataset.reward
        k, d = dataset.meta.n_actions, x.shape[1]
        self.w = np.stack([np.linalg.solve(x[a == i].T @ x[a == i] + self.ridge * np.eye(d),
                                           x[a == i].T @ (r[a == i] - 0.5)) for i in range(k)])
        return self

    def act(self, obs):
        return (np.asarray(obs, np.float64) @ self.w.T).argmax(axis=1)


@dataclass
class UniformConfig:
    seed: int = 0


class ToyUniform:
    """Uniform over arms from its own seeded generator (a stochastic policy)."""

    Config = UniformConfig

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def fit(self, dataset, deployment=None):
        self.k = dataset.meta.n_actions
        return self

    def action_probs(self, obs):
        return np.full((len(obs), self.k), 1.0 / self.k)

    def act(self, obs):
        return self.rng.integers(self.k, size=len(obs))
