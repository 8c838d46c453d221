"""The one result type of every off-policy estimator, the support statuses and the bootstrap.

Support statuses
----------------
Every importance-weighted estimate (IPS, SNIPS, DR, kernel IS, PDIS, WPDIS, sequential DR)
carries one of three ``status`` values (:func:`support_status`):

- ``"no_support"`` (``estimate=None``, never 0): the target puts mass on actions the
  behaviour policy never takes - computed from the behaviour policy's probabilities where
  the caller passes full distributions (:func:`support_masses`; the unsupported mass is in
  ``unsupported_mass`` and the note), not from what the sample happened to hold - or no
  importance weight in the log is non-zero at all. The estimator is then biased by an
  unknown amount (the value of the unsupported actions is never observed).
- ``"low_ess"``: the effective sample size of the weights, ``ESS = (sum_i w_i)^2 /
  sum_i w_i^2``, is below ``min_ess`` (keyword of every estimator, default :data:`MIN_ESS` =
  10). The estimate and interval are shown, with a warning in the note: the estimate is then
  a weighted mean dominated by a handful of rounds, and the bootstrap resamples those same
  few rounds, so the interval can look narrow while it says little about the rounds the
  target would really produce (Owen, "Monte Carlo theory, methods and examples", 2013, ch. 9;
  Elvira, Martino and Robert, "Rethinking the effective sample size", 2022).
- ``"supported"`` otherwise.

``thin_mass`` is the target's mean mass on actions whose behaviour probability is positive
but below ``1 / (10 n)`` (n held-out rounds): such actions appear in a log of n rounds with
probability below about 10%, so an IPS-type estimate almost never sees them and its
bootstrap cannot know they are missing (issue 21 measured IPS coverage 0.62 on a target
with 12.7% thin mass while its mean ESS was 71). Above :data:`THIN_MASS_FLAG` (1%) the note
says so and the board flags it.

The direct method (DM, sequential DM) is never suppressed: it is the reward model's (or the
Q-function's) extrapolation, which exists whatever the weights. It still reports the weights'
ESS, ``n_support`` and masses for information, and its note says it is model-based.

Intervals
---------
Intervals are 95% percentile bootstraps over held-out rounds (or sessions), as OBP's
``estimate_intervals`` (Saito et al., NeurIPS 2021 datasets track). The ``interval`` field of
each result says in words what the resampling covers. ``calibrated`` is False where the
interval is conditional on a fitted model (a reward model or Q-function held fixed), where
the ESS is low or the thin mass above the flag, or where a calibration over replicate logs
measured it below 90%; such an interval is never printed as a 95% interval.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

MIN_ESS = 10.0
UNITS = ("rounds", "sessions")
STATUSES = ("supported", "low_ess", "no_support")
THIN_MASS_FLAG = 0.01
"""Thin mass above which an IPS-type estimate is flagged (issue 21: "more than 1%")."""
WEIGHT_FREE = frozenset({"dm", "rollout"})
"""Estimators that use no importance weight (model-based): the thin-mass flag, a warning
about actions a log almost never holds being missed by weights, does not apply to them."""
THIN_FACTOR = 10.0
"""An action is thin when its behaviour probability is below 1 / (THIN_FACTOR * n): a log of
n rounds holds it at least once with probability at most 1 - (1 - 1/(10 n))^n < 10%."""
UNSUPPORTED_TOL = 1e-12
"""Target mass on zero-probability actions below this is round-off, not unsupported mass."""


def _opt_float(name: str, value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} is {value}; an estimate's fields must be finite or None")
    return value


@dataclass(frozen=True)
class OffPolicyEstimate:
    """One off-policy estimate of a target policy's value with its interval.

    Attributes:
        estimator: "ips", "snips", "dm", "dr", "kernel_is", "pdis", "wpdis" or "rollout".
        estimate: the point estimate on all held-out rounds; None when there is no support
            (never 0 for "no support").
        ci_low, ci_high: bounds of the interval (None with no support); a 95% interval over
            logs when ``calibrated``, else conditional on a fitted model (see ``interval``).
        ess: ``(sum w)^2 / sum w^2`` of the importance weights used (None when the estimator
            had no weights at all, e.g. DM without weights passed for information).
        n_support: rounds (or sessions) with a non-zero weight.
        n: rounds (or sessions) in the held-out log.
        unit: "rounds" or "sessions".
        interval: what the interval covers, in words.
        note: anything a reader must know (no support and why, a low ESS, thin support, a
            softened target, ...).
        status: "supported", "low_ess" (shown, with a warning) or "no_support" (estimate
            None); see the module docstring.
        unsupported_mass: mean over held-out contexts of the target's mass on actions the
            behaviour policy never takes (None when the caller gave no full distributions).
        thin_mass: the same for behaviour probabilities in (0, 1/(10 n)) (None likewise).
        calibrated: False when the interval is conditional on a fitted model or otherwise
            not a 95% interval over logs (then never printed as one).

    Rows written before ``status`` existed load with ``status`` "no_support" where their
    estimate is None and "supported" otherwise (they hid low-ESS estimates as no support).
    """

    estimator: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    ess: float | None
    n_support: int
    n: int
    unit: str
    interval: str
    note: str = ""
    status: str = "supported"
    unsupported_mass: float | None = None
    thin_mass: float | None = None
    calibrated: bool = True

    def __post_init__(self) -> None:
        # Plain Python floats/ints, so to_dict is JSON-safe even when numpy scalars came in.
        for name in ("estimate", "ci_low", "ci_high", "ess", "unsupported_mass", "thin_mass"):
            object.__setattr__(self, name, _opt_float(name, getattr(self, name)))
        object.__setattr__(self, "n_support", int(self.n_support))
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "calibrated", bool(self.calibrated))
        if self.unit not in UNITS:
            raise ValueError(f"unit is {self.unit!r}; expected one of {UNITS}")
        if self.status not in STATUSES:
            raise ValueError(f"status is {self.status!r}; expected one of {STATUSES}")
        if not 0 <= self.n_support <= self.n:
            raise ValueError(f"n_support={self.n_support} must lie in [0, n={self.n}]")
        if (self.estimate is None) != (self.status == "no_support"):
            raise ValueError(f"status {self.status!r} with estimate {self.estimate}: an "
                             "estimate is None exactly when its status is 'no_support' "
                             "(use OffPolicyEstimate.no_support)")
        if self.estimate is None and (self.ci_low is not None or self.ci_high is not None):
            raise ValueError("an estimate without support cannot have an interval")
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError("ci_low and ci_high must both be set or both be None")
        for name in ("unsupported_mass", "thin_mass"):
            value = getattr(self, name)
            if value is not None and not -1e-9 <= value <= 1 + 1e-9:
                raise ValueError(f"{name} is {value}; a probability mass lies in [0, 1]")

    @property
    def supported(self) -> bool:
        """True when the estimator produced a value (status "supported" or "low_ess")."""
        return self.estimate is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (floats, None, ints, strings, a bool)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OffPolicyEstimate:
        """Inverse of :meth:`to_dict`; unknown or missing keys raise ValueError.

        The fields added with the support statuses (``status``, ``unsupported_mass``,
        ``thin_mass``, ``calibrated``) may be missing: older rows load (see the class doc).
        """
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown OffPolicyEstimate fields {sorted(unknown)}")
        missing = (names - _OPTIONAL_FIELDS) - set(d)
        if missing:
            raise ValueError(f"OffPolicyEstimate dict lacks fields {sorted(missing)}")
        d = dict(d)
        if "status" not in d:
            d["status"] = "no_support" if d["estimate"] is None else "supported"
        return cls(**d)

    @classmethod
    def no_support(
        cls, estimator: str, *, n: int, unit: str, n_support: int, ess: float | None,
        interval: str, note: str, unsupported_mass: float | None = None,
        thin_mass: float | None = None,
    ) -> OffPolicyEstimate:
        """A result without support: estimate and interval None, the reason in ``note``."""
        return cls(estimator, None, None, None, ess, n_support, n, unit, interval, note,
                   status="no_support", unsupported_mass=unsupported_mass,
                   thin_mass=thin_mass)


_OPTIONAL_FIELDS = frozenset({"note", "status", "unsupported_mass", "thin_mass", "calibrated"})


def support_status(
    n_support: int, ess: float, min_ess: float, unit: str,
    unsupported_mass: float | None = None, *, expected: float | None = None,
) -> tuple[str, str]:
    """The support status of an importance-weighted estimate and its note.

    Args:
        n_support: rounds (sessions) with a non-zero weight.
        ess: the weights' effective sample size.
        min_ess: below it the status is "low_ess" (shown, with a warning).
        unit: "rounds" or "sessions" (for the note).
        unsupported_mass: the target's mean mass on actions of behaviour probability 0
            (:func:`support_masses`), or None when unknown.
        expected: the ESS the weights have in expectation under the behaviour policy
            (:func:`expected_ess`), or None when unknown; below ``min_ess`` the status is
            "low_ess" whatever this log's own ESS.

    Returns:
        ``(status, note)``: ("no_support", why) when ``unsupported_mass`` exceeds
        :data:`UNSUPPORTED_TOL` or no weight is non-zero; ("low_ess", warning) when
        ``ess < min_ess``; ("supported", "") otherwise.
    """
    if unsupported_mass is not None and unsupported_mass > UNSUPPORTED_TOL:
        return "no_support", (f"no support: the target puts {unsupported_mass:.3g} of its mass "
                              "(mean over held-out contexts) on actions the behaviour policy "
                              "never takes")
    if n_support == 0:
        return "no_support", f"no support: no held-out {unit[:-1]} has a non-zero importance weight"
    if ess < min_ess:
        return "low_ess", (f"low ESS: {ess:.3g} < {min_ess:g} effective {unit}; the estimate "
                           f"and its interval rest on a handful of {unit}")
    if expected is not None and expected < min_ess:
        return "low_ess", (f"low ESS: {expected:.3g} < {min_ess:g} effective {unit} expected "
                           f"under the behaviour policy (this log's: {ess:.3g}); the log "
                           "missed the rare heavy weights the estimate depends on")
    return "supported", ""


def expected_ess(target: Any, behaviour: Any, n: int | None = None) -> float:
    """The effective sample size the importance weights have in expectation under the
    behaviour policy, from its probabilities rather than from the sample.

    ``n (E w)^2 / E w^2`` with ``E w = mean_x sum_a target(a|x)`` and
    ``E w^2 = mean_x sum_a target(a|x)^2 / behaviour(a|x)`` over the actions a log of n
    rounds can hold: behaviour probability at least 1/(10 n). (Kish's ESS of the weights'
    distribution; Owen, "Monte Carlo theory, methods and examples", 2013, ch. 9.) Why: a log
    that misses the rare, heavy weights of a target concentrated where the behaviour seldom
    goes shows a large ESS of its own weights and a confident, wrong interval (issue 21: the
    prompt family's trained DSO, whose expected ESS is about 1.5 of 1,000 rounds while 12%
    of its logs show an ESS of 10 or more). Actions below 1/(10 n) are left out: a log
    almost never holds them, whatever their weight (a one-hot target on an item shown with
    probability 1e-80 would otherwise make the expected ESS 0 for a negligible mass); their
    share of the target is the thin mass (:func:`support_masses`), flagged on its own.

    Args:
        target, behaviour: (n_ctx, A) distributions at the held-out contexts.
        n: held-out rounds (or sessions); default n_ctx.

    Returns:
        The expected ESS in [0, n]; 0.0 when the target has no mass the log can hold.
    """
    target = np.asarray(target, dtype=np.float64)
    behaviour = np.asarray(behaviour, dtype=np.float64)
    n = target.shape[0] if n is None else int(n)
    on = behaviour >= 1.0 / (THIN_FACTOR * n)
    mean_w = float(np.where(on, target, 0.0).sum(axis=1).mean())
    mean_w2 = float(np.where(on, target**2 / np.where(on, behaviour, 1.0), 0.0)
                    .sum(axis=1).mean())
    return n * mean_w**2 / mean_w2 if mean_w2 > 0 else 0.0


def support_note(n_support: int, ess: float, min_ess: float, unit: str) -> str:
    """The old rule's reason for hiding an estimate ("" when shown); prefer
    :func:`support_status`, which shows low-ESS estimates with a warning."""
    if n_support == 0:
        return f"no support: no held-out {unit[:-1]} has a non-zero importance weight"
    if ess < min_ess:
        return f"no support: ESS {ess:.3g} < {min_ess:g}"
    return ""


def support_masses(
    target: Any, behaviour: Any, n: int | None = None,
) -> tuple[float, float]:
    """The target's unsupported and thin mass under the behaviour policy.

    Args:
        target: (n_ctx, A) the target's distribution over actions at each held-out context.
        behaviour: (n_ctx, A) the behaviour policy's distribution at the same contexts.
        n: held-out rounds (or sessions) that the threshold 1/(10 n) refers to; default
            n_ctx.

    Returns:
        ``(unsupported, thin)``: the mean over contexts of ``sum_a target(a)`` over actions
        with ``behaviour(a) == 0``, and over actions with ``0 < behaviour(a) < 1/(10 n)``.
    """
    target = np.asarray(target, dtype=np.float64)
    behaviour = np.asarray(behaviour, dtype=np.float64)
    if target.ndim != 2 or target.shape != behaviour.shape:
        raise ValueError(f"target {target.shape} and behaviour {behaviour.shape} must both "
                         "be (n_contexts, n_actions) distributions")
    if target.shape[0] == 0:
        raise ValueError("support_masses needs at least one context")
    if not (np.all(np.isfinite(target)) and np.all(np.isfinite(behaviour))):
        raise ValueError("target and behaviour probabilities must be finite")
    if np.any(target < 0) or np.any(behaviour < 0):
        raise ValueError("target and behaviour probabilities must be >= 0")
    n = target.shape[0] if n is None else int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    zero = behaviour <= 0
    thin = ~zero & (behaviour < 1.0 / (THIN_FACTOR * n))
    unsupported = float(np.where(zero, target, 0.0).sum(axis=1).mean())
    return unsupported, float(np.where(thin, target, 0.0).sum(axis=1).mean())


def thin_note(thin_mass: float | None) -> str:
    """The thin-support warning of an IPS-type estimate, or "" below :data:`THIN_MASS_FLAG`."""
    if thin_mass is None or thin_mass <= THIN_MASS_FLAG:
        return ""
    return (f"thin support: the target puts {thin_mass:.3g} of its mass on actions the "
            "behaviour policy takes with probability below 1/(10 n); the log almost never "
            "holds them, so the estimate and its interval miss their value")


def join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)
