"""Coverage of off-policy intervals over replicate logs of one fixed world.

How the references test an estimator (OBP, SCOPE-RL): one world, one target with a known
true value, many independent logged datasets; an interval is calibrated when it covers the
truth in about its nominal share of them. :func:`coverage_table` turns the estimates of
``n_logs`` replicate held-out logs (each a ``{estimator: OffPolicyEstimate}`` as
:func:`recsim_envs.ope.estimate_policy` returns) into one :class:`CoverageRow` per estimator;
:func:`calibration_failures` lists every interval labelled calibrated whose coverage is
below :data:`MIN_COVERAGE`. The driver that builds the worlds through the benchmark
runner's own path is ``benchmarks/perf/calibration.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recsim_envs.ope.estimate import OffPolicyEstimate

MIN_COVERAGE = 0.90
"""Issue 21: every interval printed as a 95% interval must cover in >= 90% of the logs."""


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval of a binomial share k / n (over logs); (nan, nan) if n = 0."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class CoverageRow:
    """One (family, target, estimator) over ``n_logs`` replicate logs.

    Attributes:
        family, target, estimator: what was estimated, and how.
        n_logs: replicate held-out logs.
        truth: the target's online value on the same world.
        n_shown: logs with an estimate (status "supported" or "low_ess").
        coverage: share of the ``n_shown`` intervals that contain ``truth`` (None if 0).
        coverage_low, coverage_high: its 95% Wilson interval over logs.
        n_calibrated: logs whose interval is labelled calibrated (printed as a 95% interval).
        coverage_calibrated: share of those that contain ``truth`` (None if 0).
        bias: mean of (estimate - truth) over the shown logs.
        rmse: root mean squared error over the shown logs.
        width: mean interval width over the shown logs.
        supported, low_ess, no_support: shares of the n_logs with each status.
        thin_mass: mean thin mass over the logs that report it (None if none do).
        ess: median effective sample size over the logs that report one (None if none do).
    """

    family: str
    target: str
    estimator: str
    n_logs: int
    truth: float
    n_shown: int
    coverage: float | None
    coverage_low: float | None
    coverage_high: float | None
    n_calibrated: int
    coverage_calibrated: float | None
    bias: float | None
    rmse: float | None
    width: float | None
    supported: float
    low_ess: float
    no_support: float
    thin_mass: float | None
    ess: float | None = None


def coverage_table(
    family: str, target: str, truth: float,
    replicates: Sequence[Mapping[str, OffPolicyEstimate]],
) -> list[CoverageRow]:
    """One :class:`CoverageRow` per estimator over the replicate logs' estimates.

    Args:
        family, target: labels of the rows.
        truth: the target's online value on the world the logs came from.
        replicates: per replicate log, ``{estimator: OffPolicyEstimate}``.
    """
    if not replicates:
        raise ValueError("coverage_table needs at least one replicate log")
    if not math.isfinite(truth):
        raise ValueError(f"truth is {truth}; pass the target's finite online value")
    names = sorted({k for rep in replicates for k in rep})
    rows = []
    for name in names:
        ests = [rep[name] for rep in replicates if name in rep]
        shown = [e for e in ests if e.estimate is not None]
        inside = [e.ci_low <= truth <= e.ci_high for e in shown if e.ci_low is not None]
        cal = [e.ci_low <= truth <= e.ci_high for e in shown
               if e.calibrated and e.ci_low is not None]
        err = np.array([e.estimate - truth for e in shown])
        widths = [e.ci_high - e.ci_low for e in shown if e.ci_low is not None]
        thin = [e.thin_mass for e in ests if e.thin_mass is not None]
        ess = [e.ess for e in ests if e.ess is not None]
        lo, hi = wilson_interval(int(sum(inside)), len(inside))
        n = len(ests)
        rows.append(CoverageRow(
            family=family, target=target, estimator=name, n_logs=n, truth=float(truth),
            n_shown=len(shown),
            coverage=float(np.mean(inside)) if inside else None,
            coverage_low=lo if inside else None, coverage_high=hi if inside else None,
            n_calibrated=len(cal),
            coverage_calibrated=float(np.mean(cal)) if cal else None,
            bias=float(err.mean()) if err.size else None,
            rmse=float(np.sqrt((err**2).mean())) if err.size else None,
            width=float(np.mean(widths)) if widths else None,
            supported=sum(e.status == "supported" for e in ests) / n,
            low_ess=sum(e.status == "low_ess" for e in ests) / n,
            no_support=sum(e.status == "no_support" for e in ests) / n,
            thin_mass=float(np.mean(thin)) if thin else None,
            ess=float(np.median(ess)) if ess else None,
        ))
    return rows


def calibration_failures(rows: Sequence[CoverageRow],
                         min_coverage: float = MIN_COVERAGE) -> list[str]:
    """Every row whose intervals labelled calibrated cover in fewer than ``min_coverage``
    of the logs, in words (empty when all pass)."""
    return [f"{r.family}/{r.target}/{r.estimator}: intervals labelled calibrated cover "
            f"{r.coverage_calibrated:.3f} < {min_coverage} of {r.n_calibrated} logs"
            for r in rows
            if r.coverage_calibrated is not None and r.coverage_calibrated < min_coverage]


def _f(x: float | None, digits: int = 3, sign: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def format_table(rows: Sequence[CoverageRow]) -> str:
    """A markdown table of the rows (one line each)."""
    head = ("| family | target | estimator | logs | truth | coverage (95% CI over logs) | "
            "labelled 95%: logs, coverage | bias | RMSE | mean width | supported / low ESS / "
            "no support | thin mass | median ESS |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        cov = ("-" if r.coverage is None else
               f"{r.coverage:.3f} [{r.coverage_low:.2f}, {r.coverage_high:.2f}]")
        lines.append(
            f"| {r.family} | {r.target} | {r.estimator} | {r.n_logs} | {r.truth:.4f} | {cov} | "
            f"{r.n_calibrated}, {_f(r.coverage_calibrated)} | {_f(r.bias, 4, True)} | "
            f"{_f(r.rmse, 4)} | {_f(r.width, 4)} | {r.supported:.2f} / {r.low_ess:.2f} / "
            f"{r.no_support:.2f} | {_f(r.thin_mass)} | {_f(r.ess, 0)} |")
    return "\n".join(lines)
