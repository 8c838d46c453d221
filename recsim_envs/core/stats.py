"""Means with confidence intervals, used by every evaluation and leaderboard table."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

# Two-sided Student-t quantiles at 97.5% for small samples (df 1..30); normal beyond.
_T975 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
]


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% confidence interval.

    Attributes:
        mean: sample mean.
        ci_low, ci_high: bounds of the 95% interval (Student t for n <= 30, normal above).
        std: sample standard deviation (ddof=1; 0 for n = 1).
        n: number of samples.
    """

    mean: float
    ci_low: float
    ci_high: float
    std: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2

    def overlaps(self, other: Estimate) -> bool:
        """True where the two intervals share any point."""
        return self.ci_low <= other.ci_high and other.ci_low <= self.ci_high

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.half_width:.4f}"


def t_quantile_975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (normal for df > 30)."""
    if df < 1:
        return math.inf
    return _T975[df - 1] if df <= len(_T975) else 1.959964


def mean_ci(values: np.ndarray) -> Estimate:
    """Mean and 95% confidence interval of ``values`` (n,), which must be finite."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("mean_ci needs at least one value")
    if not np.all(np.isfinite(x)):
        raise ValueError("mean_ci got NaN or infinite values")
    mean = float(x.mean())
    if x.size == 1:
        return Estimate(mean, mean, mean, 0.0, 1)
    std = float(x.std(ddof=1))
    half = t_quantile_975(x.size - 1) * std / math.sqrt(x.size)
    return Estimate(mean, mean - half, mean + half, std, int(x.size))


def diff_ci(a: np.ndarray, b: np.ndarray) -> Estimate:
    """Paired difference ``a - b`` (same seeds/users in the same order) with its 95% CI."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal shapes, got {a.shape} and {b.shape}")
    return mean_ci(a - b)


# ----------------------------------------------------------------- paired tests, Holm


def t_two_sided_p(t: float, df: int) -> float:
    """Two-sided p-value ``P(|T| >= |t|)`` of Student's t with integer ``df`` >= 1.

    Exact closed forms for integer degrees of freedom (Abramowitz and Stegun 26.7.3 and
    26.7.4), so no scipy is needed: with theta = atan(|t| / sqrt(df)),
    ``A = sin(theta) * sum_j c_j cos(theta)^(2j)`` for even df and
    ``A = (2 / pi) * (theta + sin(theta) cos(theta) * sum_j d_j cos(theta)^(2j))`` for odd
    df; the p-value is ``1 - A``.
    """
    if df < 1 or int(df) != df:
        raise ValueError(f"t_two_sided_p needs an integer df >= 1, got {df}")
    if math.isnan(t):
        raise ValueError("t_two_sided_p got a NaN statistic")
    if math.isinf(t):
        return 0.0
    df = int(df)
    theta = math.atan(abs(t) / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for j in range(1, df // 2):  # (1*3*...*(2j-1)) / (2*4*...*(2j)) cos^(2j)
            term *= c2 * (2 * j - 1) / (2 * j)
            total += term
        a = s * total
    else:
        total = 0.0
        if df > 1:
            term, total = 1.0, 1.0
            for j in range(1, (df - 1) // 2):  # (2*4*...*(2j)) / (3*5*...*(2j+1)) cos^(2j)
                term *= c2 * (2 * j) / (2 * j + 1)
                total += term
        a = (2.0 / math.pi) * (theta + s * math.cos(theta) * total)
    return float(min(1.0, max(0.0, 1.0 - a)))


@dataclass(frozen=True)
class PairedTest:
    """A paired difference ``a - b`` with its 95% interval and two-sided t-test.

    Attributes:
        diff: mean difference with its 95% Student-t interval (over the pairs).
        t: the t statistic (inf where every difference is equal and non-zero).
        p_value: two-sided p-value of "mean difference = 0"; None with fewer than 2 pairs.
    """

    diff: Estimate
    t: float
    p_value: float | None


def paired_test(a: np.ndarray, b: np.ndarray) -> PairedTest:
    """Paired t-test of ``a - b`` (n,) over matched units (seeds, users) in the same order.

    The interval is :func:`diff_ci`'s. Where all n >= 2 differences are equal the standard
    deviation is 0: the test then rejects a zero mean for a non-zero difference (p = 0) and
    accepts it for a zero difference (p = 1).
    """
    diff = diff_ci(a, b)
    if diff.n < 2:
        return PairedTest(diff, math.nan, None)
    if diff.std == 0.0:
        return PairedTest(diff, 0.0 if diff.mean == 0.0 else math.copysign(math.inf, diff.mean),
                          1.0 if diff.mean == 0.0 else 0.0)
    t = diff.mean / (diff.std / math.sqrt(diff.n))
    return PairedTest(diff, t, t_two_sided_p(t, diff.n - 1))


def holm_bonferroni(p_values: list[float], alpha: float = 0.05) -> tuple[list[float], list[bool]]:
    """Holm's step-down correction (Holm, 1979) of m p-values at family-wise level ``alpha``.

    Sort the p-values ascending, p_(1) <= ... <= p_(m); the adjusted p-values are
    ``p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`` and hypothesis (i) is rejected where
    ``p~_(i) <= alpha`` (equivalently: reject while ``p_(i) <= alpha / (m - i + 1)`` and stop
    at the first failure). Controls the family-wise error rate under any dependence.

    Returns:
        (adjusted p-values, reject decisions), both in the input order.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"holm_bonferroni needs a flat list of p-values, got shape {p.shape}")
    if p.size and (not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1):
        raise ValueError("holm_bonferroni needs p-values in [0, 1]")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled) if m else scaled
    return [float(x) for x in adjusted], [bool(x <= alpha) for x in adjusted]
