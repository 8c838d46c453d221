"""Intervals, paired t-tests and Holm's correction against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recsim_envs.core.stats import (
    diff_ci,
    holm_bonferroni,
    mean_ci,
    paired_test,
    t_quantile_975,
    t_two_sided_p,
)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 6, 9, 10, 17, 29, 30])
def test_the_p_value_at_the_tabulated_t_quantile_is_five_percent(df):
    # the table holds the quantiles to 3 decimals, hence the tolerance
    assert t_two_sided_p(t_quantile_975(df), df) == pytest.approx(0.05, abs=2e-4)


def test_t_p_values_by_hand():
    # df = 1 (Cauchy): p = 1 - (2 / pi) atan(|t|); t = 1 -> 0.5
    assert t_two_sided_p(1.0, 1) == pytest.approx(0.5)
    # df = 2: p = 1 - |t| / sqrt(2 + t^2); t = sqrt(2) -> 1 - sqrt(2) / 2
    assert t_two_sided_p(math.sqrt(2), 2) == pytest.approx(1 - math.sqrt(2) / 2)
    assert t_two_sided_p(-math.sqrt(2), 2) == t_two_sided_p(math.sqrt(2), 2)
    assert t_two_sided_p(0.0, 7) == 1.0 and t_two_sided_p(math.inf, 3) == 0.0
    # large df approaches the normal: P(|Z| > 1.959964) = 0.05
    assert t_two_sided_p(1.959964, 5000) == pytest.approx(0.05, abs=2e-4)
    with pytest.raises(ValueError, match="integer df >= 1"):
        t_two_sided_p(1.0, 0)


def test_paired_test_by_hand():
    # differences 3, 2, 4: mean 3, sd 1, t = 3 / (1 / sqrt 3) = 5.196, p = 1 - sqrt(27/29)
    res = paired_test(np.array([13.0, 12.0, 14.0]), np.array([10.0, 10.0, 10.0]))
    assert res.diff.mean == pytest.approx(3.0) and res.diff.std == pytest.approx(1.0)
    assert res.t == pytest.approx(3 * math.sqrt(3))
    assert res.p_value == pytest.approx(1 - math.sqrt(27 / 29))
    assert res.diff == diff_ci([13.0, 12.0, 14.0], [10.0, 10.0, 10.0])
    # equal differences: a non-zero one is certain, a zero one is not
    assert paired_test(np.array([2.0, 3.0]), np.array([1.0, 2.0])).p_value == 0.0
    assert paired_test(np.array([2.0, 3.0]), np.array([2.0, 3.0])).p_value == 1.0
    assert paired_test(np.array([2.0]), np.array([1.0])).p_value is None  # 1 pair: no test


def test_holm_bonferroni_by_hand():
    # p = .01 .04 .03 .005 (m = 4). Sorted .005 .01 .03 .04 times 4 3 2 1 = .02 .03 .06 .04;
    # running max -> .02 .03 .06 .06. At .05: reject the first two only (.03 > .05/2 stops).
    adjusted, reject = holm_bonferroni([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert reject == [True, False, False, True]
    assert holm_bonferroni([]) == ([], [])
    assert holm_bonferroni([0.6, 0.7]) == ([1.0, 1.0], [False, False])  # capped at 1
    with pytest.raises(ValueError, match="p-values in"):
        holm_bonferroni([1.2])


def test_mean_ci_is_unchanged():
    est = mean_ci([1.0, 2.0, 3.0])
    assert est.mean == 2.0 and est.std == 1.0
    assert est.ci_high - est.mean == pytest.approx(4.303 / math.sqrt(3))
