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
    """Numerically stable softmax of ``scores / temperature`` along ``axis`` (float64).

    Works in place on one float64 copy (the arrays are (n, n_actions) and logging is
    memory-bound: each extra temporary is a full pass over memory).
    """
    z = np.array(scores, dtype=np.float64)  # always a copy: the caller's scores stay intact
    if z.ndim == 2 and axis in (-1, 1) and z.shape[0] > _SOFTMAX_BLOCK_ROWS:
        # Rows in cache-sized blocks: the same element-wise operations and per-row
        # reductions (so the same bits), one pass over memory instead of five.
        for lo in range(0, z.shape[0], _SOFTMAX_BLOCK_ROWS):
            _softmax_rows(z[lo:lo + _SOFTMAX_BLOCK_ROWS], temperature, axis)
        return z
    return _softmax_rows(z, temperature, axis)


def _softmax_rows(z: np.ndarray, temperature: float, axis: int) -> np.ndarray:
    """softmax of ``z / temperature`` along ``axis``, in place in ``z`` (float64)."""
    if temperature != 1.0:
        z *= 1.0 / temperature
    z -= z.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z *= 1.0 / z.sum(axis=axis, keepdims=True)
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
    """softmax(scorer(context) / temperature): peaked for small temperatures.

    ``precision`` says how the softmax is computed, and so which distribution is logged:
    ``"float64"`` (numpy, the default) or ``"float32"`` (torch, in cache-sized blocks,
    :func:`softmax_draws`; about 2x faster to log with, used by the two-stage family).
    Either way :meth:`probs` and :meth:`draw` agree exactly: the probabilities reported
    are the ones drawn from.
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
        scores = _checked_scores(self.scorer, context, self.n_actions)
        if self.precision == "float32":
            return softmax_draws(scores, self.temperature, 0, None)[1]
        return softmax(scores, self.temperature)

    def draw(
        self, context: np.ndarray, n_draws: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n_draws`` i.i.d. actions per context and the exact float64 probabilities.

        The scorer runs once for both. float64: inverse-CDF sampling
        (:func:`sample_categorical`) on the probabilities; float32: :func:`softmax_draws`.
        """
        scores = _checked_scores(self.scorer, context, self.n_actions)
        if self.precision == "float32":
            return softmax_draws(scores, self.temperature, n_draws, rng)
        # The softmax and the draws of each block of rows in one pass while the block is in
        # cache: the same probabilities and draws as softmax() then sample_categorical().
        n = len(scores)
        u = np.sort(rng.random((n, n_draws)), axis=1)
        draws = np.empty((n, n_draws), dtype=np.int64)
        probs = np.array(scores, dtype=np.float64)
        rows = _SOFTMAX_BLOCK_ROWS
        for lo in range(0, n, rows):
            block = probs[lo:lo + rows]
            _softmax_rows(block, self.temperature, 1)
            _draw_block(block, u[lo:lo + rows], draws[lo:lo + rows])
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

    Rows need not be normalised (each is scaled by its own sum). Vectorised inverse-CDF
    sampling: each row's cumulative sum, then a search of the row's scaled uniforms in it,
    over cache-sized blocks of rows (:func:`_draw_block`). The uniforms are sorted within
    each row first, which makes the search cache-friendly; the draws of a row then come in
    item-id order, which is immaterial for i.i.d. draws used as a set or a sample. A
    zero-probability action is never drawn (except in a row that is all zeros, which has no
    distribution).

    Randomness: ``rng.random((n, n_draws))`` once, so the draws are element-wise
    reproducible for a seed.
    """
    probs = np.asarray(probs)
    n, n_actions = probs.shape
    u = np.sort(rng.random((n, n_draws)), axis=1)
    out = np.empty((n, n_draws), dtype=np.int64)
    sub = max(1, _SEARCH_BLOCK_CELLS // max(n_actions, 1))
    for a in range(0, n, sub):
        b = min(n, a + sub)
        _draw_block(probs[a:b], u[a:b], out[a:b])
    return out


def _draw_block(probs: np.ndarray, u: np.ndarray, out: np.ndarray) -> None:
    """Inverse-CDF draws for a block of rows, written into ``out`` (m, n_draws).

    ``probs`` (m, N) any non-negative float rows, ``u`` (m, n_draws) sorted uniforms in
    [0, 1). Per-row cumulative sums (torch's: the same sequential float64 additions as
    numpy's at twice the speed), searched while the block is in cache (issue 23: a
    cumulative sum of the flattened block, searched afterwards, measured 1.4x slower).
    """
    import torch  # lazy: a prompt or sequential environment may log without torch loaded

    n_actions = probs.shape[1]
    # torch reads only writable, contiguous arrays (a uniform policy's rows are a read-only
    # broadcast view): those are copied, others read in place.
    rows = np.require(probs, dtype=np.float64, requirements=["C", "W"])
    cdf = torch.cumsum(torch.from_numpy(rows), 1)
    ends = cdf[:, -1].numpy()
    queries = u * ends[:, None]
    # u < 1 puts a query below its row's end, but rounding may reach it: keep it strictly
    # below, so the search lands on an action of positive probability.
    np.minimum(queries, np.nextafter(ends, -np.inf)[:, None], out=queries)
    idx = torch.searchsorted(cdf, torch.from_numpy(queries), right=True).numpy()
    np.clip(idx, 0, n_actions - 1, out=out)  # the clip: all-zero rows only


_SEARCH_BLOCK_CELLS = 1 << 15
"""Cells per block of :func:`sample_categorical`'s cumulative sums and search: 256 KB of
float64, so each row's CDF is still in cache when it is searched (searching a 16 MB block
measured 8.6 ms per 2,000 x 1,000 block, memory latency per query)."""


_SOFTMAX_BLOCK_ROWS = 256
"""Rows per block of :func:`softmax_draws`: 256 x 1,000 float32 cells stay in cache, which
measured 4-6x faster than 2,000-row blocks for the same arithmetic."""


def softmax_draws(
    scores: np.ndarray, temperature: float, n_draws: int, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """``n_draws`` i.i.d. draws per row from softmax(scores / temperature), with the
    probabilities they were drawn from.

    Why not Gumbel-max: it needs one uniform per action *per draw* (k x n x N for k
    candidates), where inverse-CDF sampling needs one per draw; the probabilities are
    needed anyway for the propensities. What makes this fast is torch's float32 softmax
    and cumulative sum over cache-sized blocks of rows.

    Exactness: the softmax is computed in float32 (p32), its cumulative sum in float64, and
    row i draws action j with probability p32_ij / sum_j p32_ij up to float64 rounding. The
    returned probabilities are exactly that ratio (float64), so the propensities describe
    the sampler, not a float64 softmax it approximates. An action whose float32 softmax
    underflows to 0 (a score more than 87 * temperature below the row's best) is never drawn
    and reported with probability 0.

    Args:
        scores: (n, N) finite scores.
        temperature: > 0.
        n_draws: draws per row (0: the probabilities only).
        rng: the only source of randomness: ``rng.random((n, n_draws))`` once (unused, and
            may be None, when ``n_draws`` is 0).

    Returns:
        (draws (n, n_draws) int64, probs (n, N) float64 rows summing to 1).
    """
    import torch  # lazy: environments that log without a softmax need no torch

    n, n_actions = scores.shape
    u = torch.from_numpy(rng.random((n, n_draws))) if n_draws else None
    draws = np.empty((n, n_draws), dtype=np.int64)
    probs = np.empty((n, n_actions), dtype=np.float64)
    z = torch.from_numpy(np.ascontiguousarray(scores, dtype=np.float32))
    inv_t = 1.0 / temperature
    with torch.no_grad():
        for lo in range(0, n, _SOFTMAX_BLOCK_ROWS):
            hi = min(n, lo + _SOFTMAX_BLOCK_ROWS)
            p32 = torch.softmax(z[lo:hi] * inv_t, dim=1)
            cdf = torch.cumsum(p32, dim=1, dtype=torch.float64)
            total = cdf[:, -1:]
            torch.div(p32.to(torch.float64), total, out=torch.from_numpy(probs[lo:hi]))
            if u is None:
                continue
            # u < 1, but u * total may round up to total: keep each query strictly below
            # its row's end so that it lands on an action of positive probability.
            queries = torch.minimum(u[lo:hi] * total, torch.nextafter(total, total.new_zeros(1)))
            draws[lo:hi] = torch.searchsorted(cdf, queries, right=True).numpy()
    return draws, probs
