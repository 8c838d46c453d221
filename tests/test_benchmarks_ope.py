"""Off-policy estimators: hand-computed values, unbiasedness on toy problems, two-stage
first-shown distributions and per-decision IS."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.families.sequential import per_decision_estimates
from benchmarks.families.two_stage import first_shown_distribution
from benchmarks.ope import gaussian_kernel, kernel_is_estimate, off_policy_estimates
from recsim_envs.ranker import shown_item_probability


def test_estimators_match_hand_computed_values():
    # Two actions; target always picks action 1.
    target = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    action = np.array([1, 0, 1])
    pscore = np.array([0.5, 0.5, 0.25])
    reward = np.array([1.0, 1.0, 0.0])
    q_hat = np.array([[0.2, 0.6], [0.2, 0.6], [0.2, 0.6]])
    est = off_policy_estimates(target, action, pscore, reward, q_hat)
    # w = [2, 0, 4]
    assert est["ips"].mean == pytest.approx((2 * 1 + 0 + 4 * 0) / 3)
    assert est["snips"].mean == pytest.approx(2 / 6)
    assert est["dm"].mean == pytest.approx(0.6)
    # DR = DM + mean(w (r - q(x, a))) = 0.6 + (2 * 0.4 + 0 + 4 * (-0.6)) / 3
    assert est["dr"].mean == pytest.approx(0.6 + (0.8 - 2.4) / 3)
    assert set(est) == {"ips", "snips", "dm", "dr"}
    assert est["ips"].ci_low < est["ips"].mean < est["ips"].ci_high


def test_estimates_recover_the_true_value_of_a_toy_bandit():
    rng = np.random.default_rng(0)
    n, k = 200_000, 4
    means = np.array([0.1, 0.3, 0.5, 0.7])
    behaviour = np.array([0.4, 0.3, 0.2, 0.1])
    target = np.array([0.1, 0.1, 0.2, 0.6])
    action = rng.choice(k, size=n, p=behaviour)
    reward = (rng.random(n) < means[action]).astype(float)
    q_bad = np.full((n, k), 0.4)  # a wrong reward model: DR stays unbiased, DM does not
    est = off_policy_estimates(np.tile(target, (n, 1)), action, behaviour[action], reward,
                               q_bad)
    truth = float(target @ means)
    for name in ("ips", "snips", "dr"):
        assert est[name].ci_low - 0.005 < truth < est[name].ci_high + 0.005, name
    assert abs(est["dm"].mean - truth) > 0.1


def test_bad_inputs_are_errors():
    with pytest.raises(ValueError, match="target_probs has shape"):
        off_policy_estimates(np.ones((2, 2)), np.array([0, 1, 1]), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        off_policy_estimates(np.ones((2, 2)) / 2, np.array([0, 1]), np.ones(2),
                             np.array([np.nan, 1.0]))


def test_first_shown_distribution_matches_the_exact_propensity():
    rng = np.random.default_rng(1)
    n, n_items, k = 6, 12, 3
    probs = rng.dirichlet(np.ones(n_items), size=n)
    scores = rng.normal(size=(n, n_items)).astype(np.float32)
    scores[:, 5] = scores[:, 4]  # a tie: broken towards the lower id
    dist = first_shown_distribution(probs, scores, k)
    assert dist.shape == (n, n_items)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0)
    for a in range(n_items):
        exact = shown_item_probability(probs, scores, np.full(n, a), k)
        np.testing.assert_allclose(dist[:, a], exact, rtol=1e-9, atol=1e-12)


def test_first_shown_distribution_agrees_with_simulation():
    rng = np.random.default_rng(2)
    probs = np.array([[0.5, 0.3, 0.2]])
    scores = np.array([[0.0, 2.0, 1.0]])  # ranker prefers 1, then 2, then 0
    draws = rng.choice(3, size=(200_000, 2), p=probs[0])
    best = np.where((draws == 1).any(1), 1, np.where((draws == 2).any(1), 2, 0))
    freq = np.bincount(best, minlength=3) / len(best)
    np.testing.assert_allclose(first_shown_distribution(probs, scores, 2)[0], freq, atol=0.005)
    # by hand: P(1) = 1 - 0.7^2, P(2) = 0.7^2 - 0.5^2, P(0) = 0.5^2
    np.testing.assert_allclose(first_shown_distribution(probs, scores, 2)[0],
                               [0.25, 0.51, 0.24])


def test_kernel_is_reduces_to_ratio_weighting():
    est = kernel_is_estimate(np.array([0.5, 1.0]), np.array([0.25, 1.0]), np.array([1.0, 3.0]))
    assert est.mean == pytest.approx((2 * 1 + 1 * 3) / 2)
    k = gaussian_kernel(np.zeros((1, 2)), np.array([[[0.0, 0.0], [2.0, 0.0]]]), tau=1.0)
    np.testing.assert_allclose(k, [[1.0, np.exp(-0.5)]])  # d = 2 / dim 2 = 1


def test_per_decision_is_by_hand():
    # Two complete sessions and one cut off by the end of the log (dropped).
    episode = np.array([0, 0, 1, 1, 1, 2])
    step = np.array([0, 1, 0, 1, 2, 0])
    ended = np.array([0, 1, 0, 0, 1, 0], dtype=bool)
    w = np.array([2.0, 0.5, 1.0, 3.0, 0.0, 9.0])
    r = np.array([1.0, 2.0, 1.0, 1.0, 5.0, 9.0])
    est = per_decision_estimates(w, r, episode, step, ended)
    # session 0: 2*1 + 1*2 = 4; session 1: 1*1 + 3*1 + 0*5 = 4
    assert est["ips"].mean == pytest.approx(4.0)
    # mean rho per turn: t0 (2+1)/2=1.5, t1 (1+3)/2=2, t2 (1+0)/2=0.5 (session 0 keeps rho=1)
    s0 = 2 * 1 / 1.5 + 1 * 2 / 2
    s1 = 1 * 1 / 1.5 + 3 * 1 / 2 + 0
    assert est["snips"].mean == pytest.approx((s0 + s1) / 2)
