"""Sequential (session) off-policy estimators with bootstrap intervals over sessions.

Notation: sessions e = 1..m of lengths T_e, turns t = 0..T_e-1, per-turn weight
``w_{e,t} = pi(a_t|s_t) / pi_0(a_t|s_t)``, cumulative ``rho_{e,t} = prod_{t' <= t} w_{e,t'}``,
discount gamma. Names follow SCOPE-RL (Kiyohara et al., 2023):

- PDIS (Precup, Sutton and Singh, ICML 2000): ``mean_e sum_t gamma^t rho_{e,t} r_{e,t}``.
- WPDIS (self-normalised per-decision IS):
  ``sum_t gamma^t (sum_e rho_{e,t} r_{e,t}) / (sum_e rho_{e,t})``.
- DM with fitted-Q evaluation (Le, Voloshin and Yue, ICML 2019): ``mean_e V_hat(s_{e,0})``.
- Per-decision DR (Jiang and Li, ICML 2016; Thomas and Brunskill, ICML 2016):
  ``mean_e sum_t gamma^t [rho_{e,t} (r_{e,t} - Q(s_t, a_t)) + rho_{e,t-1} V(s_t)]``, rho_{e,-1} = 1.

Conventions
-----------
- Ended sessions: after its last turn a session sits in an absorbing state with reward 0 and
  weight 1, so its cumulative weight stays at rho_{e,T_e-1}. For WPDIS this means sessions that
  ended still count in each later turn's denominator (with their last rho) and add no reward.
  This is SCOPE-RL's fixed-horizon WPDIS applied to padded sessions, and it keeps WPDIS equal
  to the on-policy mean return when pi = pi_0 (a denominator over running sessions only would
  instead average each turn's reward over the survivors, biased towards long sessions).
- Support (see :mod:`recsim_envs.ope.estimate`): ``n_support`` counts sessions whose first-turn
  weight is non-zero; the ESS is computed on the final cumulative weights rho_{e,T_e-1}. Those
  are the trajectory-wise weights, the most degenerate products any turn of PDIS uses, so the
  rule is conservative: a deterministic target over long sessions, whose final weights are
  almost all zero, gets status "low_ess" (shown, with a warning). "no_support" is kept for a
  target that puts mass on items the behaviour policy never takes (``unsupported_mass``,
  computed by the caller from the behaviour probabilities) or a log without one non-zero
  weight. An interval is labelled ``calibrated`` only with status "supported".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from recsim_envs.ope.bandit import as_vector, effective_sample_size
from recsim_envs.ope.bootstrap import (
    bootstrap_replicates,
    check_bootstrap,
    dropped_note,
    interval_text,
    percentile_interval,
)
from recsim_envs.ope.estimate import (
    MIN_ESS,
    OffPolicyEstimate,
    join_notes,
    support_status,
)

_CONDITIONAL_Q = "conditional on the fitted Q-function"


@dataclass(frozen=True)
class SessionLog:
    """Held-out sessions as padded (m, T) arrays, sessions sorted by episode id, turns by step.

    Build it with :meth:`from_rows`. Padding (``mask`` False) holds reward 0 and pscore =
    target_prob = 1 (weight 1), so cumulative weights stay constant after a session ends.

    The log must contain complete sessions only (each from its first turn to its end); the
    caller guarantees it. A log cut after a number of rows keeps the sessions that ended
    early and truncates the long ones, so every estimator would be biased towards short
    sessions: log a number of sessions, not a number of rows.

    Attributes:
        episode_id: (m,) the sorted episode ids.
        reward, pscore, target_prob: (m, T) per-turn reward, behaviour propensity
            pi_0(a_t|s_t) and target probability pi(a_t|s_t) of the logged action.
        mask: (m, T) bool, True on real turns.
        gamma: discount in [0, 1].
        row_session, row_turn: (N,) where each input row went, for :meth:`to_padded`.
    """

    episode_id: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray
    target_prob: np.ndarray
    mask: np.ndarray
    gamma: float
    row_session: np.ndarray
    row_turn: np.ndarray

    def __post_init__(self) -> None:
        shape = self.mask.shape
        for name in ("reward", "pscore", "target_prob"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} has shape {getattr(self, name).shape}; expected {shape}")
        if len(self.episode_id) != shape[0]:
            raise ValueError("episode_id must have one entry per session")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {self.gamma}")

    @classmethod
    def from_rows(
        cls, episode_id: Any, step: Any, reward: Any, pscore: Any, target_prob: Any, *,
        gamma: float = 1.0,
    ) -> SessionLog:
        """Pad logged rows, all (N,), into sessions; rows may come in any order.

        Raises ValueError (naming the episode) unless each session's steps are exactly
        0..len-1 (no gap, no duplicate), or naming the argument for bad shapes/values.
        """
        episode_id = np.asarray(episode_id)
        if episode_id.ndim != 1 or len(episode_id) == 0:
            raise ValueError(f"episode_id must be a non-empty 1-D array, got {episode_id.shape}")
        n_rows = len(episode_id)
        step_f = as_vector("step", step, n_rows)
        if np.any(step_f != np.round(step_f)):
            raise ValueError("step must hold integers (the turn within the session)")
        step = step_f.astype(np.int64)
        reward = as_vector("reward", reward, n_rows)
        pscore = as_vector("pscore", pscore, n_rows)
        target_prob = as_vector("target_prob", target_prob, n_rows)
        if np.any((pscore <= 0) | (pscore > 1)):
            raise ValueError("pscore must lie in (0, 1]")
        if np.any((target_prob < 0) | (target_prob > 1)):
            raise ValueError("target_prob must lie in [0, 1]")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {gamma}")

        order = np.lexsort((step, episode_id))
        ids, start, counts = np.unique(episode_id[order], return_index=True, return_counts=True)
        session = np.repeat(np.arange(len(ids)), counts)
        turn = np.arange(n_rows) - start[session]  # expected step of each sorted row
        bad = step[order] != turn
        if bad.any():
            e = ids[session[np.argmax(bad)]].item()
            raise ValueError(f"episode {e!r}: steps must be exactly 0..len-1 with no gap or "
                             "duplicate; pass complete sessions only")
        shape = (len(ids), int(counts.max()))
        padded = {"reward": np.zeros(shape), "pscore": np.ones(shape),
                  "target_prob": np.ones(shape)}
        for name, values in (("reward", reward), ("pscore", pscore),
                             ("target_prob", target_prob)):
            padded[name][session, turn] = values[order]
        mask = np.zeros(shape, dtype=bool)
        mask[session, turn] = True
        row_session, row_turn = np.empty(n_rows, np.int64), np.empty(n_rows, np.int64)
        row_session[order], row_turn[order] = session, turn
        return cls(ids, padded["reward"], padded["pscore"], padded["target_prob"], mask,
                   float(gamma), row_session, row_turn)

    @property
    def n_sessions(self) -> int:
        return self.mask.shape[0]

    @property
    def lengths(self) -> np.ndarray:
        """(m,) number of turns of each session."""
        return self.mask.sum(axis=1)

    @property
    def discount(self) -> np.ndarray:
        """(T,) gamma^t."""
        return self.gamma ** np.arange(self.mask.shape[1], dtype=np.float64)

    @property
    def rho(self) -> np.ndarray:
        """(m, T) cumulative weights rho_{e,t}; after the session ends, its last value."""
        return np.cumprod(self.target_prob / self.pscore, axis=1)

    def to_padded(self, values: Any) -> np.ndarray:
        """Per-row values (N,), in the order given to :meth:`from_rows`, as (m, T); 0 on padding."""
        values = as_vector("values", values, len(self.row_session))
        out = np.zeros(self.mask.shape)
        out[self.row_session, self.row_turn] = values
        return out

    def support(self) -> tuple[int, float]:
        """(n_support, ess): sessions with non-zero first-turn weight; ESS of final rho."""
        rho = self.rho
        return int(np.count_nonzero(rho[:, 0])), effective_sample_size(rho[:, -1])


def _padded(name: str, x: Any, log: SessionLog) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != log.mask.shape:
        raise ValueError(f"{name} has shape {arr.shape}; expected {log.mask.shape} like the "
                         "SessionLog (use log.to_padded on per-row values)")
    if not np.all(np.isfinite(arr[log.mask])):
        raise ValueError(f"{name} holds NaN or infinite values on logged turns")
    return np.where(log.mask, arr, 0.0)


def _mean_over_sessions(
    estimator: str, terms: np.ndarray, log_n: tuple[int, float | None, int], rng: Any,
    n_boot: int, extra: str = "", note: str = "", **status: Any,
) -> OffPolicyEstimate:
    n_support, ess, m = log_n
    reps = bootstrap_replicates(rng, m, n_boot, lambda c: (c @ terms) / m)
    lo, hi, _ = percentile_interval(reps)
    return OffPolicyEstimate(estimator, terms.mean(), lo, hi, ess, n_support, m, "sessions",
                             interval_text("sessions", n_boot, extra), note, **status)


def _support(estimator: str, log: SessionLog, n_boot: int, min_ess: float,
             unsupported_mass: float | None, extra: str = "",
             ) -> tuple[OffPolicyEstimate | None, dict[str, Any]]:
    """(the no-support result or None, the status fields of a shown result)."""
    n_support, ess = log.support()
    status, why = support_status(n_support, ess, min_ess, "sessions", unsupported_mass)
    if status == "no_support":
        return OffPolicyEstimate.no_support(
            estimator, n=log.n_sessions, unit="sessions", n_support=n_support, ess=ess,
            interval=interval_text("sessions", n_boot, extra), note=why,
            unsupported_mass=unsupported_mass), {}
    return None, {"status": status, "unsupported_mass": unsupported_mass,
                  "calibrated": status == "supported", "_why": why}


def pdis(log: SessionLog, *, rng: np.random.Generator, n_boot: int = 1000,
         min_ess: float = MIN_ESS, unsupported_mass: float | None = None) -> OffPolicyEstimate:
    """Per-decision IS (Precup et al., ICML 2000): ``mean_e sum_t gamma^t rho_{e,t} r_{e,t}``.

    Unbiased for complete sessions; the interval is a percentile bootstrap over sessions.
    ``unsupported_mass``: the target's mean mass on items the behaviour policy never takes
    (:func:`~recsim_envs.ope.estimate.support_masses`); above 0 the status is "no_support".
    """
    check_bootstrap(rng, n_boot, min_ess)
    out, status = _support("pdis", log, n_boot, min_ess, unsupported_mass)
    if out is not None:
        return out
    terms = (log.discount * log.rho * log.reward).sum(axis=1)
    why = status.pop("_why")
    return _mean_over_sessions("pdis", terms, (*log.support(), log.n_sessions), rng, n_boot,
                               note=why, **status)


def wpdis(log: SessionLog, *, rng: np.random.Generator, n_boot: int = 1000,
          min_ess: float = MIN_ESS, unsupported_mass: float | None = None) -> OffPolicyEstimate:
    """Weighted PDIS: ``sum_t gamma^t (sum_e rho_{e,t} r_{e,t}) / (sum_e rho_{e,t})``.

    Sessions that ended before t count in turn t's denominator with their last rho and add
    reward 0 (module docstring). A turn whose denominator is 0 contributes 0 only when no
    session is running there (possible in a bootstrap resample); if every running session's
    weight is 0 at some turn the estimate is undefined: no support on the full log, a dropped
    replicate in the bootstrap (the note counts them). Never 0/0 = 0.
    """
    check_bootstrap(rng, n_boot, min_ess)
    out, status = _support("wpdis", log, n_boot, min_ess, unsupported_mass)
    if out is not None:
        return out
    why = status.pop("_why")
    rho, disc, m = log.rho, log.discount, log.n_sessions
    rho_r, active = rho * log.reward, log.mask.astype(np.float64)
    n_support, ess = log.support()

    def per_turn(num: np.ndarray, den: np.ndarray, running: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = num / den
        return np.where(den > 0, ratio, np.where(running > 0, np.nan, 0.0)) @ disc

    point = float(per_turn(rho_r.sum(0), rho.sum(0), active.sum(0)))
    if not np.isfinite(point):
        t = int(np.argmax((rho.sum(0) == 0) & (active.sum(0) > 0)))
        return OffPolicyEstimate.no_support(
            "wpdis", n=m, unit="sessions", n_support=n_support, ess=ess,
            interval=interval_text("sessions", n_boot), unsupported_mass=unsupported_mass,
            note=f"no support: every running session has zero cumulative weight at turn {t}")
    reps = bootstrap_replicates(rng, m, n_boot, lambda c: per_turn(c @ rho_r, c @ rho, c @ active))
    lo, hi, dropped = percentile_interval(reps)
    return OffPolicyEstimate("wpdis", point, lo, hi, ess, n_support, m, "sessions",
                             interval_text("sessions", n_boot),
                             join_notes(why, dropped_note(dropped, n_boot)), **status)


def sequential_dm(v0: Any, *, rng: np.random.Generator, n_boot: int = 1000,
                  log: SessionLog | None = None) -> OffPolicyEstimate:
    """DM with a fitted Q (e.g. FQE): ``mean_e V_hat(s_{e,0})``, v0 (m,) one value per session.

    ``V_hat(s) = sum_a pi(a|s) Q_hat(s, a)`` (see :mod:`recsim_envs.ope.fqe`). Never suppressed
    by the support rule; pass ``log`` (same sessions, same order) to report the weights' ESS
    and n_support for information. The interval resamples sessions with Q held fixed.
    """
    check_bootstrap(rng, n_boot)
    v0 = as_vector("v0", v0)
    if log is None:
        n_support, ess = len(v0), None
    else:
        if log.n_sessions != len(v0):
            raise ValueError(f"v0 has {len(v0)} entries; the log has {log.n_sessions} sessions")
        n_support, ess = log.support()
    note = ("model-based: the fitted Q-function's extrapolation, never suppressed by the "
            "support rule (ESS and n_support are for information)")
    return _mean_over_sessions("dm", v0, (n_support, ess, len(v0)), rng, n_boot,
                               _CONDITIONAL_Q, note, calibrated=False)


def sequential_dr(log: SessionLog, q_logged: Any, v: Any, *, rng: np.random.Generator,
                  n_boot: int = 1000, min_ess: float = MIN_ESS) -> OffPolicyEstimate:
    """Per-decision DR (Jiang and Li, ICML 2016; Thomas and Brunskill, ICML 2016).

    ``mean_e sum_t gamma^t [rho_{e,t} (r_{e,t} - Q(s_t, a_t)) + rho_{e,t-1} V(s_t)]``, rho_{-1}=1.

    Args:
        log: the held-out sessions.
        q_logged: (m, T) Q_hat(s_{e,t}, a_{e,t}) of the logged actions (padding ignored).
        v: (m, T) V_hat(s_{e,t}) = sum_a pi(a|s_{e,t}) Q_hat(s_{e,t}, a) (padding ignored).
        rng, n_boot, min_ess: as in :func:`pdis`; follows the support rule on the weights.

    With an exact Q on deterministic dynamics each session's term is V(s_0) whatever the
    weights. The interval resamples sessions with Q held fixed.
    """
    check_bootstrap(rng, n_boot, min_ess)
    q_logged, v = _padded("q_logged", q_logged, log), _padded("v", v, log)
    out, status = _support("dr", log, n_boot, min_ess, None, _CONDITIONAL_Q)
    if out is not None:
        return out
    why = status.pop("_why")
    rho = log.rho
    rho_prev = np.concatenate([np.ones((log.n_sessions, 1)), rho[:, :-1]], axis=1)
    per_turn = rho * (log.reward - q_logged) + rho_prev * v
    terms = (log.discount * np.where(log.mask, per_turn, 0.0)).sum(axis=1)
    status["calibrated"] = False  # Q held fixed: see recsim_envs.ope.session_fqe for refits
    return _mean_over_sessions("dr", terms, (*log.support(), log.n_sessions), rng, n_boot,
                               _CONDITIONAL_Q, why, **status)


def epsilon_soften(target: Any, epsilon: float, *, n_actions: int | None = None) -> np.ndarray:
    """``(1 - epsilon) pi + epsilon / A``: a softened target that IS can evaluate.

    SCOPE-RL's ``EpsilonGreedyHead`` idea. IS on the softened probabilities estimates the
    value of the *softened* policy, not the original one: the caller must label it so
    (e.g. note "target epsilon-softened (epsilon=0.1)").

    Args:
        target: (N, A) target probabilities (rows sum to 1), or (N,) integer actions of a
            deterministic target (then ``n_actions`` is required).
        epsilon: in [0, 1].

    Returns:
        (N, A) float64 probabilities.
    """
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
    arr = np.asarray(target)
    if arr.ndim == 1:
        if n_actions is None or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError("target as (N,) must hold integer actions, with n_actions given")
        if np.any((arr < 0) | (arr >= n_actions)):
            raise ValueError(f"target actions must lie in [0, {n_actions})")
        probs = np.eye(n_actions)[arr]
    elif arr.ndim == 2:
        probs = arr.astype(np.float64)
        if not np.all(np.isfinite(probs)) or np.any((probs < 0) | (probs > 1)):
            raise ValueError("target probabilities must be finite and lie in [0, 1]")
        if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError("target probabilities must sum to 1 over actions in each row")
    else:
        raise ValueError(f"target must be (N, A) probabilities or (N,) actions, got {arr.shape}")
    return (1.0 - epsilon) * probs + epsilon / probs.shape[1]
