"""Calibration of the sequential estimates through the runner's path
(:mod:`recsim_envs.ope.calibration_sessions`): a fast subset, and the slow coverage test.

Rule checked (documented in docs/ope.md, "Sequential estimates"): every interval labelled
``calibrated`` - an importance-weighted estimate (PDIS, WPDIS, DR with exact weights) with
status "supported", and the model-based rollout in ``SequentialRec-v0`` - covers the true
value in at least 90% of replicate held-out logs. DM and low-ESS intervals are labelled not
calibrated and are reported, not asserted.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.perf.calibration_sessions import DEFAULT_AGENTS, make_agents
from recsim_envs.ope.calibration_sessions import (
    SessionCalibrationConfig,
    coverage_table,
    markdown,
    replicate_rows,
    setup,
    wilson,
)

SMALL = SessionCalibrationConfig(env_kwargs={"n_users": 40, "n_items": 30, "world_seed": 1},
                                 n_train=20, n_sessions=30, n_logs=2, sessions_per_user=4)


def test_a_replicate_estimates_the_behaviour_policy_on_the_evaluation_users():
    env, policy, deployment, handles, truth, se = setup(SMALL, make_agents(["seq_logging"], 0))
    rows = replicate_rows(SMALL, env, policy, deployment, handles, truth, range(SMALL.n_logs))
    by = {(r["log"], r["estimator"]): r for r in rows}
    assert {e for _, e in by} == {"pdis", "wpdis", "dm", "dr", "rollout"}
    for k in range(SMALL.n_logs):
        seed = 10_000 * (SMALL.seed + 1) + k
        log = env.unwrapped.log_sessions(policy, SMALL.n_sessions,
                                         rng=np.random.default_rng(seed), seed=seed,
                                         users="test")
        # the target is the behaviour policy: every weight is 1, PDIS is the mean return
        mean_return = log.reward.sum() / SMALL.n_sessions
        assert by[(k, "pdis")]["estimate"] == pytest.approx(mean_return)
        assert by[(k, "pdis")]["calibrated"] and not by[(k, "dm")]["calibrated"]
        for est in ("pdis", "wpdis", "dm", "dr", "rollout"):
            r = by[(k, est)]
            assert r["covered"] == (r["ci_low"] <= truth["seq_logging"] <= r["ci_high"])
    table = coverage_table(rows)
    assert {r["estimator"] for r in table} == {"pdis", "wpdis", "dm", "dr", "rollout"}
    assert all(r["logs"] == SMALL.n_logs for r in table)
    assert "| seq_logging |" in markdown(table)


def test_wilson_interval_matches_a_hand_computed_case():
    lo, hi = wilson(45, 50)
    assert lo == pytest.approx(0.7864, abs=1e-3) and hi == pytest.approx(0.9565, abs=1e-3)


def test_config_refuses_too_few_sessions_to_cross_fit():
    with pytest.raises(ValueError, match="two cross-fitting folds"):
        SessionCalibrationConfig(n_sessions=3)


@pytest.mark.slow
def test_every_interval_labelled_calibrated_covers_at_least_90_percent():
    """50 replicate logs of the quick suite's size; behaviour, two deterministic agents, one
    learned offline (behaviour cloning) and one trained online (dqn, the quick suite's
    budget), agents fitted once (about 20 CPU-minutes)."""
    config = SessionCalibrationConfig(n_logs=50)
    env, policy, deployment, handles, truth, _ = setup(config, make_agents(
        DEFAULT_AGENTS.split(","), config.seed))
    rows = replicate_rows(config, env, policy, deployment, handles, truth, range(config.n_logs))
    print("\n" + markdown(coverage_table(rows)))
    labelled = [r for r in rows if r["calibrated"] and r["estimate"] is not None]
    assert labelled, "no interval was labelled calibrated: the behaviour target must be"
    for key in sorted({(r["agent"], r["estimator"]) for r in labelled}):
        sel = [r for r in labelled if (r["agent"], r["estimator"]) == key]
        coverage = np.mean([r["covered"] for r in sel])
        assert coverage >= 0.9, f"{key}: coverage {coverage:.2f} over {len(sel)} logs"
