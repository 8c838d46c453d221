"""Issue 19's sequential agents: profile_greedy, safe_random, safe_bandit, linear_q and
maskable_ppo - hand-computed choices, the mask respected, and toy problems each learner must
solve."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import agents
from agents.sequential.linear_q import LinearQ
from agents.sequential.safe import ProfileGreedy, SafeBandit, SafeRandom
from recsim_envs.data import collect_sessions
from recsim_envs.evaluation import evaluate
from recsim_envs.evaluation.learning import OnlineConfig, run_online
from recsim_envs.sequential.behaviour import sequential_behaviour_policy
from recsim_envs.sequential.envs import ENV_ID

SMALL = {"n_users": 40, "n_items": 30}
NEW = ("profile_greedy", "safe_random", "safe_bandit", "linear_q", "maskable_ppo")


@pytest.fixture(scope="module")
def setup():
    env = gym.make(ENV_ID, with_text=False, **SMALL)
    data = collect_sessions(env, sequential_behaviour_policy(env), 40, seed=0)
    return env, data


def contexts(env, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n flat observations from random play and the env's mask at each."""
    from recsim_envs.sequential.observation import flatten_obs

    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    xs, masks = [], []
    while len(xs) < n:
        xs.append(flatten_obs(obs))
        masks.append(info["action_mask"])
        obs, _, term, trunc, info = env.step(int(rng.integers(30)))
        if term or trunc:
            obs, info = env.reset()
    return np.array(xs), np.array(masks)


def test_new_names_are_registered_in_the_sequential_section():
    for name in NEW:
        assert name in agents.registered(), name
        assert agents.resolve(name).name == name


def test_profile_greedy_is_the_argmax_of_its_stated_score_over_safe_items(setup):
    env, data = setup
    agent = ProfileGreedy().fit(data)
    x, mask = contexts(env, 40, 1)
    w = env.unwrapped.world
    likes = x[:, 1:15][:, -8:]  # user features: gender (2), age (4), likes (8)
    for i in range(len(x)):
        score = 2.0 * w.item_popularity + likes[i, w.item_category]
        score[~mask[i]] = -np.inf
        assert agent.act(x[i]) == int(np.argmax(score))


def test_safe_random_is_uniform_over_the_envs_mask(setup):
    env, data = setup
    agent = SafeRandom(seed=3).fit(data)
    x, mask = contexts(env, 40, 2)
    np.testing.assert_allclose(agent.action_probs(x), mask / mask.sum(1, keepdims=True))
    assert mask[np.arange(40), agent.act(x)].all()


def test_safe_bandit_means_follow_the_observed_rewards_and_stay_on_safe_items(setup):
    env, data = setup
    agent = SafeBandit(use_logs=False, prior_mean=5.0, prior_count=1.0).fit(data)
    x, mask = contexts(env, 30, 4)
    liked = agent._liked(x[:1], [7])[0]
    agent.observe(x[0], 7, 1.0, x[1], False, False)
    agent.observe(x[0], 7, 2.0, x[1], False, False)
    assert agent.means(x[:1])[0, 7] == pytest.approx((5.0 + 1.0 + 2.0) / 3)
    assert agent.sums[liked, 7] == 3.0 and agent.counts[liked, 7] == 2.0
    assert mask[np.arange(30), agent.act(x)].all()
    assert mask[np.arange(30), agent.explore(x)].all()


def test_linear_q_scores_every_item_as_its_features_times_its_weights(setup):
    env, data = setup
    agent = LinearQ(use_logs=True, offline_iterations=3).fit(data)
    x, _ = contexts(env, 12, 5)
    q = agent.q_values(x)
    for j in (0, 11, 29):
        phi = agent.features.phi(x, np.full(len(x), j))
        np.testing.assert_allclose(q[:, j], phi @ agent.w, rtol=1e-10, atol=1e-10)


def test_linear_q_learns_from_scratch_to_keep_users_without_being_told_the_rule(setup):
    """Known optimum of this toy: never trigger the quit rule (sessions reach the cap)."""
    env, data = setup
    kw = {**SMALL, "max_turns": 10}
    agent = LinearQ(use_logs=False, seed=0, refit_every=2).fit(data)
    before = evaluate(agent, ENV_ID, kw, 30, 7).metrics["length"].mean
    run_online(agent, OnlineConfig(env_kwargs=kw, n_epochs=1, episodes_per_epoch=40,
                                   n_eval_users=30, seed=0, eval_seed=7))
    after = evaluate(agent, ENV_ID, kw, 30, 7).metrics["length"].mean
    assert before < 5 and after >= 9.5, (before, after)
    assert agent.stats()["online_episodes"] == 40


def test_maskable_ppo_deploys_only_safe_items(setup):
    pytest.importorskip("sb3_contrib")
    from recsim_envs.evaluation.learning import make_flat_env

    env, data = setup
    agent = agents.make("maskable_ppo", seed=0, n_steps=32, batch_size=16).fit(data)
    agent.learn_episodes(2, lambda: make_flat_env(ENV_ID, **SMALL))
    x, mask = contexts(env, 30, 6)
    p = agent.action_probs(x)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-6)
    assert (p[~mask] == 0).all()
    assert mask[np.arange(30), agent.act(x)].all()
