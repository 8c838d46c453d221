"""The bootstrap machinery of every estimator: resample counts, percentile intervals.

All intervals of :mod:`recsim_envs.ope` are percentile bootstraps over held-out rounds (or
sessions), as OBP's ``estimate_intervals`` (Saito et al., NeurIPS 2021 datasets track);
what each one covers is in its ``interval`` text (:func:`interval_text`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from recsim_envs.ope.estimate import MIN_ESS

# Largest number of entries in one block of bootstrap counts (n_block, n): keeps memory near
# 32 MB whatever the log size, while each block is still one vectorised matrix product.
_BLOCK_ENTRIES = 1 << 22


def check_bootstrap(rng: Any, n_boot: int, min_ess: float = MIN_ESS) -> None:
    """Validate the shared keyword arguments of every estimator."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                        "pass np.random.default_rng(seed)")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int, got {n_boot!r}")
    if not (math.isfinite(min_ess) and min_ess >= 0):
        raise ValueError(f"min_ess must be a finite number >= 0, got {min_ess!r}")


def bootstrap_counts(rng: np.random.Generator, n: int, n_boot: int) -> Iterator[np.ndarray]:
    """Yield blocks of resample counts, (n_block, n) float64, n_boot rows in all.

    Row b counts how often each of the n units was drawn (with replacement, n draws) in
    replicate b, so a replicate of a mean of per-unit terms is ``counts @ terms / n``: one
    matrix product per block instead of a Python loop over replicates.
    """
    block = max(1, _BLOCK_ENTRIES // n)
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        idx += n * np.arange(b)[:, None]  # in place: row b's draws index its own n counts
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)


RESAMPLING = ("all", "support")
"""How a bootstrap over rounds is drawn. ``"all"`` (the default): n draws among all n rounds
per replicate (:func:`bootstrap_counts`). ``"support"``: the same bootstrap distribution
for statistics that only read rounds with a non-zero weight (IPS, SNIPS, kernel IS), drawn
by :func:`support_sums` in time proportional to the support - other draws, so other
intervals than ``"all"`` for the same seed."""


def check_resampling(resampling: str) -> None:
    if resampling not in RESAMPLING:
        raise ValueError(f"resampling must be one of {RESAMPLING}, got {resampling!r}")


def support_sums(rng: np.random.Generator, n: int, n_boot: int,
                 columns: np.ndarray) -> np.ndarray:
    """Bootstrap sums over the rounds with a non-zero weight, without drawing the others.

    A multinomial resample of n rounds puts ``K ~ Binomial(n, m / n)`` of its n draws on the
    m support rounds, and given K those draws are uniform over them; rounds off the support
    add 0 to every sum. So (K, then K uniform support rounds) is the same bootstrap
    distribution as :func:`bootstrap_counts` followed by ``counts @ columns`` padded with
    zero rows, at a cost proportional to m instead of n per replicate (Efron and
    Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 6: the bootstrap of a sum
    only needs the distribution of the resampled terms).

    Args:
        rng: the only source of randomness (binomials, then support indices in blocks).
        n: rounds in the log.
        n_boot: replicates.
        columns: (m, p) per-round terms of the m support rounds (m <= n).

    Returns:
        (n_boot, p) float64 sums ``sum_{draws on the support} columns[draw]``.
    """
    m, p = columns.shape
    by_column = np.ascontiguousarray(np.asarray(columns, dtype=np.float64).T)
    k = rng.binomial(n, m / n, size=n_boot) if m else np.zeros(n_boot, dtype=np.int64)
    out = np.zeros((n_boot, p))
    start = 0
    while start < n_boot:  # blocks of replicates with about _BLOCK_ENTRIES draws in all
        stop = start + 1 + int(np.searchsorted(np.cumsum(k[start:]), _BLOCK_ENTRIES))
        stop = min(n_boot, stop)
        kb = k[start:stop]
        total = int(kb.sum())
        if total:
            # Replicate b's draws are the b-th run of consecutive draws: one reduceat sums
            # every run (an empty run would repeat its neighbour's first term: set to 0).
            idx = rng.integers(0, m, size=total)
            first = np.minimum(np.cumsum(kb) - kb, total - 1)
            for j in range(p):  # 1-D takes: a row gather of (m, p) measured 10x slower
                out[start:stop, j] = np.add.reduceat(np.take(by_column[j], idx), first)
            out[start:stop][kb == 0] = 0.0
        start = stop
    return out


def bootstrap_replicates(
    rng: np.random.Generator, n: int, n_boot: int,
    statistic: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """(n_boot,) replicates of ``statistic(counts (n_block, n)) -> (n_block,)``; NaN = undefined."""
    return np.concatenate([statistic(c) for c in bootstrap_counts(rng, n, n_boot)])


def percentile_interval(replicates: np.ndarray) -> tuple[float | None, float | None, int]:
    """2.5% and 97.5% percentiles of the defined (finite) replicates, and how many were not."""
    ok = np.isfinite(replicates)
    if not ok.any():
        return None, None, int(replicates.size)
    lo, hi = np.percentile(replicates[ok], [2.5, 97.5])
    return float(lo), float(hi), int((~ok).sum())


def interval_text(unit: str, n_boot: int, extra: str = "") -> str:
    """E.g. "percentile bootstrap over held-out rounds (1000 replicates); <extra>"."""
    text = f"percentile bootstrap over held-out {unit} ({n_boot} replicates)"
    return f"{text}; {extra}" if extra else text


def dropped_note(n_dropped: int, n_boot: int) -> str:
    if not n_dropped:
        return ""
    return (f"{n_dropped} of {n_boot} bootstrap replicates were undefined "
            "(no non-zero weight in the resample) and were left out of the interval")
