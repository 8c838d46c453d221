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


# ----------------------------------------------------------------- bootstrap resampling
def _counts_reference(rng, n, n_boot, block_entries=1 << 22):
    """bootstrap_counts as written before issue 23 (the draws the committed rows used)."""
    out, block = [], max(1, block_entries // n)
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        flat = (idx + n * np.arange(b)[:, None]).ravel()
        out.append(np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64))
    return np.concatenate(out)


@pytest.mark.parametrize("n, n_boot", [(10, 7), (1000, 5000), (3_000_000, 3)])
def test_bootstrap_counts_are_the_draws_they_always_were(n, n_boot):
    from recsim_envs.ope.bootstrap import bootstrap_counts

    got = np.concatenate(list(bootstrap_counts(np.random.default_rng(8), n, n_boot)))
    np.testing.assert_array_equal(got, _counts_reference(np.random.default_rng(8), n, n_boot))


def test_support_sums_add_the_drawn_terms_of_each_replicate(monkeypatch):
    import recsim_envs.ope.bootstrap as est

    monkeypatch.setattr(est, "_BLOCK_ENTRIES", 50)  # many blocks; replicates with no draw
    cols = np.random.default_rng(0).random((3, 2))
    got = est.support_sums(np.random.default_rng(1), 40, 300, cols)
    rng = np.random.default_rng(1)  # the same stream, read one replicate at a time
    k = rng.binomial(40, 3 / 40, size=300)
    idx = rng.integers(0, 3, size=int(k.sum()))
    ends = np.cumsum(k)
    want = np.array([cols[idx[e - kb:e]].sum(axis=0) for kb, e in zip(k, ends, strict=True)])
    assert (k == 0).any()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["ips", "snips"])
def test_support_resampling_draws_the_same_bootstrap_distribution(name):
    # 8,000 replicates of each scheme on one log of 300 rounds, 40 with a non-zero weight:
    # the replicates' mean and spread agree within their Monte Carlo error (the sd of a
    # sample sd is about sd / sqrt(2 * 8000), 0.8%; 5% allows for the two schemes' noise).
    from recsim_envs.ope import bandit

    rng = np.random.default_rng(3)
    n = 300
    target = np.zeros(n)
    target[:40] = rng.uniform(0.2, 1, 40)
    pscore = rng.uniform(0.1, 1, n)
    reward = rng.random(n) < 0.4
    w = target / pscore
    est = getattr(bandit, name)
    reps = {}
    for scheme in ("all", "support"):
        g = np.random.default_rng(5)
        if scheme == "all":
            from recsim_envs.ope.bootstrap import bootstrap_replicates

            stat = (lambda c: (c @ (w * reward)) / (c @ w)) if name == "snips" else (
                lambda c: (c @ (w * reward)) / n)
            reps[scheme] = bootstrap_replicates(g, n, 8000, stat)
        else:
            from recsim_envs.ope.bootstrap import support_sums

            on = np.flatnonzero(w)
            s = support_sums(g, n, 8000, np.stack([(w * reward)[on], w[on]], axis=1))
            reps[scheme] = s[:, 0] / s[:, 1] if name == "snips" else s[:, 0] / n
    a, b = reps["all"], reps["support"]
    assert abs(a.mean() - b.mean()) < 4 * a.std() / np.sqrt(8000)
    assert abs(a.std() / b.std() - 1) < 0.05
    out = est(target, pscore, reward, rng=np.random.default_rng(5), n_boot=2000,
              resampling="support", min_ess=0)
    assert out.ci_low < out.estimate < out.ci_high and "support" in out.interval


def test_an_unknown_resampling_is_refused():
    from recsim_envs.ope import bandit

    with pytest.raises(ValueError, match="resampling must be one of"):
        bandit.ips(np.ones(20), np.ones(20), np.ones(20), rng=np.random.default_rng(0),
                   resampling="poisson")
