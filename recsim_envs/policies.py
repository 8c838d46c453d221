"""Behaviour policies that log data, each reporting the exact probability of what it chose.

Every behaviour policy here is a *per-draw distribution* over ``n_actions`` discrete
choices given a context: :meth:`BehaviourPolicy.probs` returns it as an (n, n_actions)
array. Environments turn it into their action: a prompt environment draws one prompt from
it; a two-stage environment draws the k candidates from it with replacement and derives the
exact probability of the item its ranker shows (see
:func:`recsim_envs.ranker.shown_item_probability`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

Scorer = Callable[[np.ndarray], np.ndarray]
"""A scoring model: contexts (n, d_x) -> scores (n, n_actions)."""


@runtime_checkable
class BehaviourPolicy(Protocol):
    """A logging policy: a per-draw distribution over actions given contexts."""

    name: str
    n_actions: int

    def probs(self, context: np.ndarray) -> np.ndarray:
        """Per-draw action probabilities, (n, d_x) -> (n, n_actions), rows summing to 1."""
        ...

    def settings(self) -> dict[str, Any]:
        """JSON-serialisable settings, recorded with the logged data."""
        ...


def softmax(scores: np.ndarray, temperature: float = 1.0, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax of ``scores / temperature`` along ``axis``."""
    z = np.asarray(scores, dtype=np.float64) / temperature
    z = z - z.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z


@dataclass
class UniformPolicy:
    """Every action with probability 1 / n_actions."""

    n_actions: int
    name: str = "uniform"

    def __post_init__(self) -> None:
        if self.n_actions < 1:
            raise ValueError(f"n_actions must be >= 1, got {self.n_actions}")

    def probs(self, context: np.ndarray) -> np.ndarray:
        n = np.asarray(context).shape[0]
        # A read-only broadcast view: no (n, n_actions) allocation for large catalogues.
        return np.broadcast_to(1.0 / self.n_actions, (n, self.n_actions))

    def draw(
        self, context: np.ndarray, n_draws: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Uniform draws need no cumulative sums: integers straight from ``rng``."""
        n = np.asarray(context).shape[0]
        return rng.integers(0, self.n_actions, size=(n, n_draws)), self.probs(context)

    def settings(self) -> dict[str, Any]:
        return {"n_actions": self.n_actions}


@dataclass
class SoftmaxPolicy:
    """softmax(scorer(context) / temperature): peaked for small temperatures."""

    scorer: Scorer
    n_actions: int
    temperature: float = 1.0
    scorer_name: str = "custom"
    name: str = "softmax"

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    def probs(self, context: np.ndarray) -> np.ndarray:
        scores = _checked_scores(self.scorer, context, self.n_actions)
        return softmax(scores, self.temperature)

    def settings(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "scorer": self.scorer_name}


@dataclass
class EpsilonGreedyPolicy:
    """The scorer's best action with probability 1 - epsilon, else uniform.

    Per draw: p(a|x) = (1 - epsilon) * [a = argmax scorer(x)] + epsilon / n_actions, so every
    action keeps positive probability when epsilon > 0. Ties go to the lowest index.
    """

    scorer: Scorer
    n_actions: int
    epsilon: float = 0.1
    scorer_name: str = "custom"
    name: str = "epsilon_greedy"

    def __post_init__(self) -> None:
        if not 0 < self.epsilon <= 1:
            raise ValueError(
                f"epsilon must be in (0, 1] so that every action can be logged, got {self.epsilon}"
            )

    def probs(self, context: np.ndarray) -> np.ndarray:
        scores = _checked_scores(self.scorer, context, self.n_actions)
        out = np.full(scores.shape, self.epsilon / self.n_actions)
        out[np.arange(len(out)), scores.argmax(axis=1)] += 1.0 - self.epsilon
        return out

    def settings(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "scorer": self.scorer_name}


@dataclass
class LinearScorer:
    """Bilinear scores ``[x, 1] W [f_j, 1]^T`` of contexts against fixed action features.

    Attributes:
        weights: (d_x + 1, d_f + 1) float array.
        action_features: (n_actions, d_f) float array.
    """

    weights: np.ndarray
    action_features: np.ndarray
    _right: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        f = np.asarray(self.action_features, dtype=np.float64)
        ones = np.ones((len(f), 1))
        # Precompute W [f, 1]^T once: scoring is then one (n, d_x+1) x (d_x+1, N) product.
        self._right = (np.asarray(self.weights) @ np.hstack([f, ones]).T).astype(np.float32)

    def __call__(self, context: np.ndarray) -> np.ndarray:
        x = np.asarray(context, dtype=np.float32)
        return x @ self._right[:-1] + self._right[-1]


def _checked_scores(scorer: Scorer, context: np.ndarray, n_actions: int) -> np.ndarray:
    scores = np.asarray(scorer(np.asarray(context)))
    if scores.shape != (np.asarray(context).shape[0], n_actions):
        raise ValueError(
            f"scorer returned shape {scores.shape}; expected (n_contexts, {n_actions})"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("scorer returned NaN or infinite scores")
    return scores


def draw_actions(
    policy: BehaviourPolicy, context: np.ndarray, n_draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n_draws`` i.i.d. actions per context and the per-draw probabilities they came from.

    Returns (draws (n, n_draws) int64, probs (n, n_actions)). Uses the policy's own
    ``draw`` where it has a faster exact sampler, else :func:`sample_categorical`.
    """
    if hasattr(policy, "draw"):
        return policy.draw(context, n_draws, rng)
    probs = np.asarray(policy.probs(context), dtype=np.float64)
    n = np.asarray(context).shape[0]
    if probs.shape != (n, policy.n_actions) or not np.all(np.isfinite(probs)):
        raise ValueError(
            f"policy {policy.name!r} returned probabilities of shape {probs.shape} or "
            f"non-finite values; expected finite ({n}, {policy.n_actions})"
        )
    return sample_categorical(probs, n_draws, rng), probs


def sample_categorical(probs: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n_draws`` i.i.d. indices per row of ``probs`` (n, N) -> (n, n_draws) int64.

    Vectorised inverse-CDF sampling: one cumulative sum and one ``searchsorted`` over the
    flattened rows (each row shifted by its index so rows do not overlap). The uniforms are
    sorted within each row first, which makes the search cache-friendly (several times
    faster); the draws of a row then come in item-id order, which is immaterial for i.i.d.
    draws used as a set or a sample.
    """
    n, n_actions = probs.shape
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = np.sort(rng.random((n, n_draws)), axis=1)
    offsets = np.arange(n, dtype=np.float64)[:, None]
    flat = (cdf + offsets).ravel()
    idx = np.searchsorted(flat, (u + offsets).ravel(), side="right")
    idx = idx.reshape(n, n_draws) - (np.arange(n) * n_actions)[:, None]
    return np.minimum(idx, n_actions - 1)
