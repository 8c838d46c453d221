"""Target policies as off-policy estimators need them: the probability of each logged action.

In a two-stage system the logged action is the item the fixed ranker showed, so the
target's probability of it is the probability that the ranker shows that item when the
target draws its candidate set as it actually does (Ma et al., "Off-policy Learning in
Two-stage Recommender Systems", WWW 2020, Sec. 3) - not the generator's probability of
nominating it, and not a one-hot of one sampled set.
"""

from __future__ import annotations

import math

import numpy as np


def shown_item_distribution(
    candidate_probs: np.ndarray, ranker_scores: np.ndarray, n_candidates: int,
    with_replacement: bool,
) -> np.ndarray:
    """P(the ranker shows item a first) for every item, exactly.

    Items are ordered by the ranker (score descending, id ascending: the ranker's strict
    order). Item a is shown iff it is in the candidate set and no item ranked above it is.

    - With replacement (k i.i.d. draws from p): with S_a the mass of a and every item ranked
      below it, P(a) = S_a^k - (S_a - p_a)^k.
    - Without replacement, uniform over a support of M items (k distinct items): with j the
      number of support items ranked above a, P(a) = C(M - 1 - j, k - 1) / C(M, k)
      = (k / M) prod_{i=0}^{k-2} (M - 1 - j - i) / (M - 1 - i).

    Args:
        candidate_probs: (n, N) per-draw distribution of the target's candidates; for
            ``with_replacement=False`` it must be uniform over its support.
        ranker_scores: (n, N) the fixed ranker's scores.
        n_candidates: k.
        with_replacement: how the target draws its k candidates.

    Returns:
        (n, N) float64, rows summing to 1.
    """
    p = np.asarray(candidate_probs, dtype=np.float64)
    n, n_items = p.shape
    k = int(n_candidates)
    ids = np.broadcast_to(np.arange(n_items), (n, n_items))
    order = np.lexsort((ids, -np.asarray(ranker_scores)), axis=-1)  # best first
    p_sorted = np.take_along_axis(p, order, axis=1)
    if with_replacement:
        below = np.clip(np.cumsum(p_sorted[:, ::-1], axis=1)[:, ::-1], 0.0, 1.0)
        lower = np.clip(below - p_sorted, 0.0, 1.0)
        first_sorted = below**k - lower**k
    else:
        support = p_sorted > 0
        m = support.sum(axis=1, keepdims=True)  # (n, 1) support size M
        if np.any(m < k):
            raise ValueError(f"k = {k} distinct candidates need a support of at least k items")
        flat = np.where(support, p_sorted, np.nan)
        if not np.allclose(np.nanmax(flat, axis=1), np.nanmin(flat, axis=1)):
            raise ValueError("without replacement the shown-item probability is exact here "
                             "only for a uniform candidate distribution")
        j = np.cumsum(support, axis=1) - 1  # support items ranked above each position
        first_sorted = np.zeros_like(p_sorted)
        for size in np.unique(m):  # one table per support size (usually one)
            rows = np.flatnonzero(m[:, 0] == size)
            table = _first_of_uniform_subset(int(size), k)
            jj = np.clip(j[rows], 0, size - 1)
            first_sorted[rows] = np.where(support[rows], table[jj], 0.0)
    out = np.empty_like(first_sorted)
    np.put_along_axis(out, order, first_sorted, axis=1)
    return out / out.sum(axis=1, keepdims=True)


def _first_of_uniform_subset(m: int, k: int) -> np.ndarray:
    """(m,) P(the item with j support items above it is the best of k distinct uniform
    draws) = C(m - 1 - j, k - 1) / C(m, k), through log-gamma (no overflow)."""
    j = np.arange(m)
    rest = m - 1 - j
    ok = rest >= k - 1
    lg = np.vectorize(math.lgamma, otypes=[np.float64])
    log_num = lg(np.maximum(rest, 0) + 1.0) - lg(k) - lg(np.maximum(rest - k + 1, 0) + 1.0)
    log_den = math.lgamma(m + 1) - math.lgamma(k + 1) - math.lgamma(m - k + 1)
    return np.where(ok, np.exp(log_num - log_den), 0.0)


def one_hot(index: np.ndarray, n: int) -> np.ndarray:
    """(m,) int -> (m, n) float64 one-hot rows (a deterministic target's distribution)."""
    out = np.zeros((len(index), n))
    out[np.arange(len(index)), np.asarray(index, dtype=np.int64)] = 1.0
    return out

