"""The fixed second stage of a two-stage recommender, and the exact propensity it implies.

Two-stage systems (Ma et al., "Off-policy Learning in Two-stage Recommender Systems",
WWW 2020): a candidate generator nominates k items, a fixed ranker orders them and shows
the top ``slate_size``. The ranker here is greedy over a bilinear score with a strict total
order: higher score first, ties to the lower item id. Candidate sets have set semantics:
a repeated id counts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def with_bias_column(x: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, d + 1) with a trailing column of ones."""
    return np.hstack([x, np.ones((x.shape[0], 1), dtype=x.dtype)])


@dataclass(frozen=True)
class BilinearRanker:
    """score(x, j) = [x, 1] W [f_j, 1]^T, then greedy top-``slate_size`` of the candidate set.

    Attributes:
        weights: (user_dim + 1, item_dim + 1) float32.
        item_features: (n_items, item_dim) float32 observable item features.
    """

    weights: np.ndarray
    item_features: np.ndarray
    _item_side: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.weights.shape != (self.weights.shape[0], self.item_features.shape[1] + 1):
            raise ValueError(
                f"ranker weights {self.weights.shape} do not fit item features "
                f"{self.item_features.shape} (+1 bias column)"
            )
        # (n_items, user_dim + 1): each item's score is then a dot product with [x, 1].
        item_side = with_bias_column(self.item_features.astype(np.float32)) @ self.weights.T
        object.__setattr__(self, "_item_side", np.ascontiguousarray(item_side, dtype=np.float32))

    @property
    def n_items(self) -> int:
        return self.item_features.shape[0]

    def scores(self, user_features: np.ndarray, items: np.ndarray) -> np.ndarray:
        """user_features (n, d_u), items (n, k) -> scores (n, k) float32."""
        x = with_bias_column(np.asarray(user_features, dtype=np.float32))
        # np.take: the same rows as fancy indexing, measured 4x faster for (n, k) ids.
        return np.einsum("nd,nkd->nk", x, np.take(self._item_side, items, axis=0))

    def scores_all(self, user_features: np.ndarray) -> np.ndarray:
        """user_features (n, d_u) -> scores of every item (n, n_items) float32."""
        x = with_bias_column(np.asarray(user_features, dtype=np.float32))
        return x @ self._item_side.T

    def select(
        self, user_features: np.ndarray, candidates: np.ndarray, slate_size: int
    ) -> np.ndarray:
        """Greedy slate from each candidate set.

        Args:
            user_features: (n, d_u).
            candidates: (n, k) item ids; repeats count once.
            slate_size: items shown per round.

        Returns:
            (n, slate_size) int64 item ids in display order; -1 fills slots where a set has
            fewer distinct items than ``slate_size``.
        """
        candidates = np.asarray(candidates, dtype=np.int64)
        s = self.scores(user_features, candidates)
        return greedy_slate(s, candidates, slate_size)


def greedy_slate(scores: np.ndarray, candidates: np.ndarray, slate_size: int) -> np.ndarray:
    """Top ``slate_size`` distinct candidates by (score desc, id asc), like the ranker."""
    n, k = candidates.shape
    rows = np.arange(n)
    if slate_size == 1:
        # The best score; among equal scores the lowest id (the strict order of the ranker).
        best = scores.max(axis=1, keepdims=True)
        ids = np.where(scores == best, candidates, np.iinfo(np.int64).max)
        return ids.min(axis=1, keepdims=True)
    order = np.lexsort((candidates, -scores), axis=-1)
    ids = candidates[rows[:, None], order]
    first = np.ones_like(ids, dtype=bool)
    first[:, 1:] = ids[:, 1:] != ids[:, :-1]  # repeats sit next to each other after the sort
    rank = np.cumsum(first, axis=1) - 1
    keep = first & (rank < slate_size)
    out = np.full((n, slate_size), -1, dtype=np.int64)
    r, c = np.nonzero(keep)
    out[r, rank[r, c]] = ids[r, c]
    return out


_PROBABILITY_BLOCK_ROWS = 256
"""Rows per block of :func:`shown_item_probability` (256 x 1,000 cells stay in cache)."""


def shown_item_probability(
    probs: np.ndarray, ranker_scores: np.ndarray, shown: np.ndarray, n_candidates: int
) -> np.ndarray:
    """Exact probability that the greedy ranker shows ``shown`` first.

    The candidate set is ``n_candidates`` i.i.d. draws from ``probs`` (set semantics). The
    ranker shows item a first exactly when every draw lies in B_a, the items it ranks no
    higher than a (a included), and at least one draw is a:

        P(first = a) = S_a^k - (S_a - p_a)^k,   S_a = sum_{j in B_a} p_j,

    computed as S_a^k * -expm1(k * log1p(-p_a / S_a)) to avoid cancellation.

    Args:
        probs: (n, n_items) per-draw probabilities of the candidate generator.
        ranker_scores: (n, n_items) the ranker's scores of every item.
        shown: (n,) the item shown first.
        n_candidates: k, draws per set.

    Returns:
        (n,) float64 probabilities in (0, 1] for items with p_a > 0.
    """
    n = len(shown)
    rows = np.arange(n)
    s_a = ranker_scores[rows, shown][:, None]
    mass = np.empty(n)
    # The mask and its sum in cache-sized blocks of rows (each row's arithmetic, hence its
    # bits, unchanged; measured 1.3-1.9x faster at 1,000 items), the rest on all rows.
    for lo in range(0, n, _PROBABILITY_BLOCK_ROWS):
        block = slice(lo, lo + _PROBABILITY_BLOCK_ROWS)
        no_higher = _no_higher_mask(ranker_scores[block], s_a[block], shown[block])
        mass[block] = np.einsum("ij,ij->i", probs[block], no_higher, dtype=np.float64)
    p_a = probs[rows, shown].astype(np.float64)
    mass = np.maximum(mass, p_a)
    ratio = np.clip(p_a / np.where(mass > 0, mass, 1.0), 0.0, 1.0)
    mass = np.minimum(mass, 1.0)  # float sums of probabilities can exceed 1 by an ulp
    with np.errstate(divide="ignore"):
        prob = mass**n_candidates * -np.expm1(n_candidates * np.log1p(-ratio))
    return np.minimum(prob, 1.0)


def _no_higher_mask(ranker_scores: np.ndarray, s_a: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """B_a as a mask: (n, n_items) ``score < s_a`` or (``score == s_a`` and ``id >= a``).

    Built as ``score <= s_a``, then the items tied with a at a lower id (which the ranker
    puts above a) are taken out of the rows that have such ties: the same mask in two
    passes over the scores instead of five. A row whose s_a is NaN matches nothing, as in
    the definition.
    """
    no_higher = ranker_scores <= s_a
    tied = ranker_scores == s_a
    # Each row with a number for s_a ties at least with a itself; more ties than such rows
    # means some row has another item at exactly s_a (rare with float scores).
    if np.count_nonzero(tied) > np.count_nonzero(s_a == s_a):
        tie_rows = np.flatnonzero(np.count_nonzero(tied, axis=1) > 1)
        ids = np.arange(ranker_scores.shape[1])
        above = tied[tie_rows] & (ids < shown[tie_rows, None])
        no_higher[tie_rows] &= ~above
    return no_higher


def fit_bilinear(
    user_features: np.ndarray, item_features: np.ndarray, targets: np.ndarray, ridge: float
) -> np.ndarray:
    """Ridge regression of ``targets`` on [x, 1] (x) [f, 1]: returns W (d_u + 1, d_i + 1).

    Args:
        user_features: (m, d_u) one row per observed (user, item) cell.
        item_features: (m, d_i) the matching items.
        targets: (m,) values to fit (logits or labels).
        ridge: L2 penalty.
    """
    x = with_bias_column(np.asarray(user_features, dtype=np.float64))
    f = with_bias_column(np.asarray(item_features, dtype=np.float64))
    design = np.einsum("mi,mj->mij", x, f).reshape(len(x), -1)
    gram = design.T @ design + ridge * np.eye(design.shape[1])
    w = np.linalg.solve(gram, design.T @ np.asarray(targets, dtype=np.float64))
    return w.reshape(x.shape[1], f.shape[1]).astype(np.float32)


def fit_bilinear_grid(
    user_features: np.ndarray, item_features: np.ndarray, targets: np.ndarray, ridge: float
) -> np.ndarray:
    """Least squares of a full user x item grid of ``targets`` on [x, 1] W [f, 1]^T.

    On a complete grid the normal equations factor (the design is a Kronecker product), so
    W = (X'X + rI)^-1 X' T F (F'F + rI)^-1 costs two small solves instead of a regression
    with one row per cell.

    Args:
        user_features: (m, d_u).
        item_features: (p, d_i).
        targets: (m, p) the value of every (user, item) cell.
        ridge: L2 penalty applied to each factor.

    Returns:
        W, (d_u + 1, d_i + 1) float32.
    """
    x = with_bias_column(np.asarray(user_features, dtype=np.float64))
    f = with_bias_column(np.asarray(item_features, dtype=np.float64))
    left = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ targets @ f)
    w = np.linalg.solve(f.T @ f + ridge * np.eye(f.shape[1]), left.T).T
    return w.astype(np.float32)
