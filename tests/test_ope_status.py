"""Support statuses, unsupported and thin masses, the calibrated label, old-row loading."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recsim_envs.ope import OffPolicyEstimate, bandit_estimates, dm, dr, ips, snips
from recsim_envs.ope.estimate import (
    THIN_MASS_FLAG,
    expected_ess,
    support_masses,
    support_status,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_support_status_names_each_case():
    assert support_status(50, 40.0, 10.0, "rounds") == ("supported", "")
    status, note = support_status(50, 4.0, 10.0, "rounds")
    assert status == "low_ess" and note.startswith("low ESS: 4 < 10 effective rounds")
    status, note = support_status(0, 0.0, 10.0, "sessions")
    assert status == "no_support" and "no held-out session" in note
    status, note = support_status(50, 40.0, 10.0, "rounds", unsupported_mass=0.25)
    assert status == "no_support" and "0.25 of its mass" in note
    # round-off on a zero entry is not unsupported mass
    assert support_status(50, 40.0, 10.0, "rounds", unsupported_mass=1e-15)[0] == "supported"


def test_support_masses_by_hand():
    # n = 2 contexts: thin threshold 1 / (10 * 2) = 0.05
    target = np.array([[0.5, 0.3, 0.2, 0.0], [0.0, 0.0, 0.6, 0.4]])
    behaviour = np.array([[0.0, 0.04, 0.96, 0.0], [0.5, 0.5, 0.0, 0.0]])
    unsupported, thin = support_masses(target, behaviour)
    assert unsupported == pytest.approx((0.5 + 1.0) / 2)
    assert thin == pytest.approx(0.3 / 2)
    # the threshold follows n: with n = 1 rounds, 0.04 < 0.1 still thin; with n = 1 and
    # behaviour 0.2 it is not
    assert support_masses(target, behaviour, n=1)[1] == pytest.approx(0.15)
    with pytest.raises(ValueError, match="n_contexts, n_actions"):
        support_masses(target, behaviour[:, :3])
    with pytest.raises(ValueError, match=">= 0"):
        support_masses(-target, behaviour)


def _uniform_log(n: int, n_actions: int, seed: int = 0):
    g = rng(seed)
    action = g.integers(0, n_actions, n)
    reward = g.binomial(1, 0.5, n).astype(float)
    return action, np.full(n, 1 / n_actions), reward


def test_unsupported_mass_from_the_behaviour_probabilities_gives_no_support():
    # Behaviour never takes action 2; the target puts 0.3 there. The sample cannot show this
    # (no logged round has action 2): only the full distributions can.
    n = 400
    g = rng(1)
    action = g.integers(0, 2, n)
    behaviour = np.tile([0.5, 0.5, 0.0], (n, 1))
    target = np.tile([0.35, 0.35, 0.3], (n, 1))
    reward = g.binomial(1, 0.5, n).astype(float)
    rows = np.arange(n)
    kw = {"target_probs": target, "behaviour_probs": behaviour}
    out = bandit_estimates(target[rows, action], np.full(n, 0.5), reward,
                           dm_terms=np.full(n, 0.5), q_logged=np.full(n, 0.5), rng=rng(), **kw)
    for name in ("ips", "snips", "dr"):
        est = out[name]
        assert est.status == "no_support" and est.estimate is None, name
        assert est.unsupported_mass == pytest.approx(0.3)
        assert "0.3 of its mass" in est.note
    # DM is never suppressed, but reports the mass
    assert out["dm"].supported and out["dm"].unsupported_mass == pytest.approx(0.3)
    # without the distributions the same sample looks supported (the old rule)
    plain = ips(target[rows, action], np.full(n, 0.5), reward, rng=rng())
    assert plain.status == "supported" and plain.unsupported_mass is None


def _thin_case(thin_target_mass: float, thin_p: float = 1 / (20 * 1000), seed: int = 3):
    n, n_actions = 1000, 3
    behaviour = np.tile([0.5 - thin_p, 0.5, thin_p], (n, 1))
    rest = (1 - thin_target_mass) / 2
    target = np.tile([rest, rest, thin_target_mass], (n, 1))
    g = rng(seed)
    action = g.choice(n_actions, size=n, p=behaviour[0])
    assert not np.any(action == 2)  # as in ~95% of such logs: the thin action is missing
    rows = np.arange(n)
    pscore = behaviour[rows, action]
    reward = g.binomial(1, 0.5, n).astype(float)
    kw = {"target_probs": target, "behaviour_probs": behaviour}
    return bandit_estimates(target[rows, action], pscore, reward, dm_terms=np.full(n, 0.5),
                            q_logged=np.full(n, 0.5), rng=rng(), **kw)


def test_thin_mass_flags_ips_and_snips_as_not_calibrated_but_not_dr():
    # 2% of the target's mass on the thin action: flagged (> 1%), while the ESS expected
    # under the behaviour (1000 / (1 + 0.02^2 / 5e-5) ~ 110) is still above 10
    out = _thin_case(0.02)
    assert out["ips"].thin_mass == pytest.approx(0.02)
    assert out["ips"].thin_mass > THIN_MASS_FLAG
    for name in ("ips", "snips"):
        assert out[name].supported and not out[name].calibrated, name
        assert "thin support" in out[name].note
    assert out["dr"].calibrated and "thin support" in out["dr"].note
    assert not out["dm"].calibrated  # DM's default: its bias is in no bootstrap


def test_a_low_expected_ess_makes_every_weighted_estimate_low_ess():
    """15% of the target's mass on an action of behaviour probability 2e-4 (not thin: a log
    of 1,000 rounds holds it with probability 0.18): E w^2 ~ 113, so the ESS expected under
    the behaviour is ~9 < 10, although this log (which missed the action) has an ESS near
    1,000 of its own."""
    out = _thin_case(0.15, thin_p=2e-4, seed=0)
    b, t = [0.5 - 2e-4, 0.5, 2e-4], [0.425, 0.425, 0.15]
    want = 1000 / sum(ti**2 / bi for ti, bi in zip(t, b, strict=True))
    assert expected_ess(np.tile(t, (1000, 1)), np.tile(b, (1000, 1))) == pytest.approx(want)
    assert want < 10
    assert out["ips"].thin_mass == 0.0
    for name in ("ips", "snips", "dr"):
        assert out[name].status == "low_ess" and out[name].ess > 900, name
        assert not out[name].calibrated and "expected under the behaviour" in out[name].note
    assert out["dm"].status == "supported"  # model-based: no support rule


def test_the_expected_ess_leaves_out_actions_a_log_almost_never_holds():
    """A one-hot target on an action of probability 1e-80 in some contexts: its weight is
    never seen, its share is the thin mass; the expected ESS is of the rest."""
    n = 1000
    behaviour = np.tile([1e-80, 0.5, 0.5 - 1e-80], (n, 1))
    target = np.tile([0.0, 1.0, 0.0], (n, 1))
    target[:5] = [1.0, 0.0, 0.0]  # 0.5% of contexts on the 1e-80 action
    assert support_masses(target, behaviour)[1] == pytest.approx(0.005)
    # E w = 0.995, E w^2 = 0.995 * 2: about n / 2 (not 0)
    assert expected_ess(target, behaviour) == pytest.approx(n * 0.995**2 / (0.995 * 2))


def test_below_the_thin_flag_nothing_is_flagged():
    n = 500
    action, pscore, reward = _uniform_log(n, 2)
    probs = np.tile([0.5, 0.5], (n, 1))
    est = snips(probs[np.arange(n), action], pscore, reward, rng=rng(), target_probs=probs,
                behaviour_probs=probs)
    assert est.status == "supported" and est.calibrated and est.note == ""
    assert est.unsupported_mass == 0.0 and est.thin_mass == 0.0


def test_masses_need_both_distributions_of_the_right_shape():
    action, pscore, reward = _uniform_log(10, 2)
    with pytest.raises(ValueError, match="both"):
        ips(np.full(10, 0.5), pscore, reward, rng=rng(), target_probs=np.full((10, 2), 0.5))
    with pytest.raises(ValueError, match="one distribution per held-out round"):
        ips(np.full(10, 0.5), pscore, reward, rng=rng(), target_probs=np.full((9, 2), 0.5),
            behaviour_probs=np.full((9, 2), 0.5))


def test_status_and_estimate_must_agree():
    with pytest.raises(ValueError, match="exactly when its status is 'no_support'"):
        OffPolicyEstimate("ips", None, None, None, 0.0, 0, 5, "rounds", "x")
    with pytest.raises(ValueError, match="exactly when"):
        OffPolicyEstimate("ips", 1.0, 0.0, 2.0, 3.0, 1, 5, "rounds", "x", status="no_support")
    with pytest.raises(ValueError, match="status"):
        OffPolicyEstimate("ips", 1.0, 0.0, 2.0, 3.0, 1, 5, "rounds", "x", status="thin")
    with pytest.raises(ValueError, match="thin_mass"):
        OffPolicyEstimate("ips", 1.0, 0.0, 2.0, 3.0, 1, 5, "rounds", "x", thin_mass=1.5)


def test_old_rows_without_the_new_fields_load():
    old_supported = {"estimator": "ips", "estimate": 0.4, "ci_low": 0.3, "ci_high": 0.5,
                     "ess": 50.0, "n_support": 20, "n": 30, "unit": "rounds",
                     "interval": "x", "note": ""}
    est = OffPolicyEstimate.from_dict(old_supported)
    assert est.status == "supported" and est.calibrated and est.thin_mass is None
    old_none = {**old_supported, "estimate": None, "ci_low": None, "ci_high": None,
                "note": "no support: ESS 2 < 10"}
    assert OffPolicyEstimate.from_dict(old_none).status == "no_support"
    with pytest.raises(ValueError, match="lacks"):
        OffPolicyEstimate.from_dict({k: v for k, v in old_supported.items() if k != "n"})


def test_new_fields_round_trip_through_json():
    est = dm(np.full(5, 0.3), rng=rng(), target_probs=np.full((5, 2), 0.5),
             behaviour_probs=np.tile([1.0, 0.0], (5, 1)))
    assert est.unsupported_mass == pytest.approx(0.5) and not est.calibrated
    back = OffPolicyEstimate.from_dict(json.loads(json.dumps(est.to_dict())))
    assert back == est


def test_dr_low_ess_is_shown():
    est = dr([1.0, 0.0, 0.5, 0.5], [0.5, 0.5, 0.25, 1.0], [1.0, 1.0, 0.0, 2.0],
             [0.5, 0.2, 0.3, 1.0], [0.8, 0.1, 0.4, 1.5], rng=rng())
    assert est.status == "low_ess" and est.estimate == pytest.approx(0.4625)
