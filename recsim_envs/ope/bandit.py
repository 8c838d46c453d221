"""One-step (bandit) off-policy estimators with bootstrap intervals, usable on any logs.

Notation: held-out logged rounds i = 1..n, logged action a_i, behaviour propensity
``pscore_i = pi_0(a_i|x_i)`` in (0, 1], reward r_i, and the target policy's probability of the
logged action ``target_prob_i = pi(a_i|x_i)`` in [0, 1]; importance weight
``w_i = target_prob_i / pscore_i``. Names and formulas follow the Open Bandit Pipeline
(Saito et al., NeurIPS 2021 datasets track):

- IPS (Horvitz and Thompson, 1952; Precup et al., 2000): ``mean_i w_i r_i``.
- SNIPS (Swaminathan and Joachims, NeurIPS 2015): ``sum_i w_i r_i / sum_i w_i``.
- DM (Beygelzimer and Langford, KDD 2009): ``mean_i sum_a pi(a|x_i) q_hat(x_i, a)``.
- DR (Dudik, Langford and Li, ICML 2011): ``DM + mean_i w_i (r_i - q_hat(x_i, a_i))``.
- Kernel IS (Kiyohara et al., "Prompt Optimization with Logged Bandit Data", 2025; the weighting
  of DSO): ``mean_i w_i r_i`` with ``w_i = pi(phi(s_i)|x_i) / pi_0(phi(s_i)|x_i)``, kernel-smoothed
  densities of the logged sentence embedding supplied by the caller.

Every estimator returns an :class:`~recsim_envs.ope.estimate.OffPolicyEstimate`: the point
estimate is the plain estimator on all rounds; the interval is a percentile bootstrap over
held-out rounds; importance-weighted estimators carry a support status
(:func:`~recsim_envs.ope.estimate.support_status`: no support, low ESS shown with a warning, or
supported). Pass the full distributions ``target_probs`` and ``behaviour_probs`` (n, A) to
have the unsupported and thin masses computed from the behaviour policy's probabilities
(:func:`~recsim_envs.ope.estimate.support_masses`) rather than from what the sample holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from recsim_envs.ope.bootstrap import (
    bootstrap_counts,
    bootstrap_replicates,
    check_bootstrap,
    check_resampling,
    dropped_note,
    interval_text,
    percentile_interval,
    support_sums,
)
from recsim_envs.ope.estimate import (
    MIN_ESS,
    THIN_MASS_FLAG,
    OffPolicyEstimate,
    join_notes,
    support_status,
    thin_note,
)
from recsim_envs.ope.weights import (
    Masses,
    as_vector,
    effective_sample_size,
    importance_weights,
    masses,
)

# refit(rng) -> (dm_terms_b (n,), q_logged_b (n,)) for the held-out rounds, from a reward model
# refit on a bootstrap resample of the caller's training rounds.
Refit = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]

_CONDITIONAL = "conditional on the fitted reward model"
_SUPPORT = "draws on the non-zero-weight rounds only (resampling='support')"
_REFIT = "reward model refit on resampled training rounds in each replicate"
_MODEL_NOTE = ("model-based: the reward model's extrapolation, never suppressed by the "
               "support rule (ESS and n_support are for information)")
_UNCALIBRATED_THIN = ("not a 95% interval over logs: the target's thin mass is missing from "
                      "almost every log, so the bootstrap cannot see it")
def _weighted(
    estimator: str, w: np.ndarray, reward: np.ndarray, rng: np.random.Generator, n_boot: int,
    min_ess: float, self_normalised: bool, resampling: str = "all",
    mass: Masses = (None, None, None),
) -> OffPolicyEstimate:
    """IPS-type estimate of mean_i w_i r_i (or its self-normalised form) with its interval.

    With thin mass above :data:`THIN_MASS_FLAG` the interval is labelled not calibrated
    (IPS and SNIPS have no model of the actions the log almost never holds), and so is a
    low-ESS one (the bootstrap resamples the same handful of rounds).
    """
    check_resampling(resampling)
    n = len(w)
    n_support, ess = int(np.count_nonzero(w)), effective_sample_size(w)
    interval = interval_text("rounds", n_boot)
    status, why = support_status(n_support, ess, min_ess, "rounds", mass[0], expected=mass[2])
    if status == "no_support":
        return OffPolicyEstimate.no_support(estimator, n=n, unit="rounds", n_support=n_support,
                                            ess=ess, interval=interval, note=why,
                                            unsupported_mass=mass[0], thin_mass=mass[1])
    thin = mass[1] is not None and mass[1] > THIN_MASS_FLAG
    wr = w * reward
    if self_normalised:
        point = wr.sum() / w.sum()

        def statistic(c: np.ndarray) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                return (c @ wr) / (c @ w)  # 0/0 (no weight resampled) -> NaN, dropped
    else:
        point = wr.mean()

        def statistic(c: np.ndarray) -> np.ndarray:
            return (c @ wr) / n

    if resampling == "support":
        on = np.flatnonzero(w)
        cols = np.stack([wr[on], w[on]], axis=1) if self_normalised else wr[on][:, None]
        sums = support_sums(rng, n, n_boot, cols)
        with np.errstate(invalid="ignore", divide="ignore"):
            reps = sums[:, 0] / sums[:, 1] if self_normalised else sums[:, 0] / n
        interval = interval_text("rounds", n_boot, _SUPPORT)
    else:
        reps = bootstrap_replicates(rng, n, n_boot, statistic)
    lo, hi, dropped = percentile_interval(reps)
    note = join_notes(why, thin_note(mass[1]), _UNCALIBRATED_THIN if thin else "",
                      dropped_note(dropped, n_boot))
    return OffPolicyEstimate(estimator, point, lo, hi, ess, n_support, n, "rounds", interval,
                             note, status=status, unsupported_mass=mass[0],
                             thin_mass=mass[1], calibrated=status == "supported" and not thin)


def ips(
    target_prob: Any, pscore: Any, reward: Any, *, rng: np.random.Generator,
    n_boot: int = 1000, min_ess: float = MIN_ESS, resampling: str = "all",
    target_probs: Any = None, behaviour_probs: Any = None,
) -> OffPolicyEstimate:
    """Inverse propensity scoring: ``mean_i w_i r_i``, all inputs (n,).

    Unbiased when pi_0 > 0 wherever pi > 0 (Horvitz and Thompson, 1952). The interval is a
    percentile bootstrap over held-out rounds, ``n_boot`` replicates drawn from ``rng``.
    ``resampling="support"`` (IPS, SNIPS, kernel IS) draws the same bootstrap distribution
    in time proportional to the rounds with a non-zero weight
    (:func:`~recsim_envs.ope.bootstrap.support_sums`); its draws, and so its interval for a
    seed, differ from the default ``"all"``, which the committed results use.
    ``target_probs``/``behaviour_probs`` (n, A): the full distributions at each held-out
    context, for the support status and masses (:func:`masses`).
    """
    check_bootstrap(rng, n_boot, min_ess)
    w = importance_weights(target_prob, pscore)
    reward = as_vector("reward", reward, len(w))
    return _weighted("ips", w, reward, rng, n_boot, min_ess, self_normalised=False,
                     resampling=resampling,
                     mass=masses(target_probs, behaviour_probs, len(w)))


def snips(
    target_prob: Any, pscore: Any, reward: Any, *, rng: np.random.Generator,
    n_boot: int = 1000, min_ess: float = MIN_ESS, resampling: str = "all",
    target_probs: Any = None, behaviour_probs: Any = None,
) -> OffPolicyEstimate:
    """Self-normalised IPS: ``sum_i w_i r_i / sum_i w_i``, all inputs (n,).

    Consistent, slightly biased, much lower variance than IPS (Swaminathan and Joachims,
    NeurIPS 2015). Bootstrap replicates whose resample holds no non-zero weight are undefined
    and left out of the interval (the note counts them).
    """
    check_bootstrap(rng, n_boot, min_ess)
    w = importance_weights(target_prob, pscore)
    reward = as_vector("reward", reward, len(w))
    return _weighted("snips", w, reward, rng, n_boot, min_ess, self_normalised=True,
                     resampling=resampling,
                     mass=masses(target_probs, behaviour_probs, len(w)))


def kernel_is(
    target_density: Any, behaviour_density: Any, reward: Any, *, rng: np.random.Generator,
    n_boot: int = 1000, min_ess: float = MIN_ESS, resampling: str = "all",
    target_probs: Any = None, behaviour_probs: Any = None,
) -> OffPolicyEstimate:
    """Kernel IS (DSO's weighting, Kiyohara et al. 2025): ``mean_i w_i r_i``, inputs (n,).

    ``w_i = pi(phi(s_i)|x_i) / pi_0(phi(s_i)|x_i)``: target_density (n,) >= 0 and
    behaviour_density (n,) > 0 are kernel-smoothed marginal densities of the logged sentence
    embedding phi(s_i) under the target and the behaviour policy (e.g. Monte Carlo averages of
    a Gaussian kernel over sentences generated by each); the ESS is computed on these weights.
    ``target_probs``/``behaviour_probs`` (n, A) over prompts, if given, set the support
    status and masses (a prompt the behaviour never takes may still write supported
    sentences, but the status stays conservative).
    """
    check_bootstrap(rng, n_boot, min_ess)
    num = as_vector("target_density", target_density)
    den = as_vector("behaviour_density", behaviour_density, len(num))
    reward = as_vector("reward", reward, len(num))
    if np.any(num < 0):
        raise ValueError("target_density must be >= 0")
    if np.any(den <= 0):
        raise ValueError("behaviour_density must be > 0 at every logged sentence")
    # The prompt-level expected ESS is not this estimator's: its weights are smoothed
    # over sentences (their own ESS applies), so only the masses are passed on.
    unsupported, thin, _ = masses(target_probs, behaviour_probs, len(num))
    return _weighted("kernel_is", num / den, reward, rng, n_boot, min_ess,
                     self_normalised=False, resampling=resampling,
                     mass=(unsupported, thin, None))


def _refit_output(out: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ValueError("refit(rng) must return a tuple (dm_terms_b (n,), q_logged_b (n,))")
    return as_vector("refit dm_terms_b", out[0], n), as_vector("refit q_logged_b", out[1], n)


def _model_based(
    terms: np.ndarray, refit_terms: Callable[[np.random.Generator], np.ndarray]
    | None, rng: np.random.Generator, n_boot: int,
) -> tuple[float, float | None, float | None, str]:
    """Point, interval and interval text for a mean of per-round terms built on a reward model.

    Without ``refit_terms`` the bootstrap resamples held-out rounds only (one vectorised pass).
    With it, each replicate first refits the model (``refit_terms(rng) -> (n,)`` terms), then
    resamples held-out rounds, so the interval also covers the reward model's estimation error;
    this necessarily loops over replicates.
    """
    n = len(terms)
    if refit_terms is None:
        reps = bootstrap_replicates(rng, n, n_boot, lambda c: (c @ terms) / n)
        text = interval_text("rounds", n_boot, _CONDITIONAL)
    else:
        reps = np.empty(n_boot)
        for b in range(n_boot):
            terms_b = refit_terms(rng)
            counts = next(bootstrap_counts(rng, n, 1))
            reps[b] = (counts @ terms_b)[0] / n
        text = interval_text("rounds", n_boot, _REFIT)
    lo, hi, _ = percentile_interval(reps)
    return float(terms.mean()), lo, hi, text


def dm(
    dm_terms: Any, *, refit: Refit | None = None, rng: np.random.Generator, n_boot: int = 200,
    weights: Any = None, calibrated: bool = False, target_probs: Any = None,
    behaviour_probs: Any = None,
) -> OffPolicyEstimate:
    """Direct method: ``mean_i dm_terms_i``, ``dm_terms_i = sum_a pi(a|x_i) q_hat(x_i, a)`` (n,).

    Biased by the reward model q_hat (Beygelzimer and Langford, KDD 2009). Never suppressed
    by the support rule; pass the importance ``weights`` (n,) to report their ESS and
    n_support for information (without them ess is None and n_support = n).

    Args:
        dm_terms: (n,) the target's expected predicted reward on each held-out round.
        refit: optional ``refit(rng) -> (dm_terms_b (n,), q_logged_b (n,))`` that refits the
            reward model on a bootstrap resample of the caller's *training* rounds and
            predicts on the held-out rounds. Given, every replicate uses a refit model and a
            resample of held-out rounds; None, the interval is conditional on the fitted model.
        rng: generator for every bootstrap draw (it is also passed to ``refit``).
        n_boot: bootstrap replicates (``refit`` is called n_boot times).
        weights: optional (n,) importance weights, for information only.
        calibrated: whether the interval is a 95% interval over logs. Default False: no
            bootstrap over rounds (even with ``refit``) contains the reward model's bias,
            which dominates DM's error; pass True only where a calibration over replicate
            logs shows the interval covers (as the families' constants do).
        target_probs, behaviour_probs: optional (n, A), for the masses (information only).
    """
    check_bootstrap(rng, n_boot)
    terms = as_vector("dm_terms", dm_terms)
    n = len(terms)
    if weights is None:
        ess, n_support = None, n
    else:
        w = as_vector("weights", weights, n)
        if np.any(w < 0):
            raise ValueError("weights must be >= 0")
        ess, n_support = effective_sample_size(w), int(np.count_nonzero(w))
    refit_terms = None if refit is None else (lambda g: _refit_output(refit(g), n)[0])
    point, lo, hi, text = _model_based(terms, refit_terms, rng, n_boot)
    unsupported, thin, expected = masses(target_probs, behaviour_probs, n)
    return OffPolicyEstimate("dm", point, lo, hi, ess, n_support, n, "rounds", text, _MODEL_NOTE,
                             unsupported_mass=unsupported, thin_mass=thin,
                             calibrated=calibrated)


def dr(
    target_prob: Any, pscore: Any, reward: Any, dm_terms: Any, q_logged: Any, *,
    refit: Refit | None = None, rng: np.random.Generator, n_boot: int = 200,
    min_ess: float = MIN_ESS, calibrated: bool = True, target_probs: Any = None,
    behaviour_probs: Any = None,
) -> OffPolicyEstimate:
    """Doubly robust: ``mean_i [dm_terms_i + w_i (r_i - q_logged_i)]``, all inputs (n,).

    Unbiased if either the weights or the reward model are right (Dudik, Langford and Li,
    ICML 2011). ``q_logged_i = q_hat(x_i, a_i)``; ``dm_terms`` and ``refit`` as in :func:`dm`.
    Carries the support status of the weights w (and of the masses, given ``target_probs``
    and ``behaviour_probs`` (n, A)). Thin mass is flagged in the note but leaves the interval
    calibrated: the reward model, not the sample, carries the thin actions' value. A low-ESS
    DR interval is labelled not calibrated.

    ``calibrated`` (default True): the interval over held-out rounds of the per-round DR
    terms is the standard one when q_hat was fitted on data disjoint from these rows (a
    separate log, or cross-fitting: :mod:`recsim_envs.ope.crossfit`; Chernozhukov et al.,
    "Double/debiased machine learning", Econometrics Journal 2018); pass False where a
    calibration shows it does not cover.
    """
    check_bootstrap(rng, n_boot, min_ess)
    w = importance_weights(target_prob, pscore)
    n = len(w)
    reward = as_vector("reward", reward, n)
    dm_terms = as_vector("dm_terms", dm_terms, n)
    q_logged = as_vector("q_logged", q_logged, n)
    n_support, ess = int(np.count_nonzero(w)), effective_sample_size(w)
    unsupported, thin, expected = masses(target_probs, behaviour_probs, n)
    status, why = support_status(n_support, ess, min_ess, "rounds", unsupported,
                                 expected=expected)
    if status == "no_support":
        extra = _CONDITIONAL if refit is None else _REFIT
        return OffPolicyEstimate.no_support(
            "dr", n=n, unit="rounds", n_support=n_support, ess=ess,
            interval=interval_text("rounds", n_boot, extra), note=why,
            unsupported_mass=unsupported, thin_mass=thin)

    def refit_terms(g: np.random.Generator) -> np.ndarray:
        dm_b, q_b = _refit_output(refit(g), n)
        return dm_b + w * (reward - q_b)

    terms = dm_terms + w * (reward - q_logged)
    point, lo, hi, text = _model_based(terms, None if refit is None else refit_terms,
                                       rng, n_boot)
    return OffPolicyEstimate("dr", point, lo, hi, ess, n_support, n, "rounds", text,
                             join_notes(why, thin_note(thin)), status=status,
                             unsupported_mass=unsupported, thin_mass=thin,
                             calibrated=calibrated and status == "supported")


def bandit_estimates(
    target_prob: Any, pscore: Any, reward: Any, *, dm_terms: Any = None, q_logged: Any = None,
    refit: Refit | None = None, rng: np.random.Generator, n_boot: int = 1000,
    n_boot_model: int = 200, min_ess: float = MIN_ESS, resampling: str = "all",
    target_probs: Any = None, behaviour_probs: Any = None, dm_calibrated: bool = False,
    dr_calibrated: bool = True,
) -> dict[str, OffPolicyEstimate]:
    """IPS and SNIPS, plus DM given ``dm_terms`` and DR given ``dm_terms`` and ``q_logged``.

    Args:
        target_prob, pscore, reward: (n,) as in :func:`ips`.
        dm_terms, q_logged: (n,) as in :func:`dr`, or None.
        refit: as in :func:`dm` (used by DM and DR).
        rng: one generator for all draws, used in the order ips, snips, dm, dr.
        n_boot: replicates for IPS and SNIPS; n_boot_model: for DM and DR.
        resampling: IPS and SNIPS's bootstrap draws (see :func:`ips`); DM and DR terms are
            non-zero on every round, so they always resample all rounds.
        target_probs, behaviour_probs: optional (n, A) full distributions, for the support
            status and masses of every estimate (see :func:`masses`).
        dm_calibrated, dr_calibrated: the ``calibrated`` labels of DM and DR (see :func:`dm`,
            :func:`dr`).

    Returns:
        ``{"ips", "snips"[, "dm"[, "dr"]]} -> OffPolicyEstimate``.
    """
    if q_logged is not None and dm_terms is None:
        raise ValueError("q_logged was given without dm_terms; DR needs both")
    probs = {"target_probs": target_probs, "behaviour_probs": behaviour_probs}
    out = {
        "ips": ips(target_prob, pscore, reward, rng=rng, n_boot=n_boot, min_ess=min_ess,
                   resampling=resampling, **probs),
        "snips": snips(target_prob, pscore, reward, rng=rng, n_boot=n_boot, min_ess=min_ess,
                       resampling=resampling, **probs),
    }
    if dm_terms is not None:
        w = importance_weights(target_prob, pscore)
        out["dm"] = dm(dm_terms, refit=refit, rng=rng, n_boot=n_boot_model, weights=w,
                       calibrated=dm_calibrated, **probs)
        if q_logged is not None:
            out["dr"] = dr(target_prob, pscore, reward, dm_terms, q_logged, refit=refit,
                           rng=rng, n_boot=n_boot_model, min_ess=min_ess,
                           calibrated=dr_calibrated, **probs)
    return out


def relabel(estimates: dict[str, OffPolicyEstimate], calibrated: Mapping[str, bool],
            why: str) -> dict[str, OffPolicyEstimate]:
    """``estimates`` with ``calibrated=False`` (and ``why`` in the note) for every shown
    estimate whose name maps to False in ``calibrated``: a family's calibration measured
    that estimator's intervals below 90% coverage (see the families' INTERVAL_CALIBRATED)."""
    out = {}
    for name, est in estimates.items():
        if est.supported and not calibrated.get(name, True) and est.calibrated:
            est = dataclasses.replace(est, calibrated=False, note=join_notes(est.note, why))
        out[name] = est
    return out
