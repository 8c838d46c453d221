"""Logged rollouts: exact propensities, an unbiased IPS estimate, and a validated on-disk format."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recsim_envs  # noqa: F401
from recsim_envs.core.policies import EpsilonGreedyPolicy, SoftmaxPolicy, UniformPolicy
from recsim_envs.data import DatasetError, DatasetMeta, LoggedDataset, collect
from recsim_envs.two_stage.ranker import shown_item_probability

ENV_ID = "recsim_envs/TwoStageSynthetic-v0"
SMALL = {"n_items": 20, "n_candidates": 4}


@pytest.fixture(scope="module")
def env():
    return gym.make(ENV_ID, **SMALL)


@pytest.fixture(scope="module")
def softmax_policy(env):
    scorer = env.unwrapped.behaviour_scorer()
    return SoftmaxPolicy(scorer, 20, temperature=0.5, scorer_name="default")


def test_same_seed_gives_element_wise_identical_data(env, softmax_policy):
    a = collect(env, softmax_policy, 500, seed=3)
    b = collect(ENV_ID, softmax_policy, 500, seed=3, **SMALL)
    c = collect(env, softmax_policy, 500, seed=4)
    for name in ("context", "action", "pscore", "reward", "expected_reward"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.extras["candidates"], b.extras["candidates"])
    assert not np.array_equal(a.action, c.action)


def test_dataset_records_policy_and_environment(env, softmax_policy):
    ds = collect(env, softmax_policy, 10, seed=0)
    assert ds.meta.env_id == ENV_ID and ds.meta.env_kwargs["n_items"] == 20
    assert ds.meta.policy_name == "softmax"
    assert ds.meta.policy_settings == {"temperature": 0.5, "scorer": "default"}
    assert ds.meta.seed == 0 and ds.meta.n_actions == 20
    assert ds.system["item_features"].shape == (20, 16)
    assert ds.extras["candidates"].shape == (10, 4)


@pytest.mark.parametrize("policy_kind", ["uniform", "softmax", "softmax_float32", "epsilon_greedy"])
def test_propensities_equal_the_frequency_of_the_logged_item(env, policy_kind):
    """For one fixed user, the empirical frequency of each shown item over many logged rounds
    matches the logged pscore within 5 binomial standard errors."""
    base = env.unwrapped
    scorer = base.behaviour_scorer()
    policy = {
        "uniform": UniformPolicy(20),
        "softmax": SoftmaxPolicy(scorer, 20, temperature=0.5),
        "softmax_float32": SoftmaxPolicy(scorer, 20, temperature=0.5, precision="float32"),
        "epsilon_greedy": EpsilonGreedyPolicy(scorer, 20, epsilon=0.3),
    }[policy_kind]
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    n = 40_000
    x = np.repeat(obs[None], n, axis=0)
    probs = np.asarray(policy.probs(x[:1]))
    cands = np.stack([rng.choice(20, size=4, p=probs[0]) for _ in range(n)])
    shown = base.world.ranker.select(x, cands, 1)[:, 0]
    freq = np.bincount(shown, minlength=20) / n
    exact = shown_item_probability(
        np.repeat(probs, 20, axis=0), np.repeat(base.world.ranker.scores_all(obs[None]), 20, 0),
        np.arange(20), 4,
    )
    assert np.isclose(exact.sum(), 1.0)
    se = np.sqrt(exact * (1 - exact) / n) + 1e-12
    assert np.all(np.abs(freq - exact) <= 5 * se + 1e-9), (freq, exact)
    # and the environment's logging writes exactly this formula
    ds = collect(env, policy, 200, seed=1)
    want = shown_item_probability(
        np.asarray(policy.probs(ds.context)), base.world.ranker.scores_all(ds.context),
        ds.action, 4,
    )
    np.testing.assert_allclose(ds.pscore, want, rtol=1e-12)


def test_ips_estimate_of_another_policy_matches_its_online_value(env, softmax_policy):
    """Log with the uniform policy, estimate the softmax policy's value by IPS, and compare
    with its online value; the tolerance is 4 standard errors of the two means."""
    base = env.unwrapped
    logged = collect(env, UniformPolicy(20), 60_000, seed=11)
    target = shown_item_probability(
        np.asarray(softmax_policy.probs(logged.context)),
        base.world.ranker.scores_all(logged.context), logged.action, 4,
    )
    terms = target / logged.pscore * logged.reward
    online = collect(env, softmax_policy, 60_000, seed=12).expected_reward
    gap = abs(terms.mean() - online.mean())
    tol = 4 * np.sqrt(terms.var() / len(terms) + online.var() / len(online))
    assert gap < tol, (terms.mean(), online.mean(), tol)
    # and the estimate is informative: the two policies' values differ by more than tol
    assert abs(online.mean() - logged.expected_reward.mean()) > tol


def test_parquet_round_trip_is_exact(env, softmax_policy, tmp_path):
    ds = collect(env, softmax_policy, 300, seed=5)
    path = ds.save(tmp_path / "logs.parquet")
    back = LoggedDataset.load(path)
    for name in ("context", "action", "pscore", "reward", "expected_reward"):
        np.testing.assert_array_equal(getattr(ds, name), getattr(back, name))
        assert getattr(ds, name).dtype == getattr(back, name).dtype
    np.testing.assert_array_equal(ds.extras["candidates"], back.extras["candidates"])
    np.testing.assert_array_equal(ds.system["ranker_weights"], back.system["ranker_weights"])
    assert back.meta == ds.meta
    df = back.to_pandas()
    assert list(df.columns[:5]) == ["context", "action", "pscore", "reward", "expected_reward"]
    assert len(df) == 300 and len(df["candidates"][0]) == 4


def _write(tmp_path, table, name="bad.parquet"):
    path = tmp_path / name
    pq.write_table(table, path)
    return path


def _valid_table(env, softmax_policy, tmp_path):
    path = collect(env, softmax_policy, 50, seed=0).save(tmp_path / "ok.parquet")
    return pq.read_table(path)


def test_missing_column_is_named(env, softmax_policy, tmp_path):
    table = _valid_table(env, softmax_policy, tmp_path)
    path = _write(tmp_path, table.drop_columns(["pscore"]))
    with pytest.raises(DatasetError, match="'pscore'"):
        LoggedDataset.load(path)


def test_wrong_dtype_is_named(env, softmax_policy, tmp_path):
    table = _valid_table(env, softmax_policy, tmp_path)
    idx = table.column_names.index("action")
    table = table.set_column(idx, "action", pa.array([str(v) for v in range(50)]))
    with pytest.raises(DatasetError, match="'action'"):
        LoggedDataset.load(_write(tmp_path, table))


@pytest.mark.parametrize("bad", [0.0, 1.5, -0.1, np.nan])
def test_propensity_outside_unit_interval_is_rejected(env, softmax_policy, tmp_path, bad):
    table = _valid_table(env, softmax_policy, tmp_path)
    p = table.column("pscore").to_numpy().copy()
    p[7] = bad
    table = table.set_column(table.column_names.index("pscore"), "pscore", pa.array(p))
    with pytest.raises(DatasetError, match="pscore"):
        LoggedDataset.load(_write(tmp_path, table))


def test_missing_values_are_rejected_not_turned_into_nan(env, softmax_policy, tmp_path):
    table = _valid_table(env, softmax_policy, tmp_path)
    r = pa.array([None] + table.column("reward").to_pylist()[1:], type=pa.float32())
    table = table.set_column(table.column_names.index("reward"), "reward", r)
    with pytest.raises(DatasetError, match="'reward'.*missing"):
        LoggedDataset.load(_write(tmp_path, table))


def test_corrupted_and_truncated_files_are_rejected(env, softmax_policy, tmp_path):
    path = collect(env, softmax_policy, 50, seed=0).save(tmp_path / "ok.parquet")
    raw = path.read_bytes()
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DatasetError, match="truncated or corrupted"):
        LoggedDataset.load(truncated)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not a parquet file at all")
    with pytest.raises(DatasetError, match="not a readable Parquet"):
        LoggedDataset.load(garbage)
    plain = _write(tmp_path, pa.table({"x": [1, 2]}), "plain.parquet")
    with pytest.raises(DatasetError, match="no recsim_envs metadata"):
        LoggedDataset.load(plain)


def test_a_failed_save_leaves_nothing_behind(env, softmax_policy, tmp_path, monkeypatch):
    ds = collect(env, softmax_policy, 20, seed=0)

    def explode(table, where, **kw):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", explode)
    with pytest.raises(OSError, match="disk full"):
        ds.save(tmp_path / "logs.parquet")
    assert os.listdir(tmp_path) == []


def _meta(n_actions=3):
    return DatasetMeta(env_id="x", env_kwargs={}, n_actions=n_actions, policy_name="p")


@pytest.mark.parametrize(
    "change, match",
    [
        ({"context": np.array([[np.nan], [0.0]])}, "'context'.*NaN"),
        ({"action": np.array([0, 3])}, "'action' must lie"),
        ({"pscore": np.array([0.5, 0.0])}, "'pscore' must lie"),
        ({"reward": np.array([1.0])}, "'reward' has shape"),
        ({"context": np.zeros(2)}, "'context' must be 2-D"),
    ],
)
def test_in_memory_validation_names_the_problem(change, match):
    cols = dict(context=np.zeros((2, 1)), action=np.array([0, 1]), pscore=np.array([0.5, 0.5]),
                reward=np.array([1.0, 0.0]), expected_reward=np.array([0.5, 0.5]))
    cols.update(change)
    with pytest.raises(DatasetError, match=match):
        LoggedDataset(**cols, meta=_meta())


def test_collect_rejects_a_policy_for_another_catalogue(env):
    with pytest.raises(ValueError, match="20 items"):
        collect(env, UniformPolicy(21), 10, seed=0)
