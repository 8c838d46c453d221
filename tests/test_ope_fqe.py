"""Fitted-Q evaluation on a two-state chain with a hand-computed Q, and DR with an exact Q."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsim_envs.ope import SessionLog, sequential_dm, sequential_dr
from recsim_envs.ope.fqe import MLPQ, FittedQEvaluation, FQEConfig, LinearQ

# Chain: s0 --a--> s1 --a--> terminal. Rewards R[s, a]; target pi(.|s).
R = np.array([[1.0, 0.0], [2.0, 5.0]])
PI = np.array([[0.3, 0.7], [0.6, 0.4]])
GAMMA = 0.9
# Q(s1, .) = [2, 5], V(s1) = 3.2; Q(s0, .) = R[0] + 0.9 * 3.2 = [3.88, 2.88], V(s0) = 3.18.
Q_TRUE = np.array([[3.88, 2.88], [2.0, 5.0]])
V_TRUE = np.array([3.18, 3.2])
ONE_HOT = np.eye(2)


def chain_transitions(n_copies: int = 3):
    """Every (s, a) pair n_copies times; rewards at (s0, a0) alternate 0 and 2 (mean 1)."""
    s = np.tile([0, 0, 1, 1], n_copies)
    a = np.tile([0, 1, 0, 1], n_copies)
    r = R[s, a].copy()
    first = np.flatnonzero((s == 0) & (a == 0))
    r[first] = np.where(np.arange(len(first)) % 2 == 0, 0.0, 2.0)
    if len(first) % 2:  # keep the mean at exactly 1
        r[first[-1]] = 1.0
    done = s == 1
    next_s = np.where(done, 0, 1)  # arbitrary after a terminal step: done masks it
    return ONE_HOT[s], a, r, ONE_HOT[next_s], done, PI[next_s]


def test_fqe_with_tabular_linear_q_equals_the_hand_computed_values():
    fqe = FittedQEvaluation(LinearQ(2, ridge=0.0), FQEConfig(n_iterations=10, gamma=GAMMA))
    fqe.fit(*chain_transitions())
    np.testing.assert_allclose(fqe.q_values(ONE_HOT), Q_TRUE, atol=1e-8)
    np.testing.assert_allclose(fqe.value(ONE_HOT, PI), V_TRUE, atol=1e-8)
    # Q_1 is already exact at s1, so the targets of Q_2 are final and tol=0 stops there.
    assert fqe.n_iterations_run == 2


def test_fqe_with_a_featuriser_and_ridge_is_close():
    fqe = FittedQEvaluation(LinearQ(2, featuriser=lambda x: 2.0 * x, ridge=1e-6),
                            FQEConfig(n_iterations=5, gamma=GAMMA))
    fqe.fit(*chain_transitions())
    np.testing.assert_allclose(fqe.q_values(ONE_HOT), Q_TRUE, atol=1e-5)


def chain_sessions(seed: int, n_sessions: int = 30):
    """Sessions s0 -> s1 with random logged actions and arbitrary (even wrong) weights."""
    g = np.random.default_rng(seed)
    a = g.integers(0, 2, size=(n_sessions, 2))
    ep = np.repeat(np.arange(n_sessions), 2)
    step = np.tile([0, 1], n_sessions)
    states = np.tile([0, 1], n_sessions)
    actions = a.ravel()
    reward = R[states, actions]
    pscore = g.uniform(0.1, 1.0, size=2 * n_sessions)
    target_prob = g.uniform(0.0, 1.0, size=2 * n_sessions)
    log = SessionLog.from_rows(ep, step, reward, pscore, target_prob, gamma=GAMMA)
    return log, states, actions


def test_sequential_dr_with_an_exact_q_equals_the_true_value_whatever_the_weights():
    fqe = FittedQEvaluation(LinearQ(2, ridge=0.0), FQEConfig(n_iterations=10, gamma=GAMMA))
    fqe.fit(*chain_transitions())
    for seed in (0, 1):
        log, states, actions = chain_sessions(seed)
        q = fqe.q_values(ONE_HOT[states])
        q_logged = log.to_padded(q[np.arange(len(states)), actions])
        v = log.to_padded(fqe.value(ONE_HOT[states], PI[states]))
        est = sequential_dr(log, q_logged, v, rng=np.random.default_rng(0), min_ess=0.0)
        assert est.estimate == pytest.approx(V_TRUE[0], abs=1e-8)
        assert est.ci_high - est.ci_low == pytest.approx(0.0, abs=1e-8)
        v0 = fqe.value(ONE_HOT[np.zeros(log.n_sessions, int)], PI[np.zeros(log.n_sessions, int)])
        dm_est = sequential_dm(v0, rng=np.random.default_rng(0), log=log)
        assert dm_est.estimate == pytest.approx(V_TRUE[0], abs=1e-8)


def _fit_mlp(seed: int) -> FittedQEvaluation:
    model = MLPQ(2, hidden=16, epochs=60, lr=0.05, batch_size=8, seed=seed)
    return FittedQEvaluation(model, FQEConfig(n_iterations=4, gamma=GAMMA)).fit(
        *chain_transitions(2))


def test_mlp_q_is_deterministic_and_learns_the_chain():
    first, second = _fit_mlp(0), _fit_mlp(0)
    np.testing.assert_array_equal(first.q_values(ONE_HOT), second.q_values(ONE_HOT))
    np.testing.assert_allclose(first.q_values(ONE_HOT), Q_TRUE, atol=0.02)
    other = _fit_mlp(1).q_model.net[0].weight
    assert not torch.equal(other, first.q_model.net[0].weight)


@pytest.mark.parametrize(
    "kwargs", [{"n_iterations": 0}, {"gamma": 1.5}, {"tol": -1.0}, {"n_iterations": 2.5}]
)
def test_fqe_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        FQEConfig(**kwargs)


def test_fqe_fit_rejects_bad_inputs():
    s, a, r, s2, done, probs = chain_transitions()
    fqe = FittedQEvaluation(LinearQ(2))
    with pytest.raises(ValueError, match="done"):
        fqe.fit(s, a, r, s2, done.astype(float), probs)
    with pytest.raises(ValueError, match="next_target_probs"):
        fqe.fit(s, a, r, s2, done, probs * 2)
    with pytest.raises(ValueError, match="actions"):
        fqe.fit(s, a + 2, r, s2, done, probs)
    with pytest.raises(ValueError, match="next_states"):
        fqe.fit(s, a, r, s2[:-1], done, probs)
    with pytest.raises(RuntimeError, match="before fit"):
        fqe.q_values(s)
    with pytest.raises(ValueError, match="ridge"):
        LinearQ(2, ridge=-1.0)
    with pytest.raises(ValueError, match="hidden"):
        MLPQ(2, hidden=0)
