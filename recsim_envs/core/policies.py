"""Behaviour policies that log data, each reporting the exact probability of what it chose.

Every behaviour policy here is a *per-draw distribution* over ``n_actions`` discrete
choices given a context: :meth:`BehaviourPolicy.probs` returns it as an (n, n_actions)
array. Environments turn it into their action: a prompt environment draws one prompt from
it; a two-stage environment draws the k candidates from it with replacement and derives the
exact probability of the item its ranker shows (see
:func:`recsim_envs.two_stage.ranker.shown_item_probability`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from recsim_envs.core.sampling import (
    NON_FINITE_SCORES,
    SOFTMAX_BLOCK_ROWS,
    draw_block,
    sample_categorical,
    softmax,
    softmax_block,
    softmax_draws,
)

__all__ = [  # the samplers stay importable from here, where they were first defined
    "BehaviourPolicy", "EpsilonGreedyPolicy", "LinearScorer", "Scorer", "SoftmaxPolicy",
    "UniformPolicy", "draw_actions", "sample_categorical", "softmax", "softmax_draws",
]

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
    """softmax(scorer(context) / temperature): peaked for small temperatures.

    ``precision`` says how the softmax is computed, and so which distribution is logged:
    ``"float64"`` (the default; numpy's ``exp`` and sums, blocks of rows,
    :func:`recsim_envs.core.sampling.softmax_block`) or ``"float32"`` (torch's float32
    softmax, :func:`softmax_draws`; other probabilities, so other logs, and since issue 23
    no faster: 10^6 two-stage rounds 11.5 CPU s against 10.9 for float64). Either way
    :meth:`probs` and :meth:`draw` agree exactly: the probabilities reported are the ones
    drawn from.
    """

    scorer: Scorer
    n_actions: int
    temperature: float = 1.0
    scorer_name: str = "custom"
    name: str = "softmax"
    precision: str = "float64"

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.precision not in ("float64", "float32"):
            raise ValueError(f"precision must be 'float64' or 'float32', got {self.precision!r}")

    def probs(self, context: np.ndarray) -> np.ndarray:
        if self.precision == "float32":
            scores = _checked_scores(self.scorer, context, self.n_actions)
            return softmax_draws(scores, self.temperature, 0, None)[1]
        scores = _shaped_scores(self.scorer, context, self.n_actions)
        out = np.empty((len(scores), self.n_actions), dtype=np.float64)
        for lo in range(0, len(scores), SOFTMAX_BLOCK_ROWS):  # softmax()'s bits, per block
            softmax_block(scores[lo:lo + SOFTMAX_BLOCK_ROWS], self.temperature,
                          out[lo:lo + SOFTMAX_BLOCK_ROWS])
        return out

    def draw(
        self, context: np.ndarray, n_draws: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n_draws`` i.i.d. actions per context and the exact float64 probabilities.

        The scorer runs once for both. float64: inverse-CDF sampling
        (:func:`sample_categorical`) on the probabilities; float32: :func:`softmax_draws`.
        """
        if self.precision == "float32":
            scores = _checked_scores(self.scorer, context, self.n_actions)
            return softmax_draws(scores, self.temperature, n_draws, rng)
        scores = _shaped_scores(self.scorer, context, self.n_actions)
        # The softmax and the draws of each block of rows in one pass while the block is in
        # cache: the same probabilities and draws as softmax() then sample_categorical().
        # The check of the scores and their cast to float64 happen per block too. (The
        # scorer runs on the whole batch: a matrix product's bits for a row can depend on
        # how many rows it multiplies, measured on the MovieLens worlds.)
        n = len(scores)
        u = np.sort(rng.random((n, n_draws)), axis=1)
        draws = np.empty((n, n_draws), dtype=np.int64)
        probs = np.empty((n, self.n_actions), dtype=np.float64)
        rows = SOFTMAX_BLOCK_ROWS
        for lo in range(0, n, rows):
            block = probs[lo:lo + rows]
            softmax_block(scores[lo:lo + rows], self.temperature, block)
            draw_block(block, u[lo:lo + rows], draws[lo:lo + rows])
        return draws, probs

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {"temperature": self.temperature, "scorer": self.scorer_name}
        if self.precision != "float64":  # float64 logs stay as they were recorded before
            out["precision"] = self.precision
        return out


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
        return self._probs(scores.argmax(axis=1))

    def _probs(self, greedy: np.ndarray) -> np.ndarray:
        out = np.full((len(greedy), self.n_actions), self.epsilon / self.n_actions)
        out[np.arange(len(out)), greedy] += 1.0 - self.epsilon
        return out

    def draw(
        self, context: np.ndarray, n_draws: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each draw: the greedy action with probability 1 - epsilon, else a uniform one.

        Exactly the distribution of :meth:`probs` (a uniform draw may be the greedy action
        too), with no cumulative sums: 2 * n * n_draws random numbers.
        """
        scores = _checked_scores(self.scorer, context, self.n_actions)
        greedy = scores.argmax(axis=1)
        n = len(greedy)
        explore = rng.random((n, n_draws)) < self.epsilon
        uniform = rng.integers(0, self.n_actions, size=(n, n_draws))
        draws = np.where(explore, uniform, greedy[:, None])
        return draws.astype(np.int64), self._probs(greedy)

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
        scores = x @ self._right[:-1]
        scores += self._right[-1]  # in place: no second (n, n_actions) array
        return scores


def _shaped_scores(scorer: Scorer, context: np.ndarray, n_actions: int) -> np.ndarray:
    """``scorer(context)``, checked to be (n, n_actions) (its values are not checked)."""
    scores = np.asarray(scorer(np.asarray(context)))
    if scores.shape != (np.asarray(context).shape[0], n_actions):
        raise ValueError(
            f"scorer returned shape {scores.shape}; expected (n_contexts, {n_actions})"
        )
    return scores


def _checked_scores(scorer: Scorer, context: np.ndarray, n_actions: int) -> np.ndarray:
    scores = _shaped_scores(scorer, context, n_actions)
    if not np.all(np.isfinite(scores)):
        raise ValueError(NON_FINITE_SCORES)
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
