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
