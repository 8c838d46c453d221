"""Importance weights, their effective sample size and the support masses of a target.

The package's only definitions of ``w_i = pi(a_i|x_i) / pi_0(a_i|x_i)`` and of Kish's ESS;
:mod:`recsim_envs.ope.bandit` and :mod:`recsim_envs.ope.sessions` build on them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recsim_envs.ope.estimate import expected_ess, support_masses

Masses = tuple[float | None, float | None, float | None]


def masses(target_probs: Any, behaviour_probs: Any, n: int) -> Masses:
    """``(unsupported, thin, expected ESS)`` from full (n, A) distributions
    (:func:`~recsim_envs.ope.estimate.support_masses`,
    :func:`~recsim_envs.ope.estimate.expected_ess`), or (None, None, None) without them."""
    if target_probs is None and behaviour_probs is None:
        return None, None, None
    if target_probs is None or behaviour_probs is None:
        raise ValueError("pass both target_probs and behaviour_probs (n, A), or neither")
    target_probs = np.asarray(target_probs, dtype=np.float64)
    if target_probs.ndim != 2 or target_probs.shape[0] != n:
        raise ValueError(f"target_probs has shape {target_probs.shape}; expected ({n}, A): "
                         "one distribution per held-out round")
    return (*support_masses(target_probs, behaviour_probs, n),
            expected_ess(target_probs, behaviour_probs, n))


def as_vector(name: str, x: Any, n: int | None = None) -> np.ndarray:
    """``x`` as a finite float64 (n,) vector, or ValueError naming ``name``."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n,), got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has shape {arr.shape}; expected ({n},) like the other inputs")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; pass at least one held-out round")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values; drop or fix those rounds")
    return arr


def importance_weights(target_prob: Any, pscore: Any) -> np.ndarray:
    """``w_i = pi(a_i|x_i) / pi_0(a_i|x_i)``: target_prob (n,) in [0, 1], pscore (n,) in (0, 1].

    Returns:
        (n,) float64 weights.
    """
    target_prob = as_vector("target_prob", target_prob)
    pscore = as_vector("pscore", pscore, len(target_prob))
    if np.any((target_prob < 0) | (target_prob > 1)):
        raise ValueError("target_prob must lie in [0, 1] (the target's probability of the "
                         "logged action)")
    if np.any((pscore <= 0) | (pscore > 1)):
        raise ValueError("pscore must lie in (0, 1]; a zero propensity means the logged action "
                         "could not have been logged - fix the logging policy's probabilities")
    return target_prob / pscore


def effective_sample_size(w: Any) -> float:
    """Kish's effective sample size ``(sum_i w_i)^2 / sum_i w_i^2`` of weights w (n,).

    0.0 when every weight is zero (no effective rounds at all).
    """
    w = np.asarray(w, dtype=np.float64)
    sq = float(np.dot(w.ravel(), w.ravel()))
    return float(w.sum()) ** 2 / sq if sq > 0 else 0.0
