"""Ranking metrics of two-stage recommendation (Precision, Recall, NDCG at k).

One-stage: the generator's own ranked list. Two-stage (Ma et al., WWW 2020): the ranker
re-sorts the generator's top-k candidates (logged positives excluded first) and the metrics
are taken on the ranker's order. The authors' code indexes the unfiltered order for the
two-stage metric; here the list is filtered first, then re-sorted, then cut.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def ranking_metrics(
    top_items: np.ndarray, positives: np.ndarray, ks: Sequence[int]
) -> dict[str, np.ndarray]:
    """Per-user Precision@k, Recall@k and NDCG@k of ranked lists against binary relevance.

    Args:
        top_items: (n, K) item ids, best first, K >= max(ks). A repeated id counts once (at
            its first position), as candidate sets have set semantics; -1 marks an empty
            slot (never a hit).
        positives: (n, n_items) bool ground truth.
        ks: cut-offs.

    Returns:
        {"precision@k": (n,), "recall@k": (n,), "ndcg@k": (n,)} float64. Precision divides
        hits by k; recall divides by the user's number of positives; NDCG is DCG with gains
        1/log2(rank + 1) over the ideal DCG of min(k, n_pos) positives. Recall and NDCG are
        NaN for users without positives (excluded by :func:`evaluate`).
    """
    top_items = np.asarray(top_items, dtype=np.int64)
    n, width = top_items.shape
    if not ks or max(ks) > width:
        raise ValueError(f"need cut-offs ks (got {list(ks)}) of at most {width} ranked items")
    rows = np.arange(n)[:, None]
    first = np.ones_like(top_items, dtype=bool)
    # first occurrence of each id in each row, in a vectorised way: sort, mark run starts
    order = np.argsort(top_items, axis=1, kind="stable")
    sorted_ids = np.take_along_axis(top_items, order, axis=1)
    starts = np.ones_like(sorted_ids, dtype=bool)
    starts[:, 1:] = sorted_ids[:, 1:] != sorted_ids[:, :-1]
    first[rows, order] = starts
    hits = positives[rows, np.maximum(top_items, 0)] & first & (top_items >= 0)  # (n, K)
    n_pos = positives.sum(axis=1).astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(2, width + 2))
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in ks:
            h = hits[:, :k]
            n_hits = h.sum(axis=1).astype(np.float64)
            out[f"precision@{k}"] = n_hits / k
            out[f"recall@{k}"] = np.where(n_pos > 0, n_hits / n_pos, np.nan)
            dcg = (h * discounts[:k]).sum(axis=1)
            ideal = np.cumsum(discounts[:k])[np.minimum(n_pos, k).astype(np.int64) - 1]
            out[f"ndcg@{k}"] = np.where(n_pos > 0, dcg / ideal, np.nan)
    return out


def filter_ranked(
    ranked: np.ndarray, excluded: np.ndarray | None, width: int
) -> np.ndarray:
    """The first ``width`` distinct, non-excluded ids of each ranked list, order kept.

    Args:
        ranked: (n, K) item ids, best first (-1 allowed for empty slots).
        excluded: (n, n_items) bool items to drop (e.g. logged positives), or None.
        width: ids kept per row.

    Returns:
        (n, width) int64, padded with -1 where a row has fewer usable ids.
    """
    ranked = np.asarray(ranked, dtype=np.int64)
    n, k = ranked.shape
    rows = np.arange(n)[:, None]
    order = np.argsort(ranked, axis=1, kind="stable")
    sorted_ids = np.take_along_axis(ranked, order, axis=1)
    starts = np.ones_like(sorted_ids, dtype=bool)
    starts[:, 1:] = sorted_ids[:, 1:] != sorted_ids[:, :-1]
    keep = np.zeros_like(ranked, dtype=bool)
    keep[rows, order] = starts
    keep &= ranked >= 0
    if excluded is not None:
        keep &= ~np.asarray(excluded, dtype=bool)[rows, np.maximum(ranked, 0)]
    # Stable compaction: kept ids first, in their original order.
    pos = np.argsort(~keep, axis=1, kind="stable")
    out = np.where(np.take_along_axis(keep, pos, axis=1), np.take_along_axis(ranked, pos,
                                                                             axis=1), -1)
    if out.shape[1] < width:
        out = np.hstack([out, np.full((n, width - out.shape[1]), -1, dtype=np.int64)])
    return out[:, :width]


def ranker_order(candidates: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Candidates re-sorted by the ranker, best first; ties keep the generator's order.

    Args:
        candidates: (n, k) distinct item ids, -1 for empty slots (kept last).
        scores: (n, k) the ranker's score of each candidate.
    """
    s = np.where(candidates >= 0, np.asarray(scores, dtype=np.float64), -np.inf)
    order = np.argsort(-s, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)
