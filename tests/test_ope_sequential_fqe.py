"""Cross-fitted linear FQE for sessions, its features, and the estimate path's population."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401  (registers the environments)
from recsim_envs.ope import SessionLog
from recsim_envs.ope.families.sequential import estimate, evaluation_log, session_features
from recsim_envs.ope.fqe import linear_fqe
from recsim_envs.ope.session_fqe import SessionFQEData, _fit_folds, _SessionStats, fqe_dm_dr
from recsim_envs.sequential.behaviour import sequential_behaviour_policy
from recsim_envs.sequential.view import SessionView

ENV_ID = "recsim_envs/SequentialRec-v0"
SMALL = {"n_users": 40, "n_items": 30, "world_seed": 3}


def q_features(s: np.ndarray, a: np.ndarray) -> np.ndarray:
    """One-hot of (state, action) over 2 states x 2 actions: a tabular linear class."""
    return np.eye(4)[2 * s + a]


def chain_data(n_sessions: int = 8) -> SessionFQEData:
    """s0 -a-> s1 -a-> end; reward R[s, a]; target pi(.|s); behaviour uniform."""
    R = np.array([[1.0, 0.0], [2.0, 5.0]])
    pi = np.array([[0.3, 0.7], [0.6, 0.4]])
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, size=(n_sessions, 2))
    s = np.tile([0, 1], (n_sessions, 1))
    rows = {"episode_id": np.repeat(np.arange(n_sessions), 2), "step": np.tile([0, 1], n_sessions)}
    r = R[s, a].ravel()
    log = SessionLog.from_rows(rows["episode_id"], rows["step"], r, np.full(2 * n_sessions, 0.5),
                               pi[s.ravel(), a.ravel()])
    feats = q_features(s.ravel(), a.ravel())
    expected = np.stack([pi[x] @ q_features(np.full(2, x), np.arange(2)) for x in (0, 1)])
    state = expected[s.ravel()]
    nxt = expected[np.minimum(s.ravel() + 1, 1)]
    cont = (s.ravel() == 0).astype(float)
    return SessionFQEData(log, feats, state, nxt, cont, np.arange(n_sessions) % 2)


def test_linear_fqe_with_a_tabular_class_gives_the_exact_q():
    data = chain_data()
    w = linear_fqe(data.features, data.next_features, data.rewards, data.continues,
                   np.ones(len(data.rewards)), ridge=1e-9, n_iterations=5)
    # Q(s1, .) = [2, 5], V(s1) = 3.2, Q(s0, .) = [1 + 3.2, 0 + 3.2]
    np.testing.assert_allclose(w, [4.2, 3.2, 2.0, 5.0], atol=1e-6)


def test_session_sums_solve_the_same_weighted_fit_as_the_rows():
    rng = np.random.default_rng(1)
    data = chain_data(10)
    data = SessionFQEData(data.log, data.features + rng.normal(0, 0.1, data.features.shape),
                          data.state_features, data.next_features, data.continues, data.folds)
    weights = rng.integers(0, 3, size=10).astype(float)
    direct = linear_fqe(data.features, data.next_features, data.rewards, data.continues,
                        weights[data.log.row_session], ridge=0.1, n_iterations=7)
    by_session = _SessionStats(data).solve(weights, ridge=0.1, n_iterations=7)
    np.testing.assert_allclose(by_session, direct, rtol=1e-9, atol=1e-9)


def test_cross_fitting_never_scores_a_session_with_a_model_that_saw_its_rewards():
    data = chain_data(12)
    q, _ = _fit_folds(data, _SessionStats(data), np.ones(12), 0.1, 5)
    fold0 = data.folds[data.log.row_session] == 0
    reward = data.log.reward.copy()
    reward[data.folds == 0] += 100.0  # change only fold 0's rewards
    log = SessionLog(data.log.episode_id, reward, data.log.pscore, data.log.target_prob,
                     data.log.mask, data.log.gamma, data.log.row_session, data.log.row_turn)
    moved = SessionFQEData(log, data.features, data.state_features, data.next_features,
                           data.continues, data.folds)
    q2, _ = _fit_folds(moved, _SessionStats(moved), np.ones(12), 0.1, 5)
    np.testing.assert_allclose(q2[fold0], q[fold0])  # fold 0 is scored by fold 1's model
    assert not np.allclose(q2[~fold0], q[~fold0])


def test_dm_and_dr_with_a_tabular_class_find_the_value_and_say_what_they_cover():
    data = chain_data(40)
    dm, dr = fqe_dm_dr(data, rng=np.random.default_rng(0), n_boot=50, ridge=1e-8)
    # V(s0) = 0.3 * 4.2 + 0.7 * 3.2 = 3.5 for every session: the tabular class is exact
    assert dm.estimate == pytest.approx(3.5, abs=1e-6)
    assert dr.estimate == pytest.approx(3.5, abs=1e-6)
    assert not dm.calibrated and "refitted" in dm.interval
    assert dr.status == "supported" and dr.calibrated


@pytest.fixture(scope="module")
def world():
    env = gym.make(ENV_ID, **SMALL)
    policy = sequential_behaviour_policy(env, 0.5, seed=0)
    return env, policy


def test_the_features_quit_rule_matches_the_logged_terminations(world):
    env, policy = world
    log = env.unwrapped.log_sessions(policy, 60, rng=np.random.default_rng(1), seed=1)
    view = SessionView.of(log)
    feats = session_features(log)
    _, _, items, _ = feats.layout.split(log.context)
    real = items < feats.layout.n_items
    cats = np.where(real, feats.cat[np.where(real, items, 0)], -1)
    quits = feats.quits(items, cats)[np.arange(len(log)), log.action]
    np.testing.assert_array_equal(quits, view.terminated)
    assert view.terminated.any()


def test_held_out_sessions_come_from_the_population_asked_for(world):
    env, policy = world
    base = env.unwrapped
    log = base.log_sessions(policy, 20, rng=np.random.default_rng(2), seed=2, users="test")
    assert log.meta.info["users"] == "test"
    assert np.isin(log.context[:, 0].astype(int), base.world.test_users).all()
    with pytest.raises(ValueError, match="'train' logs the users agents fit on"):
        base.log_sessions(policy, 5, rng=np.random.default_rng(2), seed=2, users="eval")


def test_the_estimate_path_relogs_training_logs_from_the_evaluation_users(world):
    from recsim_envs.evaluation import AgentHandle, Deployment

    env, policy = world
    base = env.unwrapped
    train_log = base.log_sessions(policy, 12, rng=np.random.default_rng(5), seed=5)
    again = evaluation_log(env, policy, train_log)
    assert again.meta.info["users"] == "test" and again.meta.seed == 5
    assert len(np.unique(SessionView.of(again).episode_id)) == 12
    assert evaluation_log(env, policy, again) is again

    class First:  # deterministic: always item 0
        def fit(self, dataset, deployment=None):
            return self

        def act(self, obs):
            return np.zeros(len(obs), np.int64)

    handle = AgentHandle(First(), name="first")
    with_env = estimate(handle, train_log, Deployment("sequential", behaviour=policy),
                        np.random.default_rng(0), env=env)
    without = estimate(handle, train_log, Deployment("sequential", behaviour=policy),
                       np.random.default_rng(0))
    assert "evaluation (test) users" in with_env["dm"].note
    assert "train users the log comes from" in without["dm"].note
