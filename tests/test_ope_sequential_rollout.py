"""The model-based rollout estimate of sessions (recsim_envs.ope.session_model)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401  (registers the environments)
from recsim_envs.evaluation import AgentHandle
from recsim_envs.ope.families.sequential import rollout, session_rules
from recsim_envs.ope.session_model import RatingModel
from recsim_envs.ope.session_rollout import simulate
from recsim_envs.sequential.behaviour import sequential_behaviour_policy
from recsim_envs.sequential.view import SessionView

ENV_ID = "recsim_envs/SequentialRec-v0"
SMALL = {"n_users": 40, "n_items": 30, "world_seed": 3}


class PopularSafe:
    """Deterministic: the most popular item the stated rule keeps the session going on
    (reads the recent items only, never the ratings)."""

    def __init__(self, env: gym.Env) -> None:
        self.dyn, self.pop = env.unwrapped._dyn, env.unwrapped.world.item_popularity
        self.k = env.unwrapped.layout.history_len
        self.n_items = env.unwrapped.world.n_items

    def fit(self, dataset, deployment=None):
        return self

    def act(self, obs: np.ndarray) -> np.ndarray:
        items = obs[:, -2 * self.k:-self.k].astype(np.int64)
        hist = np.concatenate([np.full((len(obs), self.dyn.L - self.k), self.n_items), items],
                              axis=1)
        safe = self.dyn.safe_items(hist)
        return np.argmax(np.where(safe, self.pop[None, :], -np.inf), axis=1)


class FeedbackReader(PopularSafe):
    """Deterministic, and its choice depends on the last rating it was given."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        base = super().act(obs)
        return np.where(obs[:, -1] >= 4, base, (base + 7) % self.n_items)


def _log(env: gym.Env, n: int, seed: int = 0):
    policy = sequential_behaviour_policy(env, 0.5, seed=0)
    return env.unwrapped.log_sessions(policy, n, rng=np.random.default_rng(seed), seed=seed,
                                      users="test")


def _true_returns(env: gym.Env, agent, users: np.ndarray) -> np.ndarray:
    """Each user's session return under a deterministic agent in the world itself."""
    dyn = env.unwrapped._dyn
    hist, fb = dyn.empty_history(len(users))
    t = np.zeros(len(users), np.int64)
    out, active = np.zeros(len(users)), np.ones(len(users), bool)
    while active.any():
        a = agent.act(dyn.flat_obs(users, hist, fb))
        _, rew, term, trunc = dyn.step(users, hist, fb, t, a)
        out += np.where(active, rew, 0.0)
        active &= ~(term | trunc)
    return out


def test_stated_rule_matches_the_world_dynamics():
    env = gym.make(ENV_ID, **SMALL)
    rules = session_rules(_log(env, 5))
    dyn = env.unwrapped._dyn
    rng = np.random.default_rng(0)
    hist = rng.integers(0, SMALL["n_items"] + 1, size=(500, dyn.L))
    actions = rng.integers(0, SMALL["n_items"], size=500)
    np.testing.assert_array_equal(rules.would_quit(hist, actions), dyn.would_quit(hist, actions))


@pytest.mark.parametrize("agent_cls", [PopularSafe, FeedbackReader])
def test_simulating_in_the_true_ratings_gives_each_users_true_return(agent_cls):
    env = gym.make(ENV_ID, **SMALL)
    log = _log(env, 20)
    rules = session_rules(log)
    agent = agent_cls(env)
    users = env.unwrapped.world.test_users
    first = env.unwrapped._dyn.flat_obs(users, *env.unwrapped._dyn.empty_history(len(users)))
    table = env.unwrapped.world.ratings[users][None].astype(np.float64)  # integers: exact
    got, visits = simulate(AgentHandle(agent), rules, first, table, np.random.default_rng(0))
    np.testing.assert_allclose(got[0], _true_returns(env, agent, users))
    np.testing.assert_allclose((visits[0] * table[0]).sum(axis=1), got[0])  # shows x ratings


def test_rating_model_returns_logged_pairs_and_stays_on_the_scale():
    env = gym.make(ENV_ID, **SMALL)
    log = _log(env, 30)
    rules = session_rules(log)
    users, row_user = np.unique(log.context[:, 0].astype(np.int64), return_inverse=True)
    likes = env.unwrapped.world.user_likes[users]
    rating = SessionView.of(log).next_context[:, -1]
    session = np.unique(SessionView.of(log).episode_id, return_inverse=True)[1]
    model = RatingModel(rules, likes, row_user, log.action, rating, session)
    weights = np.ones((2, len(rating)))
    weights[1, : len(rating) // 2] = 0.0  # replicate 1 leaves the first half out
    pred = model.predict(weights)
    assert pred.shape == (2, len(users), SMALL["n_items"])
    assert pred.min() >= 1.0 and pred.max() <= 5.0
    np.testing.assert_array_equal(pred[0, row_user, log.action], rating)
    truth = env.unwrapped.world.ratings[users[row_user], log.action]
    np.testing.assert_array_equal(rating, truth)  # the last feedback slot is the rating
    kept = np.zeros(len(rating), bool)
    kept[len(rating) // 2:] = True
    left_out = ~np.isin(row_user * 1000 + log.action, (row_user * 1000 + log.action)[kept])
    # pairs seen only in the left-out half are predicted by the model, not looked up
    assert not np.array_equal(pred[1, row_user[left_out], log.action[left_out]],
                              rating[left_out])


def test_rollout_estimate_is_seeded_and_near_the_truth_of_a_deterministic_agent():
    env = gym.make(ENV_ID, **SMALL)
    log = _log(env, 60)
    agent = AgentHandle(PopularSafe(env))
    view = SessionView.of(log)
    a = rollout(agent, log, view, np.random.default_rng(5))
    b = rollout(agent, log, view, np.random.default_rng(5))
    assert (a.estimate, a.ci_low, a.ci_high) == (b.estimate, b.ci_low, b.ci_high)
    assert a.ci_low < a.estimate < a.ci_high
    users = env.unwrapped.world.test_users
    truth = _true_returns(env, agent.agent, users).mean()
    # the logged users are a sample of the evaluation users: compare with their own mean
    logged = log.context[view.step == 0, 0].astype(np.int64)
    sample_truth = _true_returns(env, agent.agent, logged).mean()
    assert abs(a.estimate - sample_truth) < 0.1 * sample_truth, (a.estimate, sample_truth)
    assert a.estimator == "rollout" and truth > 0


def test_rollout_refuses_a_quit_rule_it_cannot_simulate():
    env = gym.make(ENV_ID, **SMALL, quit_rule="distance")
    log = _log(env, 6)
    est = rollout(AgentHandle(PopularSafe(env)), log, SessionView.of(log),
                  np.random.default_rng(0))
    assert est.status == "no_support" and "category quit rule" in est.note


def test_prior_draws_widen_the_model_where_it_has_few_ratings_only():
    env = gym.make(ENV_ID, **SMALL)
    log = _log(env, 30)
    users, row_user = np.unique(log.context[:, 0].astype(np.int64), return_inverse=True)
    rating = SessionView.of(log).next_context[:, -1]
    session = np.unique(SessionView.of(log).episode_id, return_inverse=True)[1]
    model = RatingModel(session_rules(log), env.unwrapped.world.user_likes[users], row_user,
                        log.action, rating, session)
    assert model.sigma2 > 0 and np.all(model.shrink[1:] > 0) and model.shrink[0] == 0
    ones = np.ones((400, len(rating)))
    plain, drawn = model.predict(ones), model.predict(ones, np.random.default_rng(0))
    assert np.ptp(plain, axis=0).max() == 0  # the same weights: the same fit
    spread = drawn.std(axis=0)  # (U, n_items)
    logged = np.zeros_like(spread, bool)
    logged[row_user, log.action] = True
    assert np.all(spread[logged] == 0)  # a logged pair is known
    n_item = np.bincount(log.action, minlength=SMALL["n_items"])
    rare = n_item <= np.quantile(n_item, 0.2)  # items with few ratings
    unlogged = ~logged
    assert spread[:, rare][unlogged[:, rare]].mean() > spread[:, ~rare][unlogged[:, ~rare]].mean()


def test_out_of_fold_predictions_are_of_pairs_the_other_fold_never_logged():
    env = gym.make(ENV_ID, **SMALL)
    log = _log(env, 30)
    users, row_user = np.unique(log.context[:, 0].astype(np.int64), return_inverse=True)
    view = SessionView.of(log)
    session = np.unique(view.episode_id, return_inverse=True)[1]
    model = RatingModel(session_rules(log), env.unwrapped.world.user_likes[users], row_user,
                        log.action, view.next_context[:, -1], session)
    pair = row_user * 1000 + log.action
    for f in (0, 1):
        rows = model.oof_rows & (session % 2 == f)
        assert rows.any()
        assert not np.isin(pair[rows], pair[session % 2 != f]).any()
    assert np.all((model.oof_pred[model.oof_rows] >= 1) & (model.oof_pred[model.oof_rows] <= 5))
