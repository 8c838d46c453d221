"""The one evaluation function: hand-computed ranking metrics, seeding, privileged hook."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import agents
import recsim_envs  # noqa: F401
from recsim_envs.core.policies import SoftmaxPolicy
from recsim_envs.data import collect
from recsim_envs.evaluation import EvalResult, evaluate
from recsim_envs.two_stage.ranking_metrics import ranking_metrics

ENV = "recsim_envs/TwoStageSynthetic-v0"
SMALL = {"n_items": 50, "n_candidates": 4}


@pytest.fixture(scope="module")
def data():
    env = gym.make(ENV, **SMALL)
    pol = SoftmaxPolicy(env.unwrapped.behaviour_scorer(), 50, temperature=0.5)
    return collect(env, pol, 800, seed=0), pol


def test_ranking_metrics_match_hand_computation():
    positives = np.zeros((2, 6), dtype=bool)
    positives[0, [1, 3, 5]] = True  # user 0: 3 positives
    positives[1, [2]] = True  # user 1: 1 positive
    top = np.array([[1, 0, 3, 3], [0, 4, 5, 2]])  # user 0 repeats item 3 (counts once)
    m = ranking_metrics(top, positives, ks=(2, 4))
    np.testing.assert_allclose(m["precision@2"], [1 / 2, 0.0])
    np.testing.assert_allclose(m["precision@4"], [2 / 4, 1 / 4])
    np.testing.assert_allclose(m["recall@4"], [2 / 3, 1.0])
    d = 1 / np.log2(np.arange(2, 6))
    np.testing.assert_allclose(m["ndcg@2"], [d[0] / (d[0] + d[1]), 0.0])
    np.testing.assert_allclose(m["ndcg@4"], [(d[0] + d[2]) / (d[0] + d[1] + d[2]), d[3] / d[0]])
    empty = ranking_metrics(top, np.zeros((2, 6), dtype=bool), ks=(2,))
    assert np.all(np.isnan(empty["recall@2"])) and np.all(empty["precision@2"] == 0)
    with pytest.raises(ValueError, match="cut-offs"):
        ranking_metrics(top, positives, ks=(5,))


def test_same_seed_same_users_and_results_for_every_agent(data):
    ds, pol = data
    agent = agents.make("ce", epochs=2, n_sets=5).fit(ds)
    a = evaluate(agent, ENV, SMALL, n_users=250, seed=7, batch_size=100)
    b = evaluate(agent, ENV, SMALL, n_users=250, seed=7, batch_size=100)
    assert isinstance(a, EvalResult) and a.n_users == 250
    np.testing.assert_array_equal(a.per_user["expected_reward"], b.per_user["expected_reward"])
    assert len(a.per_user["reward"]) == 250
    assert a.expected_reward.ci_low <= a.expected_reward.mean <= a.expected_reward.ci_high
    for key in ("precision@5", "recall@10", "ndcg@10", "shown_positive"):
        assert 0 <= a.ranking[key].mean <= 1
    c = evaluate(agent, ENV, SMALL, n_users=250, seed=8, batch_size=100)
    assert not np.array_equal(a.per_user["expected_reward"], c.per_user["expected_reward"])


def test_expected_reward_is_the_click_probability_of_the_shown_item(data):
    """Recompute the first batch by hand from a single-env reset with the same seeds."""
    ds, _ = data
    agent = agents.make("popular").fit(ds)
    result = evaluate(agent, ENV, SMALL, n_users=5, seed=3, batch_size=5)
    env = gym.make(ENV, **SMALL).unwrapped
    for i in range(5):
        obs, _ = env.reset(seed=3 + i)
        truth = env.expected_reward_all()
        shown = env.world.ranker.select(obs[None], agent.act(obs)[None], 1)[0, 0]
        assert result.per_user["expected_reward"][i] == pytest.approx(truth[shown], rel=1e-6)


def test_oracle_is_the_skyline_and_gets_the_env_only_through_the_hook(data):
    ds, pol = data
    oracle = agents.make("oracle")
    assert oracle.offline is False
    with pytest.raises(agents.AgentError, match="privileged"):
        oracle.fit(ds).act(ds.context[:2])
    res = evaluate(agents.make("oracle"), ENV, SMALL, n_users=200, seed=1, batch_size=100)
    env = gym.make_vec(ENV, num_envs=100, vectorization_mode="vector_entry_point", **SMALL)
    env.reset(seed=1)
    best = env.unwrapped.expected_reward_all().max(axis=1)
    np.testing.assert_allclose(res.per_user["expected_reward"][:100], best, rtol=1e-6)
    assert res.ranking["ndcg@10"].mean == pytest.approx(1.0)
    others = [
        evaluate(agents.make(n, **kw).fit(ds), ENV, SMALL, n_users=200, seed=1, batch_size=100)
        for n, kw in [("random", {}), ("logging", {"policy": pol}), ("popular", {})]
    ]
    for other in others:
        assert np.all(other.per_user["expected_reward"] <= res.per_user["expected_reward"] + 1e-7)


def test_offline_agents_are_never_bound_to_the_environment(data):
    ds, _ = data

    class Spy(agents.BaseAgent):
        name = "spy"
        Config = agents.resolve("random").Config

        def fit(self, d):
            self.k = d.meta.info["n_candidates"]
            return self

        def bind_env(self, env):
            raise AssertionError("an offline agent was handed the environment")

        def act(self, obs):
            return np.tile(np.arange(self.k), (len(np.atleast_2d(obs)), 1))

    res = evaluate(Spy().fit(ds), ENV, SMALL, n_users=30, seed=0, batch_size=10)
    assert math.isfinite(res.expected_reward.mean)
    assert "precision@5" not in res.ranking  # a 4-item action cannot be scored at 5


def test_reference_policies_are_reproducible_and_round_trip(data, tmp_path):
    ds, pol = data
    r1 = agents.make("random", seed=5).fit(ds)
    r2 = agents.make("random", seed=5).fit(ds)
    first = r1.act(ds.context[:20])
    np.testing.assert_array_equal(first, r2.act(ds.context[:20]))
    assert all(len(set(row)) == SMALL["n_candidates"] for row in first)
    loaded = type(r1).load(r1.save(tmp_path / "r.pt"))
    np.testing.assert_array_equal(loaded.act(ds.context[:20]), r1.act(ds.context[:20]))
    pop = agents.make("popular").fit(ds)
    clicks = np.bincount(ds.action, weights=ds.reward, minlength=50)
    assert clicks[pop.act(ds.context[0])[0]] == clicks.max()
    np.testing.assert_array_equal(
        type(pop).load(pop.save(tmp_path / "p.pt")).act(ds.context[0]), pop.act(ds.context[0])
    )
    logging = agents.make("logging", policy=pol, seed=1).fit(ds)
    np.testing.assert_allclose(logging.candidate_probs(ds.context[:3]), pol.probs(ds.context[:3]))
    with pytest.raises(agents.AgentError, match="cannot be saved"):
        logging.save(tmp_path / "l.pt")
    with pytest.raises(agents.AgentError, match="behaviour policy"):
        agents.make("logging").fit(ds)  # no policy given and no deployment


def test_evaluate_rejects_bad_arguments(data):
    ds, _ = data
    agent = agents.make("popular").fit(ds)
    with pytest.raises(ValueError, match="n_users"):
        evaluate(agent, ENV, SMALL, n_users=0, seed=0)
