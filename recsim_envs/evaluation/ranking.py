"""Ranking metrics of the one-stage skyline view (Precision, Recall, NDCG at k)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def ranking_metrics(
    top_items: np.ndarray, positives: np.ndarray, ks: Sequence[int]
) -> dict[str, np.ndarray]:
    """Per-user Precision@k, Recall@k and NDCG@k of ranked lists against binary relevance.

    Args:
        top_items: (n, K) item ids, best first, K >= max(ks). A repeated id counts once (at
            its first position), as candidate sets have set semantics.
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
    hits = positives[rows, top_items] & first  # (n, K)
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
