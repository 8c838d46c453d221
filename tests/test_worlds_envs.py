"""The two environments on a fitted world: the family contracts the benchmark adapters
rely on, the world's values looked up exactly, the fitted quit model, and a spec run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401
from recsim_envs.core.policies import SoftmaxPolicy
from recsim_envs.data import collect
from recsim_envs.sequential.behaviour import sequential_behaviour_policy
from recsim_envs.worlds import load_world
from tests.worlds_fixtures import fitted_world_dir


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory) -> Path:
    return fitted_world_dir(tmp_path_factory.mktemp("world"))


def test_two_stage_clicks_are_the_fitted_table_looked_up(world_dir):
    env = gym.make("recsim_envs/TwoStageFromWorld-v0", world=str(world_dir), n_candidates=5)
    base = env.unwrapped
    truth = load_world(world_dir).arrays["truth"]
    env.reset(seed=4)
    user = int(base._users.hidden[0, 0])
    _, _, _, _, info = env.step(np.arange(5))
    assert info["expected_reward"] == pytest.approx(float(truth[user, info["shown"][0]]))
    np.testing.assert_array_equal(base.expected_reward_all(), truth[user])
    # what the two-stage benchmark family reads
    assert base.n_items == truth.shape[1] and base.n_candidates == 5
    assert base.config.session_length == 1
    scorer = base.behaviour_scorer()
    assert scorer(np.zeros((2, base.user_dim), np.float32)).shape == (2, base.n_items)
    data = collect(env, SoftmaxPolicy(scorer, base.n_items, 1.0), n_rounds=300, seed=0)
    assert data.meta.env_id == "recsim_envs/TwoStageFromWorld-v0"
    assert data.meta.env_kwargs["world"] == str(world_dir)
    assert {"ranker_weights", "item_features"} <= set(data.system)
    assert 0 < data.reward.mean() < 1


def test_a_world_seed_refits_the_ranker_but_not_the_users(world_dir):
    a = gym.make("recsim_envs/TwoStageFromWorld-v0", world=str(world_dir), world_seed=1)
    b = gym.make("recsim_envs/TwoStageFromWorld-v0", world=str(world_dir))
    assert not np.array_equal(a.unwrapped.world.ranker.weights, b.unwrapped.world.ranker.weights)
    np.testing.assert_array_equal(a.unwrapped.world.response.truth,
                                  b.unwrapped.world.response.truth)


def test_sequential_ratings_keep_the_tables_level_shares_and_users_leave_at_their_patience(
        world_dir):
    world = load_world(world_dir)
    env = gym.make("recsim_envs/SequentialFromWorld-v0", world=str(world_dir), max_turns=30,
                   quit_window=1, max_same_category=30)  # only repeats and patience end it
    base = env.unwrapped
    levels, shares = world.arrays["rating_levels"], world.arrays["rating_shares"]
    got = (base.world.ratings[..., None] == levels).mean(axis=(0, 1))
    np.testing.assert_allclose(got, shares, atol=0.02)
    patience = world.arrays["patience"]
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        u, steps, done = obs["user_id"], 0, False
        while not done:
            _, _, term, trunc, _ = env.step(steps)  # never repeats an item
            steps += 1
            done = term or trunc
        assert steps == min(patience[u], 30) and term == (patience[u] <= 30)


def test_sequential_logs_name_the_world_and_the_behaviour_policy_works(world_dir):
    env = gym.make("recsim_envs/SequentialFromWorld-v0", world=str(world_dir))
    data = collect(env, sequential_behaviour_policy(env), n_rounds=2000, seed=1)
    assert data.meta.env_id == "recsim_envs/SequentialFromWorld-v0"
    assert data.meta.env_kwargs["world"] == str(world_dir)
    assert set(np.unique(data.reward)) <= set(load_world(world_dir).arrays["rating_levels"])
    assert data.extras["terminated"].sum() > 0


def test_a_missing_world_argument_says_what_to_pass():
    with pytest.raises(ValueError, match="pass world="):
        gym.make("recsim_envs/TwoStageFromWorld-v0")


@pytest.mark.slow
def test_a_benchmark_spec_naming_a_fitted_world_runs(world_dir, tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(f'''name = "my_world"
family = "two_stage"
seeds = 1

[data]
n_train = 500
n_heldout = 300

[evaluation]
n_eval = 200

[[envs]]
name = "tiny_world"
id = "recsim_envs/TwoStageFromWorld-v0"
kwargs = {{ world = "{world_dir}", n_candidates = 5 }}

[[agents]]
name = "ce"
agent = "ce"
settings = {{ epochs = 2 }}
''')
    done = subprocess.run([sys.executable, "-m", "benchmarks", "run", str(spec), "--out",
                           str(tmp_path / "results"), "--executor", "serial", "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"error": null' in (tmp_path / "results" / "my_world.jsonl").read_text()
