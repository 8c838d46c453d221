"""Session estimators: padding, hand-computed PDIS/WPDIS/DR/DM, support, softening."""

from __future__ import annotations

import numpy as np
import pytest

from recsim_envs.ope import (
    SessionLog,
    epsilon_soften,
    pdis,
    sequential_dm,
    sequential_dr,
    wpdis,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# Episode 7: two turns, w = [2, 1], rho = [2, 2], r = [1, 2].
# Episode 3: one turn, w = 0.5, rho = 0.5, r = 3. Rows deliberately out of order.
ROWS = {
    "episode_id": np.array([7, 3, 7]),
    "step": np.array([1, 0, 0]),
    "reward": np.array([2.0, 3.0, 1.0]),
    "pscore": np.array([0.5, 0.5, 0.5]),
    "target_prob": np.array([0.5, 0.25, 1.0]),
}
GAMMA = 0.5


def tiny_log() -> SessionLog:
    return SessionLog.from_rows(**ROWS, gamma=GAMMA)


def test_from_rows_pads_sorted_sessions():
    log = tiny_log()
    np.testing.assert_array_equal(log.episode_id, [3, 7])
    np.testing.assert_array_equal(log.mask, [[True, False], [True, True]])
    np.testing.assert_allclose(log.reward, [[3.0, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(log.rho, [[0.5, 0.5], [2.0, 2.0]])
    np.testing.assert_array_equal(log.lengths, [1, 2])
    np.testing.assert_allclose(log.to_padded([10.0, 20.0, 30.0]), [[20.0, 0.0], [30.0, 10.0]])
    assert log.support() == (2, pytest.approx(6.25 / 4.25))


def test_pdis_and_wpdis_equal_hand_computed_values():
    log = tiny_log()
    est = pdis(log, rng=rng(), min_ess=0.0)
    # e7: 2*1 + 0.5*2*2 = 4; e3: 0.5*3 = 1.5
    assert est.estimate == pytest.approx(2.75)
    assert (est.n, est.n_support, est.unit) == (2, 2, "sessions")
    assert est.ess == pytest.approx(6.25 / 4.25)
    # t0: (2*1 + 0.5*3) / 2.5 = 1.4; t1: ended e3 keeps rho 0.5, adds 0: 0.5 * 4 / 2.5 = 0.8
    assert wpdis(log, rng=rng(), min_ess=0.0).estimate == pytest.approx(2.2)


def test_sequential_dr_and_dm_equal_hand_computed_values():
    log = tiny_log()
    q = np.array([[2.0, 0.0], [0.5, 1.0]])
    v = np.array([[1.0, 0.0], [0.4, 0.8]])
    # e3: 0.5*(3-2) + 1.0 = 1.5; e7: 2*(1-0.5) + 0.4 + 0.5*(2*(2-1) + 2*0.8) = 3.2
    est = sequential_dr(log, q, v, rng=rng(), min_ess=0.0)
    assert est.estimate == pytest.approx(2.35)
    assert "conditional on the fitted Q-function" in est.interval
    dm_est = sequential_dm(v[:, 0], rng=rng(), log=log)
    assert dm_est.estimate == pytest.approx(0.7)
    assert dm_est.note.startswith("model-based") and dm_est.n_support == 2
    assert "conditional on the fitted Q-function" in dm_est.interval


def test_on_policy_weights_make_every_estimator_the_mean_discounted_return():
    g = rng(3)
    lengths = g.integers(1, 6, size=40)
    ep = np.repeat(np.arange(40), lengths)
    step = np.concatenate([np.arange(k) for k in lengths])
    reward = g.normal(size=len(ep))
    p = g.uniform(0.1, 1.0, size=len(ep))
    log = SessionLog.from_rows(ep, step, reward, p, p, gamma=0.9)
    truth = np.bincount(ep, weights=0.9**step * reward).mean()
    for fn in (pdis, wpdis):
        est = fn(log, rng=rng(), n_boot=200)
        assert est.estimate == pytest.approx(truth)
        assert est.ess == pytest.approx(40.0)
        assert est.ci_low <= est.estimate <= est.ci_high


@pytest.mark.parametrize("fn", [pdis, wpdis])
def test_zero_weights_give_no_support_never_zero(fn):
    rows = {**ROWS, "target_prob": np.zeros(3)}
    est = fn(SessionLog.from_rows(**rows), rng=rng(), min_ess=0.0)
    assert est.estimate is None and est.ci_low is None
    assert est.n_support == 0 and est.note.startswith("no support")


def test_small_ess_is_shown_as_low_ess_with_a_warning_and_not_calibrated():
    log = tiny_log()
    q = v = np.zeros((2, 2))
    for est in (pdis(log, rng=rng()), wpdis(log, rng=rng()),
                sequential_dr(log, q, v, rng=rng())):
        assert est.estimate is not None and est.status == "low_ess"
        assert est.note.startswith("low ESS: 1.47 < 10") and not est.calibrated
    assert sequential_dm(np.zeros(2), rng=rng(), log=log).estimate == 0.0


@pytest.mark.parametrize("fn", [pdis, wpdis])
def test_mass_on_items_the_behaviour_never_takes_is_no_support(fn):
    est = fn(tiny_log(), rng=rng(), unsupported_mass=0.2)
    assert est.estimate is None and est.status == "no_support"
    assert est.unsupported_mass == pytest.approx(0.2) and "0.2 of its mass" in est.note


def test_supported_is_labelled_calibrated_and_models_held_fixed_are_not():
    log = SessionLog.from_rows(np.repeat(np.arange(20), 2), np.tile([0, 1], 20),
                               np.ones(40), np.full(40, 0.5), np.full(40, 0.5))
    assert pdis(log, rng=rng()).calibrated and wpdis(log, rng=rng()).calibrated
    zero = np.zeros(log.mask.shape)
    assert not sequential_dr(log, zero, zero, rng=rng()).calibrated
    assert not sequential_dm(np.zeros(20), rng=rng(), log=log).calibrated


def test_wpdis_is_undefined_when_every_running_session_has_zero_weight_at_a_turn():
    # Both sessions run two turns; the target never takes the second logged action.
    log = SessionLog.from_rows([0, 0, 1, 1], [0, 1, 0, 1], [1.0, 1.0, 1.0, 1.0],
                               [0.5] * 4, [0.5, 0.0, 0.5, 0.0])
    est = wpdis(log, rng=rng(), min_ess=0.0)
    assert est.estimate is None and "turn 1" in est.note
    assert pdis(log, rng=rng(), min_ess=0.0).estimate == pytest.approx(1.0)


def test_wpdis_drops_undefined_bootstrap_replicates():
    # Session 0 runs two turns with zero weight at turn 1; session 1 ends after turn 0 with
    # rho = 1, so the full log is defined but a resample of session 0 alone is not.
    log = SessionLog.from_rows([0, 0, 1], [0, 1, 0], [1.0, 1.0, 1.0], [0.5] * 3,
                               [0.5, 0.0, 0.5])
    est = wpdis(log, rng=rng(), n_boot=200, min_ess=0.0)
    assert est.estimate == pytest.approx(1.0)
    assert "were left out of the interval" in est.note
    assert est.ci_low == pytest.approx(1.0) and est.ci_high == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("steps", "what"),
    [([0, 2], "gap"), ([0, 0], "duplicate"), ([1, 2], "not from 0")],
)
def test_incomplete_or_broken_sessions_name_the_episode(steps, what):
    ep = [1, 1, 5, 5]
    with pytest.raises(ValueError, match="episode 5"):
        SessionLog.from_rows(ep, [0, 1, *steps], np.zeros(4), np.ones(4), np.ones(4))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"reward": np.array([2.0, np.nan, 1.0])}, "reward"),
        ({"pscore": np.array([0.5, 0.0, 0.5])}, "pscore"),
        ({"target_prob": np.array([0.5, 0.25])}, "target_prob"),
        ({"step": np.array([1.5, 0.0, 0.0])}, "step"),
    ],
)
def test_bad_rows_raise_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SessionLog.from_rows(**{**ROWS, **kwargs})


def test_bad_padded_inputs_raise():
    log = tiny_log()
    with pytest.raises(ValueError, match="q_logged"):
        sequential_dr(log, np.zeros((2, 3)), np.zeros((2, 2)), rng=rng())
    with pytest.raises(ValueError, match="v0"):
        sequential_dm(np.zeros(3), rng=rng(), log=log)


def test_same_seed_gives_identical_results():
    g = rng(8)
    ep = np.repeat(np.arange(60), 3)
    step = np.tile(np.arange(3), 60)
    args = (ep, step, g.normal(size=180), g.uniform(0.2, 1, 180), g.uniform(0, 1, 180))
    log = SessionLog.from_rows(*args, gamma=0.95)
    q, v = g.normal(size=(60, 3)), g.normal(size=(60, 3))

    def run(seed):
        r = rng(seed)
        return [pdis(log, rng=r, min_ess=0.0).to_dict(), wpdis(log, rng=r, min_ess=0.0).to_dict(),
                sequential_dr(log, q, v, rng=r, min_ess=0.0).to_dict(),
                sequential_dm(v[:, 0], rng=r).to_dict()]

    assert run(4) == run(4)
    assert run(4) != run(5)


def test_epsilon_soften_mixes_with_uniform():
    out = epsilon_soften(np.array([0, 2]), 0.3, n_actions=3)
    np.testing.assert_allclose(out, [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])
    probs = np.array([[0.5, 0.5, 0.0]])
    np.testing.assert_allclose(epsilon_soften(probs, 0.0), probs)
    np.testing.assert_allclose(epsilon_soften(probs, 1.0), np.full((1, 3), 1 / 3))
    with pytest.raises(ValueError, match="epsilon"):
        epsilon_soften(probs, 1.5)
    with pytest.raises(ValueError, match="n_actions"):
        epsilon_soften(np.array([0, 1]), 0.1)
    with pytest.raises(ValueError, match="sum to 1"):
        epsilon_soften(np.array([[0.5, 0.2]]), 0.1)
