"""One-step off-policy estimators: hand-computed values, support rule, intervals, inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recsim_envs.ope import (
    OffPolicyEstimate,
    bandit_estimates,
    dm,
    dr,
    effective_sample_size,
    importance_weights,
    ips,
    kernel_is,
    snips,
)
from recsim_envs.ope import bootstrap as bootstrap_module

# Four rounds: w = [2, 0, 2, 0.5].
TARGET = np.array([1.0, 0.0, 0.5, 0.5])
PSCORE = np.array([0.5, 0.5, 0.25, 1.0])
REWARD = np.array([1.0, 1.0, 0.0, 2.0])
DM_TERMS = np.array([0.5, 0.2, 0.3, 1.0])
Q_LOGGED = np.array([0.8, 0.1, 0.4, 1.5])


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_importance_weights_and_ess_match_the_formulas():
    w = importance_weights(TARGET, PSCORE)
    np.testing.assert_allclose(w, [2.0, 0.0, 2.0, 0.5])
    assert effective_sample_size(w) == pytest.approx(4.5**2 / 8.25)
    assert effective_sample_size(np.ones(7)) == pytest.approx(7.0)
    assert effective_sample_size([3.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert effective_sample_size(np.zeros(5)) == 0.0


def test_estimators_equal_hand_computed_values():
    kw = {"rng": rng(), "min_ess": 0.0}
    assert ips(TARGET, PSCORE, REWARD, **kw).estimate == pytest.approx(3.0 / 4)
    assert snips(TARGET, PSCORE, REWARD, **kw).estimate == pytest.approx(3.0 / 4.5)
    assert dm(DM_TERMS, rng=rng()).estimate == pytest.approx(0.5)
    # dm + w (r - q) = [0.9, 0.2, -0.5, 1.25]
    assert dr(TARGET, PSCORE, REWARD, DM_TERMS, Q_LOGGED, **kw).estimate == pytest.approx(0.4625)
    # kernel IS: w = [0.5, 2]
    assert kernel_is([1.0, 2.0], [2.0, 1.0], [1.0, 1.0], **kw).estimate == pytest.approx(1.25)


def test_result_reports_ess_support_unit_and_interval():
    est = ips(TARGET, PSCORE, REWARD, rng=rng(), min_ess=0.0, n_boot=300)
    assert (est.n, est.n_support, est.unit) == (4, 3, "rounds")
    assert est.ess == pytest.approx(20.25 / 8.25)
    assert est.interval == "percentile bootstrap over held-out rounds (300 replicates)"
    assert est.ci_low <= est.estimate <= est.ci_high
    assert est.supported


@pytest.mark.parametrize("fn", [ips, snips])
def test_all_zero_weights_give_no_support_never_zero(fn):
    est = fn(np.zeros(50), np.full(50, 0.5), np.ones(50), rng=rng(), min_ess=0.0)
    assert est.estimate is None and est.ci_low is None and est.ci_high is None
    assert not est.supported
    assert est.n_support == 0 and est.ess == 0.0
    assert est.note.startswith("no support")


def test_dr_without_support_is_none():
    est = dr(np.zeros(4), PSCORE, REWARD, DM_TERMS, Q_LOGGED, rng=rng())
    assert est.estimate is None and est.n_support == 0
    assert "conditional on the fitted reward model" in est.interval


def test_small_ess_is_shown_as_low_ess_with_a_warning():
    est = ips(TARGET, PSCORE, REWARD, rng=rng())  # ESS 2.45 < default 10
    assert est.estimate == pytest.approx(0.75) and est.supported
    assert est.status == "low_ess" and not est.calibrated
    assert est.note.startswith("low ESS: 2.45 < 10 effective rounds")
    assert est.ci_low <= est.estimate <= est.ci_high
    assert est.n_support == 3


def test_dm_is_never_suppressed_but_reports_the_weights():
    est = dm(DM_TERMS, rng=rng(), weights=np.zeros(4))
    assert est.estimate == pytest.approx(0.5)
    assert est.ess == 0.0 and est.n_support == 0
    assert est.note.startswith("model-based")
    assert dm(DM_TERMS, rng=rng()).ess is None


def _noisy_toy(seed: int, n_train: int = 200, n_test: int = 100):
    """A constant reward model (the training mean) on noisy rewards: refitting must matter."""
    g = np.random.default_rng(seed)
    train_r = 1.0 + g.normal(size=n_train)
    test_r = 1.0 + g.normal(size=n_test)
    calls = []

    def refit(r: np.random.Generator):
        calls.append(1)
        q = train_r[r.integers(0, n_train, n_train)].mean()
        return np.full(n_test, q), np.full(n_test, q)

    q = train_r.mean()
    return test_r, np.full(n_test, q), refit, calls


def test_refit_is_called_n_boot_times_and_widens_the_interval():
    test_r, q, refit, calls = _noisy_toy(1)
    cond = dm(q, rng=rng(), n_boot=100)
    refit_est = dm(q, refit=refit, rng=rng(), n_boot=100)
    assert len(calls) == 100
    # The held-out DM terms are constant: conditional on the model the interval is a point,
    # while refitting shows the model's own sampling error (sd 1 / sqrt(200) ~ 0.07).
    assert cond.ci_high - cond.ci_low == pytest.approx(0.0)
    assert refit_est.ci_high - refit_est.ci_low > 0.15
    assert refit_est.estimate == cond.estimate
    assert "conditional on the fitted reward model" in cond.interval
    assert "refit on resampled training rounds" in refit_est.interval

    n = len(test_r)
    ones = np.ones(n)
    calls.clear()
    dr_cond = dr(ones, np.full(n, 0.5), test_r, q, q, rng=rng(), n_boot=50, min_ess=0.0)
    dr_refit = dr(ones, np.full(n, 0.5), test_r, q, q, refit=refit, rng=rng(), n_boot=50,
                  min_ess=0.0)
    assert len(calls) == 50
    assert dr_refit.estimate == dr_cond.estimate
    assert "refit" in dr_refit.interval and "conditional" in dr_cond.interval


def test_same_seed_gives_identical_results_and_different_seed_differs():
    g = rng(5)
    n = 300
    target, pscore = g.uniform(0, 1, n), g.uniform(0.2, 1, n)
    reward, dm_terms, q = g.normal(size=n), g.normal(size=n), g.normal(size=n)

    def run(seed):
        out = bandit_estimates(target, pscore, reward, dm_terms=dm_terms, q_logged=q,
                               rng=rng(seed), n_boot=200, n_boot_model=100)
        return {k: v.to_dict() for k, v in out.items()}

    first = run(11)
    assert set(first) == {"ips", "snips", "dm", "dr"}
    assert first == run(11)
    assert first != run(12)


def test_to_dict_is_json_safe_and_round_trips():
    for est in (ips(TARGET, PSCORE, REWARD, rng=rng(), min_ess=0.0),
                ips(TARGET, PSCORE, REWARD, rng=rng())):
        d = json.loads(json.dumps(est.to_dict()))
        assert OffPolicyEstimate.from_dict(d) == est
    with pytest.raises(ValueError, match="unknown"):
        OffPolicyEstimate.from_dict({**est.to_dict(), "extra": 1})


def test_no_support_constructor_and_validation():
    est = OffPolicyEstimate.no_support("pdis", n=5, unit="sessions", n_support=0, ess=0.0,
                                       interval="x", note="no support: y")
    assert est.estimate is None and not est.supported
    with pytest.raises(ValueError, match="unit"):
        OffPolicyEstimate("ips", 1.0, 0.0, 2.0, 3.0, 1, 2, "steps", "x")
    with pytest.raises(ValueError, match="n_support"):
        OffPolicyEstimate("ips", 1.0, 0.0, 2.0, 3.0, 5, 2, "rounds", "x")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"pscore": PSCORE[:3]}, "pscore"),
        ({"pscore": np.array([0.5, 0.0, 0.25, 1.0])}, "pscore"),
        ({"reward": np.array([1.0, np.nan, 0.0, 2.0])}, "reward"),
        ({"target_prob": np.array([1.5, 0.0, 0.5, 0.5])}, "target_prob"),
        ({"target_prob": TARGET[None]}, "target_prob"),
        ({"dm_terms": DM_TERMS[:2]}, "dm_terms"),
        ({"q_logged": np.array([0.8, np.inf, 0.4, 1.5])}, "q_logged"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(kwargs, name):
    args = {"target_prob": TARGET, "pscore": PSCORE, "reward": REWARD, "dm_terms": DM_TERMS,
            "q_logged": Q_LOGGED, **kwargs}
    with pytest.raises(ValueError, match=name):
        dr(**args, rng=rng(), min_ess=0.0)


def test_bad_keywords_raise():
    with pytest.raises(TypeError, match="rng"):
        ips(TARGET, PSCORE, REWARD, rng=0)
    with pytest.raises(ValueError, match="n_boot"):
        ips(TARGET, PSCORE, REWARD, rng=rng(), n_boot=0)
    with pytest.raises(ValueError, match="behaviour_density"):
        kernel_is([1.0], [0.0], [1.0], rng=rng())
    with pytest.raises(ValueError, match="q_logged"):
        bandit_estimates(TARGET, PSCORE, REWARD, q_logged=Q_LOGGED, rng=rng())
    with pytest.raises(ValueError, match="refit"):
        dm(DM_TERMS, refit=lambda r: np.zeros(4), rng=rng())


def test_bootstrap_blocks_cover_all_replicates(monkeypatch):
    monkeypatch.setattr(bootstrap_module, "_BLOCK_ENTRIES", 25)
    blocks = list(bootstrap_module.bootstrap_counts(rng(), 10, 7))
    assert [b.shape for b in blocks] == [(2, 10)] * 3 + [(1, 10)]
    assert all(np.all(b.sum(axis=1) == 10) for b in blocks)


def test_ips_interval_covers_the_true_value_of_a_three_armed_bandit():
    means = np.array([0.2, 0.5, 0.8])
    target = np.array([0.6, 0.3, 0.1])
    truth = float(target @ means)
    g = rng(2024)
    covered = 0
    for _ in range(50):
        a = g.integers(0, 3, 400)  # uniform behaviour
        r = g.binomial(1, means[a]).astype(float)
        est = ips(target[a], np.full(400, 1 / 3), r, rng=g, n_boot=300)
        covered += est.ci_low <= truth <= est.ci_high
    assert covered >= 43  # nominal 95%: 47.5 expected
