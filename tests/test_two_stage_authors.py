"""TwoStagePaper-v0(regime="authors"): the authors' code where it changes the result (issue 18)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import agents
import recsim_envs  # noqa: F401  (registers the ids)
from recsim_envs.core.policies import SoftmaxPolicy
from recsim_envs.data import collect
from recsim_envs.two_stage.movielens_synth import make_tables, write_ml100k
from recsim_envs.two_stage.paper_authors import fit_logistic_bilinear_bias

ENV_ID = "recsim_envs/TwoStagePaper-v0"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("authors")
    folder = write_ml100k(root / "ml-100k", make_tables(90, 120, 3000, seed=3, rule="latent"))
    return {"data_dir": str(folder), "cache_dir": str(root / "cache"),
            "simulator": {"epochs": 1}, "behaviour_cells": 2000}


def _policy(env):
    base = env.unwrapped
    return SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 1.0)


def test_movie_bias_fit_recovers_per_movie_rates():
    rng = np.random.default_rng(0)
    n, n_items = 6000, 4
    items = rng.integers(0, n_items, n)
    rate = np.array([0.1, 0.3, 0.7, 0.9])
    labels = (rng.random(n) < rate[items]).astype(float)
    w, b = fit_logistic_bilinear_bias(np.zeros((n, 1)), np.zeros((n, 1)), items, labels,
                                      n_items + 1)
    fitted = 1 / (1 + np.exp(-(b[:n_items] + w[-1, -1])))
    np.testing.assert_allclose(fitted, rate, atol=0.03)
    assert b[n_items] == 0.0  # a movie without rows keeps b = 0


def test_authors_regime_trains_the_generator_on_the_rankers_log(data):
    env = gym.make(ENV_ID, **data, regime="authors")
    base = env.unwrapped
    log = base.world.world_log
    n_log = len(log["items"])
    assert n_log == 5 * base.world.response.truth.shape[0]
    ds = collect(env, _policy(env), n_log, seed=7)
    np.testing.assert_array_equal(ds.action, log["items"])
    np.testing.assert_array_equal(ds.pscore, log["pscore"])
    assert np.all((ds.pscore > 0) & (ds.pscore <= 1))
    # Excluded at evaluation: the positives of that same log.
    users = log["users"][ds.reward > 0.5]
    assert np.all(base.world.consumed[users, ds.action[ds.reward > 0.5]])
    assert base.world.consumed.sum() == int((ds.reward > 0.5).sum())
    # Two bias columns are public item features; the ranker reads its own.
    proj = gym.make(ENV_ID, **data).unwrapped
    assert base.world.item_features.shape[1] == proj.world.item_features.shape[1] + 2
    assert ds.system["ranker_weights"].shape == (base.user_dim + 1,
                                                 base.world.item_features.shape[1] + 1)
    with pytest.raises(ValueError, match="at most"):
        collect(env, _policy(env), n_log + 1, seed=7)
    with pytest.raises(ValueError, match="logging policy"):
        collect(env, SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 0.5), 10, seed=7)
    agent = agents.make("ce", epochs=2, validation_fraction=0.2).fit(ds)
    assert agent.act(ds.context[:3]).shape == (3, base.n_candidates)


def test_project_regime_is_unchanged_and_the_knob_needs_the_authors_regime(data):
    a = gym.make(ENV_ID, **data).unwrapped
    b = gym.make(ENV_ID, **data, regime="project").unwrapped
    np.testing.assert_array_equal(a.world.ranker.weights, b.world.ranker.weights)
    assert a.world.world_log is None
    with pytest.raises(ValueError, match="regime='authors'"):
        gym.make(ENV_ID, **data, ranker_bias_noise=1.0)
    with pytest.raises(ValueError, match="regime"):
        gym.make(ENV_ID, **data, regime="paper")


def test_ranker_bias_noise_moves_only_the_rankers_movie_biases(data):
    clean = gym.make(ENV_ID, **data, regime="authors").unwrapped.world
    noisy = gym.make(ENV_ID, **data, regime="authors", ranker_bias_noise=2.0).unwrapped.world
    np.testing.assert_array_equal(clean.item_features[:, :-1], noisy.item_features[:, :-1])
    np.testing.assert_array_equal(clean.ranker.weights, noisy.ranker.weights)
    np.testing.assert_array_equal(clean.world_log["items"], noisy.world_log["items"])
    assert not np.allclose(clean.item_features[:, -1], noisy.item_features[:, -1])


def test_claims_world_text_comes_from_the_rows_data_provenance(data):
    from benchmarks.claims import world_text
    from benchmarks.spec import EnvSpec
    from recsim_envs.two_stage.movielens_synth import MARKER, provenance

    env = gym.make(ENV_ID, **data, regime="authors").unwrapped
    source = env.world_info["data_provenance"]
    assert source["generated"] and source["regime"] == "authors"
    assert source["n_users"] == 90 and source["format"] == "ml-100k"
    spec = EnvSpec(name="p", id=ENV_ID, kwargs={"regime": "authors"})
    rows = [{"env": {"id": ENV_ID, "kwargs": {"regime": "authors"}, "data_provenance": source,
                     "cell_kwargs": {"world_seed": s}}} for s in (1, 2)]
    text = world_text(rows, spec)
    assert "regime=authors" in text and "world per seed" in text
    assert "GENERATED ml-100k-format files (90 users, 120 movies, 3000 ratings" in text
    real = {**source, "generated": False}
    assert "not generated by recsim_envs" in world_text(
        [{**r, "env": {**r["env"], "data_provenance": real}} for r in rows], spec)
    unrecorded = [{"env": {k: v for k, v in r["env"].items() if k != "data_provenance"}}
                  for r in rows]
    assert world_text(unrecorded, spec).endswith("data: not recorded in the rows")
    # Files without the generator's marker are reported as not generated.
    marker = Path(data["data_dir"]) / MARKER
    text_before = marker.read_text()
    marker.unlink()
    try:
        assert provenance(data["data_dir"], "ml-100k") == {"format": "ml-100k",
                                                          "generated": False}
    finally:
        marker.write_text(text_before)
