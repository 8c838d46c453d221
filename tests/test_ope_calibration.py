"""Coverage of the off-policy intervals over replicate logs (issue 21).

Fast: the coverage table's arithmetic by hand; an interval that must cover on a trivial
bandit; the runner-path driver on a small world (labels and flags, not coverage). Slow: the
issue's counts through the runner's own path (200 two-stage logs, 100 prompt logs), the
table printed, and every interval labelled calibrated must cover >= 90% - which also checks
the families' ``INTERVAL_CALIBRATED`` constants.
"""

from __future__ import annotations

import numpy as np
import pytest

from recsim_envs.ope import OffPolicyEstimate, bandit_estimates
from recsim_envs.ope.calibration import (
    MIN_COVERAGE,
    calibration_failures,
    coverage_table,
    format_table,
    wilson_interval,
)


def _est(value: float | None, lo: float = 0.0, hi: float = 1.0, **kw) -> OffPolicyEstimate:
    if value is None:
        return OffPolicyEstimate.no_support("ips", n=10, unit="rounds", n_support=0, ess=0.0,
                                            interval="x", note="no support")
    return OffPolicyEstimate("ips", value, lo, hi, 20.0, 10, 10, "rounds", "x", **kw)


def test_coverage_table_by_hand():
    reps = [{"ips": _est(0.5, 0.4, 0.6)},                      # covers 0.45
            {"ips": _est(0.7, 0.6, 0.8)},                      # misses
            {"ips": _est(0.4, 0.3, 0.5, status="low_ess", calibrated=False)},  # covers
            {"ips": _est(None)}]
    (row,) = coverage_table("f", "t", 0.45, reps)
    assert (row.n_logs, row.n_shown, row.n_calibrated) == (4, 3, 2)
    assert row.coverage == pytest.approx(2 / 3)
    assert row.coverage_calibrated == pytest.approx(1 / 2)
    assert row.bias == pytest.approx((0.05 + 0.25 - 0.05) / 3)
    assert row.width == pytest.approx(0.2)
    assert (row.supported, row.low_ess, row.no_support) == (0.5, 0.25, 0.25)
    assert calibration_failures([row]) == [
        "f/t/ips: intervals labelled calibrated cover 0.500 < 0.9 of 2 logs"]
    assert "| f | t | ips | 4 | 0.4500 | 0.667 [" in format_table([row])
    with pytest.raises(ValueError, match="at least one"):
        coverage_table("f", "t", 0.45, [])


def test_wilson_interval_brackets_the_share():
    # by hand: centre (p + z^2/2n) / (1 + z^2/n) = 0.93334, half-width 0.04511
    assert wilson_interval(95, 100) == pytest.approx((0.88823, 0.97844), abs=1e-4)
    assert all(np.isnan(wilson_interval(0, 0)))  # no logs, no share


def test_intervals_cover_on_a_trivial_bandit():
    """Three arms, uniform logging, a fixed target: IPS, SNIPS and DR (with a reward model
    fitted on a separate log) must cover the exact value in >= 90% of 150 logs."""
    means = np.array([0.2, 0.5, 0.8])
    target = np.array([0.1, 0.3, 0.6])
    truth = float(target @ means)
    n = 400
    reps = []
    for seed in range(150):
        g = np.random.default_rng(seed)
        fit_a = g.integers(0, 3, n)  # a separate log for the reward model
        fit_r = g.binomial(1, means[fit_a]).astype(float)
        q = np.array([fit_r[fit_a == a].mean() for a in range(3)])
        a = g.integers(0, 3, n)
        r = g.binomial(1, means[a]).astype(float)
        probs = np.tile(target, (n, 1))
        reps.append(bandit_estimates(
            target[a], np.full(n, 1 / 3), r, dm_terms=np.full(n, target @ q), q_logged=q[a],
            rng=g, n_boot=200, n_boot_model=200, target_probs=probs,
            behaviour_probs=np.full((n, 3), 1 / 3)))
    rows = {r.estimator: r for r in coverage_table("toy", "fixed", truth, reps)}
    for name in ("ips", "snips", "dr"):
        assert rows[name].n_calibrated == 150, name
        assert rows[name].coverage_calibrated >= MIN_COVERAGE, (name, rows[name])
    assert rows["dm"].n_calibrated == 0  # DM's interval is never labelled 95% by default
    assert calibration_failures(list(rows.values())) == []


def test_runner_path_on_a_small_world_labels_and_flags():
    """The driver end to end on the quick two-stage world with small logs: every estimator
    present, DM labelled not calibrated in every log, the random target's thin mass
    flagged (its IPS interval not printed as 95%), the logging target's SNIPS labelled 95%."""
    calibration = pytest.importorskip("benchmarks.perf.calibration")
    world = calibration.build_world("two_stage", ["random", "logging"], truth_users=2000,
                                    n_train=500, n_heldout=500)
    rows = calibration.calibrate(world, 2)
    by = {(r.target, r.estimator): r for r in rows}
    assert sorted({r.estimator for r in rows}) == ["dm", "dr", "ips", "snips"]
    assert by[("random", "dm")].n_calibrated == 0 and by[("logging", "dm")].n_calibrated == 0
    assert by[("random", "ips")].thin_mass > 0.01
    assert by[("random", "ips")].n_calibrated == 0
    assert by[("logging", "snips")].n_calibrated == 2
    # two-stage IPS is labelled by the family's calibration (INTERVAL_CALIBRATED)
    assert by[("logging", "ips")].n_shown == 2 and by[("logging", "ips")].n_calibrated == 0


@pytest.mark.slow
@pytest.mark.parametrize(("family", "n_logs"), [("two_stage", 200), ("prompt", 100)])
def test_every_interval_labelled_calibrated_covers(family, n_logs):
    calibration = pytest.importorskip("benchmarks.perf.calibration")
    world = calibration.build_world(family)
    rows = calibration.calibrate(world, n_logs)
    print()
    print(format_table(rows))
    assert {r.n_logs for r in rows} == {n_logs}
    assert calibration_failures(rows) == []
