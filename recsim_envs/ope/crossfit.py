"""Cross-fitted reward-model predictions for DM and DR on a held-out log.

A reward model fitted on the rows it then scores makes DR's correction term
``w_i (r_i - q_hat(x_i, a_i))`` shrink towards 0 on exactly those rows (the model has seen
their rewards), so DR inherits the model's bias and its interval over rounds is too
narrow. Cross-fitting (Chernozhukov et al., "Double/debiased machine learning for treatment
and structural parameters", Econometrics Journal 2018; SCOPE-RL's ``k_fold``): split the
held-out rows into K folds, fit the model on the other folds (plus, optionally, a separate
training log, which is disjoint from every held-out row), predict the fold, and combine.
Every prediction is then out-of-fold, and the DR interval over held-out rounds of the
per-round terms is the usual one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CROSS_FIT_FOLDS = 2
"""K: two folds halve the data each model sees the least of all K >= 2 (Chernozhukov et al.
use K = 2 to 5); each fold's model also sees the training log where there is one."""

FitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``fit_predict(fit_rows (m,), eval_rows (n - m,)) -> (n - m, ...)``: fit the model on the
held-out rows ``fit_rows`` (and any separate data of the caller's), predict ``eval_rows``."""


def fold_ids(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) fold of each row: a random permutation cut into k folds of sizes differing by <= 1."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise ValueError(f"cross-fitting needs k >= 2 folds, got {k!r}")
    if n < k:
        raise ValueError(f"cannot cut {n} held-out rows into {k} folds; log at least {k} rows")
    folds = np.empty(n, dtype=np.int64)
    folds[rng.permutation(n)] = np.arange(n) % k
    return folds


def cross_fit(n: int, fit_predict: FitPredict, rng: np.random.Generator,
              k: int = CROSS_FIT_FOLDS) -> np.ndarray:
    """Out-of-fold predictions for every held-out row.

    Args:
        n: held-out rows.
        fit_predict: see :data:`FitPredict`; called k times, once per fold.
        rng: draws the fold split (a permutation of the n rows).
        k: folds.

    Returns:
        (n, ...) float64: row i predicted by the model fitted without fold(i).
    """
    folds = fold_ids(n, k, rng)
    out: np.ndarray | None = None
    for j in range(k):
        eval_rows = np.flatnonzero(folds == j)
        pred = np.asarray(fit_predict(np.flatnonzero(folds != j), eval_rows), dtype=np.float64)
        if pred.shape[:1] != (len(eval_rows),):
            raise ValueError(f"fit_predict returned shape {pred.shape} for {len(eval_rows)} "
                             "rows to predict; expected one prediction per row")
        if out is None:
            out = np.empty((n, *pred.shape[1:]))
        out[eval_rows] = pred
    assert out is not None
    return out
