"""TwoStageMovieLens-v0: building from files, the disk cache, the learned simulator, stepping."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401  (registers the ids)
from recsim_envs.core.policies import SoftmaxPolicy, UniformPolicy
from recsim_envs.data import collect
from recsim_envs.two_stage import movielens_world as ml_env
from recsim_envs.two_stage.movielens_data import MovieLensFormatError, load_movielens
from recsim_envs.two_stage.simulator import cache_key, roc_auc
from tests.movielens_fixtures import write_ml1m, write_ml100k

ENV_ID = "recsim_envs/TwoStageMovieLens-v0"
# Enough epochs for the tiny data (2,000 ratings) to show the known rule clearly.
SIM = {"epochs": 20}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """ML-100K-format files and a cache folder holding the trained simulator (trained once)."""
    root = tmp_path_factory.mktemp("movielens")
    kwargs = {"data_dir": str(write_ml100k(root / "ml-100k")), "cache_dir": str(root / "cache"),
              "simulator": SIM, "n_candidates": 10}
    env = gym.make(ENV_ID, **kwargs)
    return {"root": root, "kwargs": kwargs, "env": env}


def test_first_build_trains_and_reports_the_world(built):
    info = built["env"].unwrapped.world_info
    assert info["from_cache"] is False
    assert (info["format"], info["n_users"], info["n_items"], info["n_ratings"]) == (
        "ml-100k", 60, 81, 2000)
    assert Path(info["cache_path"]).is_file()
    assert not list(Path(built["kwargs"]["cache_dir"]).glob("*.tmp"))  # nothing half-written
    base = built["env"].unwrapped
    assert base.env_id() == ENV_ID
    assert base.observation_space.shape == (40,)
    assert np.all(np.isfinite(base.observation_space.low))
    assert base.action_space.nvec.tolist() == [81] * 10


def test_simulator_learns_the_known_rule(built):
    """Fixture labels: men like Action, women like Romance (0.9 vs 0.15)."""
    info = built["env"].unwrapped.world_info
    assert info["simulator_valid_auc"] > 0.6
    data = load_movielens(built["kwargs"]["data_dir"])
    truth = built["env"].unwrapped.world.response.truth
    action = data.genres[:, list(data.genre_names).index("Action")] == 1
    romance = data.genres[:, list(data.genre_names).index("Romance")] == 1
    men, women = data.gender == 1, data.gender == 0
    # The ground-truth table ranks the liked genre above the other, for each gender
    only_action, only_romance = action & ~romance, romance & ~action
    assert truth[np.ix_(men, only_action)].mean() > truth[np.ix_(men, only_romance)].mean()
    assert truth[np.ix_(women, only_romance)].mean() > truth[np.ix_(women, only_action)].mean()
    # ... and separates all ratings of the rule (in-sample AUC of the table)
    labels = data.rating > 3
    assert roc_auc(truth[data.rating_user, data.rating_movie], labels) > 0.7


def test_second_build_loads_the_cache_without_training(built, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the simulator was trained again")

    monkeypatch.setattr(ml_env, "train_simulator", fail)
    monkeypatch.setattr(ml_env, "_fit_system", fail)
    env = gym.make(ENV_ID, **built["kwargs"])
    assert env.unwrapped.world_info["from_cache"] is True
    first = built["env"].unwrapped.world
    np.testing.assert_array_equal(env.unwrapped.world.response.truth, first.response.truth)
    np.testing.assert_array_equal(env.unwrapped.world.ranker.weights, first.ranker.weights)
    np.testing.assert_array_equal(env.unwrapped.world.behaviour_weights, first.behaviour_weights)


def test_the_environment_variable_locates_the_data(built, monkeypatch):
    monkeypatch.setenv("RECSIM_ENVS_DATA", built["kwargs"]["data_dir"])
    monkeypatch.setenv("RECSIM_ENVS_CACHE", built["kwargs"]["cache_dir"])
    env = gym.make(ENV_ID, simulator=SIM, n_candidates=10)
    assert env.unwrapped.world_info["from_cache"] is True
    assert env.unwrapped.config.data_dir == built["kwargs"]["data_dir"]
    np.testing.assert_array_equal(env.unwrapped.world.response.truth,
                                  built["env"].unwrapped.world.response.truth)


def test_without_data_the_error_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.delenv("RECSIM_ENVS_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="RECSIM_ENVS_DATA"):
        gym.make(ENV_ID, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="u.data, u.user, u.item") as err:
        gym.make(ENV_ID, data_dir=str(tmp_path), cache_dir=str(tmp_path / "cache"))
    assert str(tmp_path) in str(err.value)
    assert not (tmp_path / "cache").exists()


def test_bad_files_fail_before_anything_is_written(built, tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(built["kwargs"]["data_dir"], folder)
    with open(folder / "u.data", "ab") as fh:
        fh.write(b"1\t2\n")  # a truncated last line
    cache = tmp_path / "cache"
    with pytest.raises(MovieLensFormatError, match="line 2001"):
        gym.make(ENV_ID, data_dir=str(folder), cache_dir=str(cache))
    assert not cache.exists() or not any(cache.iterdir())


def test_cache_key_follows_file_bytes_and_settings(built, tmp_path, monkeypatch):
    folder = tmp_path / "copy"
    shutil.copytree(built["kwargs"]["data_dir"], folder)
    files = [folder / n for n in ("u.data", "u.user", "u.item")]
    key = cache_key(files, {"a": 1})
    assert cache_key(files, {"a": 1}) == key
    assert cache_key(files, {"a": 2}) != key
    raw = bytearray((folder / "u.data").read_bytes())
    assert raw[4] == ord("5")  # first line "1\t1\t5\t874965758"
    raw[4] = ord("4")
    (folder / "u.data").write_bytes(bytes(raw))
    assert cache_key(files, {"a": 1}) != key
    # ... so the changed data trains a new simulator instead of reusing the old one
    calls = []
    real = ml_env.train_simulator
    monkeypatch.setattr(ml_env, "train_simulator",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    kwargs = {**built["kwargs"], "data_dir": str(folder), "simulator": {"epochs": 1}}
    assert gym.make(ENV_ID, **kwargs).unwrapped.world_info["from_cache"] is False
    assert gym.make(ENV_ID, **kwargs).unwrapped.world_info["from_cache"] is True
    assert calls == [1]


def test_a_corrupt_cache_file_is_rebuilt(built, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(built["kwargs"]["cache_dir"], cache)
    path = Path(built["env"].unwrapped.world_info["cache_path"])
    (cache / path.name).write_bytes(b"not a zip file")
    env = gym.make(ENV_ID, **{**built["kwargs"], "cache_dir": str(cache)})
    assert env.unwrapped.world_info["from_cache"] is False
    np.testing.assert_array_equal(env.unwrapped.world.response.truth,
                                  built["env"].unwrapped.world.response.truth)


def test_ml1m_files_build_the_same_kind_of_world(tmp_path):
    env = gym.make(ENV_ID, data_dir=str(write_ml1m(tmp_path / "ml-1m")),
                   cache_dir=str(tmp_path / "cache"), simulator={"epochs": 1}, n_candidates=5)
    base = env.unwrapped
    assert base.world_info["format"] == "ml-1m"
    assert base.world.item_features.shape == (81, 20)  # year, 18 genres, popularity
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_a_step_looks_up_the_truth_table(built):
    env = built["env"].unwrapped
    truth = env.world.response.truth
    obs, _ = env.reset(seed=4)
    user = int(env._users.hidden[0, 0])
    np.testing.assert_array_equal(obs, env.world.users.features[user])
    candidates = np.arange(10)
    _, reward, terminated, truncated, info = env.step(candidates)
    shown = int(info["shown"][0])
    # the ranker shows its best-scored candidate
    scores = env.world.ranker.scores(obs[None], candidates[None])[0]
    assert shown == candidates[np.argmax(scores)]
    assert info["expected_reward"] == pytest.approx(float(truth[user, shown]))
    assert reward in (0.0, 1.0) and terminated and not truncated
    np.testing.assert_array_equal(env.expected_reward_all(), truth[user])


def test_users_are_drawn_uniformly_from_the_real_users(built):
    sampler = built["env"].unwrapped.world.users
    u = (np.arange(600) + 0.5) / 600
    batch = sampler.from_uniforms(u[:, None])
    idx = batch.hidden[:, 0].astype(int)
    assert np.bincount(idx, minlength=60).tolist() == [10] * 60
    np.testing.assert_array_equal(batch.features, sampler.features[idx])


def test_binary_truth_thresholds_without_retraining(built, monkeypatch):
    monkeypatch.setattr(ml_env, "train_simulator", None)  # would fail if called
    env = gym.make(ENV_ID, **built["kwargs"], binary_truth=True, truth_positive_rate=0.2)
    truth = env.unwrapped.world.response.truth
    assert set(np.unique(truth)) <= {0.0, 1.0}
    assert truth.mean() == pytest.approx(0.2, abs=0.01)
    assert env.unwrapped.world_info["from_cache"] is True


def test_collect_logs_exact_pscores_and_is_reproducible(built):
    env = built["env"]
    base = env.unwrapped
    policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 1.0, "default")
    a = collect(env, policy, n_rounds=400, seed=3)
    b = collect(env, policy, n_rounds=400, seed=3)
    np.testing.assert_array_equal(a.pscore, b.pscore)
    np.testing.assert_array_equal(a.context, b.context)
    assert np.all((a.pscore > 0) & (a.pscore <= 1))
    assert a.meta.env_id == ENV_ID and a.meta.info["family"] == "two_stage"
    assert a.system["item_features"].shape == (81, 21)
    assert set(np.unique(a.reward)) <= {0.0, 1.0}
    # a uniform candidate generator logs valid propensities too
    uni = collect(env, UniformPolicy(base.n_items), n_rounds=50, seed=0)
    assert np.all((uni.pscore > 0) & (uni.pscore <= 1))


def test_vector_env_matches_single_envs_and_pickles(built):
    kwargs = {**built["kwargs"], "slate_size": 2, "session_length": 3}
    venv = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", **kwargs)
    singles = [gym.make(ENV_ID, **kwargs) for _ in range(3)]
    vobs, _ = venv.reset(seed=9)
    for i, s in enumerate(singles):
        np.testing.assert_array_equal(vobs[i], s.reset(seed=9 + i)[0])
    rng = np.random.default_rng(0)
    for _ in range(7):
        actions = rng.integers(0, 81, size=(3, 10))
        vobs, vrew, vterm, _, vinfo = venv.step(actions)
        for i, s in enumerate(singles):
            obs, rew, term, _, info = s.step(actions[i])
            assert vrew[i] == rew and vterm[i] == term
            np.testing.assert_array_equal(vinfo["shown"][i], info["shown"])
            assert vinfo["expected_reward"][i] == pytest.approx(info["expected_reward"])
            if term:
                obs, _ = s.reset()
            np.testing.assert_array_equal(vobs[i], obs)
    clone = pickle.loads(pickle.dumps(singles[0]))
    a = np.arange(10)
    out, out_clone = singles[0].step(a), clone.step(a)
    np.testing.assert_array_equal(out[0], out_clone[0])
    assert out[1:4] == out_clone[1:4]


def test_bad_settings_are_named(built):
    with pytest.raises(TypeError, match="n_item"):
        gym.make(ENV_ID, **built["kwargs"], n_item=5)
    with pytest.raises(ValueError, match="exceeds the 81 movies"):
        gym.make(ENV_ID, **{**built["kwargs"], "n_candidates": 100})
    with pytest.raises(TypeError, match="unknown simulator setting"):
        gym.make(ENV_ID, **{**built["kwargs"], "simulator": {"epoch": 3}})
    with pytest.raises(ValueError, match="truth_positive_rate"):
        gym.make(ENV_ID, **built["kwargs"], truth_positive_rate=1.5)
