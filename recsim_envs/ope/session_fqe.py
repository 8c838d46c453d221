"""Cross-fitted linear FQE for sessions: the direct method and per-decision DR, with a
bootstrap that refits the Q-function in every replicate.

Sessions are split into folds (:data:`~recsim_envs.ope.crossfit.CROSS_FIT_FOLDS`); the
Q-function that scores a session's rows is fitted (:func:`~recsim_envs.ope.fqe.linear_fqe`)
on the other folds' sessions only, so DR's correction ``rho (r - Q)`` is never shrunk by a
model that saw those rewards (Chernozhukov et al., Econometrics Journal 2018; SCOPE-RL's
``k_fold``). Estimators (notation of :mod:`recsim_envs.ope.sessions`):

- DM with FQE (Le, Voloshin and Yue, ICML 2019): ``mean_e V_hat(s_{e,0})``.
- Per-decision DR (Jiang and Li, ICML 2016; Thomas and Brunskill, ICML 2016):
  ``mean_e sum_t gamma^t [rho_{e,t} (r_{e,t} - Q_hat(s_t, a_t)) + rho_{e,t-1} V_hat(s_t)]``.

Interval: a percentile bootstrap over sessions in which both folds' Q-functions are refitted
on the resampled sessions (fold membership kept): it carries the Q-function's estimation
error. It cannot carry the bias of the linear class (DM) - hence DM is never labelled
calibrated - while DR stays unbiased whatever the Q-function, its weights being exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsim_envs.ope.bandit import effective_sample_size
from recsim_envs.ope.bootstrap import (
    bootstrap_counts,
    interval_text,
    percentile_interval,
)
from recsim_envs.ope.estimate import (
    MIN_ESS,
    OffPolicyEstimate,
    join_notes,
    support_status,
)
from recsim_envs.ope.sessions import SessionLog

REFIT = "FQE refitted on the resampled sessions in every replicate (cross-fitted by session)"


@dataclass(frozen=True)
class SessionFQEData:
    """Per-row inputs of cross-fitted linear FQE, rows in the order given to
    :meth:`SessionLog.from_rows` for ``log``.

    Attributes:
        log: the held-out sessions (rewards, propensities and the target's probabilities).
        features: (N, D) phi(s, a) of the logged items.
        state_features: (N, D) ``sum_a pi(a|s) phi(s, a)`` at each logged state.
        next_features: (N, D) the same at each next state (ignored where it ended).
        continues: (N,) gamma * (1 - ended).
        folds: (m,) the fold of each session of ``log`` (sessions in ``log`` order).
    """

    log: SessionLog
    features: np.ndarray
    state_features: np.ndarray
    next_features: np.ndarray
    continues: np.ndarray
    folds: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.log.row_session)
        for name in ("features", "state_features", "next_features"):
            arr = getattr(self, name)
            if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] != self.features.shape[1]:
                raise ValueError(f"{name} has shape {arr.shape}; expected ({n}, D)")
        if self.continues.shape != (n,):
            raise ValueError(f"continues has shape {self.continues.shape}; expected ({n},)")
        if self.folds.shape != (self.log.n_sessions,) or len(np.unique(self.folds)) < 2:
            raise ValueError("folds must give each session a fold, with at least 2 folds")

    @property
    def rewards(self) -> np.ndarray:
        """(N,) the logged rewards, in row order."""
        return self.log.reward[self.log.row_session, self.log.row_turn]


class _SessionStats:
    """Per-session sums of linear FQE's normal equations, so that a fit with session
    weights c is ``sum_e c_e (stats of e)``: a bootstrap replicate costs O(m D^2), not a
    pass over every row (``G_e = X_e' X_e``, ``M_e = X_e' diag(cont) X'_e``,
    ``b_e = X_e' r_e``)."""

    def __init__(self, data: SessionFQEData) -> None:
        s, x = data.log.row_session, data.features
        m, d = data.log.n_sessions, x.shape[1]
        self.gram, self.next_, self.rhs = np.zeros((m, d, d)), np.zeros((m, d, d)), \
            np.zeros((m, d))
        np.add.at(self.gram, s, x[:, :, None] * x[:, None, :])
        np.add.at(self.next_, s, x[:, :, None] * (data.continues[:, None]
                                                  * data.next_features)[:, None, :])
        np.add.at(self.rhs, s, x * data.rewards[:, None])

    def solve(self, weights: np.ndarray, ridge: float, n_iterations: int) -> np.ndarray:
        """(D,) w of :func:`~recsim_envs.ope.fqe.linear_fqe` with session weights (m,)."""
        d = self.rhs.shape[1]
        gram = np.tensordot(weights, self.gram, 1) + ridge * np.eye(d)
        both = np.linalg.solve(gram, np.column_stack([np.tensordot(weights, self.next_, 1),
                                                      weights @ self.rhs]))
        step, base = both[:, :d], both[:, d]
        w = np.zeros(d)
        for _ in range(int(n_iterations)):
            w = base + step @ w
        return w


def _fit_folds(data: SessionFQEData, stats: _SessionStats, session_weights: np.ndarray,
               ridge: float, n_iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold (N,) Q_hat(s, a) of the logged items and (N,) V_hat(s)."""
    row_fold = data.folds[data.log.row_session]
    q, v = np.empty(len(row_fold)), np.empty(len(row_fold))
    for f in np.unique(data.folds):
        w = stats.solve(session_weights * (data.folds != f), ridge, n_iterations)
        rows = row_fold == f
        q[rows], v[rows] = data.features[rows] @ w, data.state_features[rows] @ w
    return q, v


def _session_terms(data: SessionFQEData, q: np.ndarray, v: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(m,) DM terms V_hat(s_{e,0}) and (m,) per-decision DR terms."""
    log = data.log
    qp, vp = log.to_padded(q), log.to_padded(v)
    rho = log.rho
    rho_prev = np.concatenate([np.ones((log.n_sessions, 1)), rho[:, :-1]], axis=1)
    per_turn = np.where(log.mask, rho * (log.reward - qp) + rho_prev * vp, 0.0)
    return vp[:, 0], (log.discount * per_turn).sum(axis=1)


def fqe_dm_dr(data: SessionFQEData, *, rng: np.random.Generator, n_boot: int = 200,
              ridge: float = 0.1, n_iterations: int = 30, min_ess: float = MIN_ESS,
              unsupported_mass: float | None = None, thin_mass: float | None = None,
              ) -> tuple[OffPolicyEstimate, OffPolicyEstimate]:
    """DM and per-decision DR from cross-fitted linear FQE (module docstring).

    Args:
        data: :class:`SessionFQEData`.
        rng: draws the bootstrap's session counts.
        n_boot: bootstrap replicates (each refits every fold's Q-function).
        ridge, n_iterations: of :func:`~recsim_envs.ope.fqe.linear_fqe`.
        min_ess: DR's status is "low_ess" below it (on the final cumulative weights).
        unsupported_mass, thin_mass: the target's masses on actions the behaviour policy
            never / almost never takes (:func:`~recsim_envs.ope.estimate.support_masses`).

    Returns:
        ``(dm, dr)``. DM is never suppressed and never labelled calibrated (its interval
        cannot carry the linear class's bias); DR is labelled calibrated when its status
        is "supported" (exact weights, ESS >= min_ess).
    """
    log, m = data.log, data.log.n_sessions
    ones = np.ones(m)
    stats = _SessionStats(data)
    dm_terms, dr_terms = _session_terms(data, *_fit_folds(data, stats, ones, ridge,
                                                          n_iterations))
    reps = np.empty((n_boot, 2))
    done = 0
    for counts in bootstrap_counts(rng, m, n_boot):
        for c in counts:
            terms = _session_terms(data, *_fit_folds(data, stats, c, ridge, n_iterations))
            reps[done] = (c @ terms[0]) / m, (c @ terms[1]) / m
            done += 1
    rho_final = log.rho[:, -1]
    n_support, ess = int(np.count_nonzero(log.rho[:, 0])), effective_sample_size(rho_final)
    text = interval_text("sessions", n_boot, REFIT)
    dm_lo, dm_hi, _ = percentile_interval(reps[:, 0])
    dm = OffPolicyEstimate(
        "dm", dm_terms.mean(), dm_lo, dm_hi, ess, n_support, m, "sessions", text,
        note=("model-based (cross-fitted linear FQE): the interval carries the Q-function's "
              "estimation error, not the bias of its linear class, so it is not a 95% "
              "interval over logs"),
        unsupported_mass=unsupported_mass, thin_mass=thin_mass, calibrated=False)
    status, why = support_status(n_support, ess, min_ess, "sessions", unsupported_mass)
    if status == "no_support":
        dr = OffPolicyEstimate.no_support("dr", n=m, unit="sessions", n_support=n_support,
                                          ess=ess, interval=text, note=why,
                                          unsupported_mass=unsupported_mass,
                                          thin_mass=thin_mass)
        return dm, dr
    dr_lo, dr_hi, _ = percentile_interval(reps[:, 1])
    dr = OffPolicyEstimate("dr", dr_terms.mean(), dr_lo, dr_hi, ess, n_support, m, "sessions",
                           text, note=join_notes(why), status=status,
                           unsupported_mass=unsupported_mass, thin_mass=thin_mass,
                           calibrated=status == "supported")
    return dm, dr
