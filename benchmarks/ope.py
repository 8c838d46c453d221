"""Off-policy estimates of a target policy's value from logged rounds, with 95% intervals.

Every estimator reads held-out logged rounds (context x_i, action a_i, propensity
pi_0(a_i|x_i), reward r_i) and the target policy's distribution over the same action space
pi(.|x_i) (one-hot for a deterministic policy). Names and formulas follow the Open Bandit
Pipeline (Saito et al., NeurIPS 2021 datasets track):

- IPS (Horvitz and Thompson, 1952; Precup et al., 2000): V = mean_i w_i r_i,
  w_i = pi(a_i|x_i) / pi_0(a_i|x_i).
- SNIPS (Swaminathan and Joachims, NeurIPS 2015): V = sum_i w_i r_i / sum_i w_i.
- DM (Beygelzimer and Langford, KDD 2009): V = mean_i sum_a pi(a|x_i) q(x_i, a).
- DR (Dudik, Langford and Li, ICML 2011): DM + mean_i w_i (r_i - q(x_i, a_i)).
- Kernel IS (Kiyohara et al., "Prompt Optimization with Logged Bandit Data", 2025, the
  weighting of DSO): IS in sentence space, w_i = pi(phi(s_i)|x_i) / pi_0(phi(s_i)|x_i) with
  both densities kernel-smoothed (the caller supplies them).

Intervals: each estimator is a mean of per-round terms (SNIPS through its linearisation,
w_i (r_i - V) / mean(w) + V), so :func:`recsim_envs.stats.mean_ci` gives a 95% interval.
"""

from __future__ import annotations

import numpy as np

from recsim_envs.stats import Estimate, mean_ci

ESTIMATORS = ("ips", "snips", "dm", "dr")


def _check(name: str, arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}; expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def importance_weights(
    target_probs: np.ndarray, action: np.ndarray, pscore: np.ndarray
) -> np.ndarray:
    """w_i = pi(a_i|x_i) / pi_0(a_i|x_i): target_probs (n, N), action (n,), pscore (n,) -> (n,)."""
    n = len(action)
    probs = np.asarray(target_probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != n:
        raise ValueError(f"target_probs has shape {probs.shape}; expected ({n}, n_actions)")
    pscore = _check("pscore", pscore, (n,))
    if np.any(pscore <= 0):
        raise ValueError("pscore must be > 0 for importance weighting")
    return probs[np.arange(n), np.asarray(action, dtype=np.int64)] / pscore


def off_policy_estimates(
    target_probs: np.ndarray,
    action: np.ndarray,
    pscore: np.ndarray,
    reward: np.ndarray,
    q_hat: np.ndarray | None = None,
) -> dict[str, Estimate]:
    """IPS, SNIPS and, given a reward model, DM and DR estimates of the target's value.

    Args:
        target_probs: (n, N) the target policy's probabilities over the logged action space.
        action: (n,) logged actions in [0, N).
        pscore: (n,) behaviour propensities of the logged actions, in (0, 1].
        reward: (n,) observed rewards.
        q_hat: (n, N) a reward model's predictions of E[r | x_i, a], or None (no DM/DR).

    Returns:
        ``{"ips", "snips"[, "dm", "dr"]} -> Estimate``.
    """
    n = len(action)
    reward = _check("reward", reward, (n,))
    w = importance_weights(target_probs, action, pscore)
    out = {"ips": mean_ci(w * reward)}
    w_mean = float(w.mean())
    if w_mean > 0:
        v = float((w * reward).sum() / w.sum())
        out["snips"] = mean_ci(w * (reward - v) / w_mean + v)
    else:  # the target never takes a logged action: SNIPS is undefined, IPS says 0
        out["snips"] = out["ips"]
    if q_hat is not None:
        probs = np.asarray(target_probs, dtype=np.float64)
        q = _check("q_hat", q_hat, probs.shape)
        dm_terms = np.einsum("na,na->n", probs, q)
        out["dm"] = mean_ci(dm_terms)
        q_logged = q[np.arange(n), np.asarray(action, dtype=np.int64)]
        out["dr"] = mean_ci(dm_terms + w * (reward - q_logged))
    return out


def kernel_is_estimate(
    target_density: np.ndarray, behaviour_density: np.ndarray, reward: np.ndarray
) -> Estimate:
    """Kernel IS: mean_i (pi(phi(s_i)|x_i) / pi_0(phi(s_i)|x_i)) r_i, all (n,).

    The densities are kernel-smoothed marginal densities of the logged sentence embedding
    under the target and the behaviour policy (e.g. Monte Carlo averages of a Gaussian
    kernel over sentences generated under each policy).
    """
    n = len(np.asarray(reward))
    reward = _check("reward", reward, (n,))
    num = _check("target_density", target_density, (n,))
    den = _check("behaviour_density", behaviour_density, (n,))
    if np.any(den <= 0):
        raise ValueError("behaviour_density must be > 0")
    return mean_ci(num / den * reward)


def gaussian_kernel(a: np.ndarray, b: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """exp(-d^2 / (2 tau^2)), d = ||a - b|| / dim: a (n, d), b (n, m, d) -> (n, m).

    The distance is divided by the dimension as in the DSO reference code.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = np.linalg.norm(b - a[:, None, :], axis=-1) / a.shape[1]
    return np.exp(-(d**2) / (2 * tau**2))
