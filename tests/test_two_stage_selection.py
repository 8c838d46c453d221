"""linear_ips and the ground-truth-free model selection of the two-stage learners (issue 18)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import agents
from agents.two_stage.linear_ips import LinearIPS, weighted_bilinear_ridge
from agents.two_stage.selection import ShownItemSNIPS, better, split_rows
from recsim_envs.data import DatasetMeta, LoggedDataset

# Two user types (one-hot context) and six items (one-hot features): the bilinear model
# [x, 1] W [f, 1]^T can hold any table, so the fitted top-2 must be the true top-2.
TRUTH = np.array([[0.05, 0.60, 0.30, 0.90, 0.10, 0.40],
                  [0.70, 0.05, 0.80, 0.10, 0.50, 0.20]])
LOGGING = np.array([0.40, 0.30, 0.05, 0.05, 0.10, 0.10])  # rarely shows the best items


def _table_dataset(n: int, seed: int, protocol: str | None = None,
                   logged_per_user: int = 1) -> LoggedDataset:
    rng = np.random.default_rng(seed)
    user = rng.integers(0, 2, n)
    action = rng.choice(6, size=n, p=LOGGING)
    reward = (rng.random(n) < TRUTH[user, action]).astype(np.float32)
    info = {"family": "two_stage", "n_candidates": 2, "obs_dim": 2}
    width = 2
    if protocol:  # the paper's protocol: candidates hold the visit's logged items
        info.update(protocol=protocol, logged_per_user=logged_per_user)
        width = logged_per_user
    return LoggedDataset(
        context=np.eye(2, dtype=np.float32)[user], action=action.astype(np.int64),
        pscore=LOGGING[action], reward=reward, expected_reward=TRUTH[user, action],
        meta=DatasetMeta("toy", {}, 6, "fixed", info=info),
        extras={"candidates": np.stack([action] * width, axis=1).astype(np.int32)},
        system={"item_features": np.eye(6, dtype=np.float32),
                # ranker score = item id: the ranker shows the highest id it is offered
                "ranker_weights": np.vstack([np.zeros((2, 7)),
                                             np.r_[np.arange(6.0), 0.0][None]]).astype(np.float32)},
    )


def test_linear_ips_is_registered():
    assert agents.resolve("linear_ips") is LinearIPS


def test_weighted_ridge_equals_the_weighted_least_squares_solution():
    rng = np.random.default_rng(0)
    x, f = rng.normal(size=(40, 3)), rng.normal(size=(5, 2))
    action, reward, w = rng.integers(0, 5, 40), rng.normal(size=40), rng.uniform(0.1, 3, 40)
    design = np.einsum("ni,nj->nij", x, f[action]).reshape(40, -1)
    expected = np.linalg.solve(design.T @ (w[:, None] * design) + 0.5 * np.eye(6),
                               design.T @ (w * reward)).reshape(3, 2)
    got = weighted_bilinear_ridge(x, f, action, reward, w, 0.5)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("clip", [1.0, 10.0])
def test_linear_ips_finds_each_users_best_items_from_skewed_logs(clip):
    ds = _table_dataset(20_000, seed=1)
    agent = agents.make("linear_ips", clip_grid=(clip,), ridge=1e-3).fit(ds)
    top = agent.act(np.eye(2, dtype=np.float32))
    assert [sorted(t) for t in top.tolist()] == [[1, 3], [0, 2]]
    np.testing.assert_allclose(agent.predict(np.eye(2, dtype=np.float32)), TRUTH, atol=0.05)


def test_linear_ips_weights_are_clipped_inverse_propensities():
    ds = _table_dataset(2_000, seed=2)
    agent = agents.make("linear_ips", clip_grid=(5.0,), ridge=0.3).fit(ds)
    w = np.minimum(1.0 / ds.pscore, 5.0)
    ones = np.ones((len(ds), 1))
    expected = weighted_bilinear_ridge(np.hstack([ds.context, ones]), np.hstack([np.eye(6),
                                       np.ones((6, 1))]), ds.action, ds.reward, w / w.mean(), 0.3)
    np.testing.assert_allclose(agent.weights, expected)


def test_linear_ips_chooses_its_clip_on_the_validation_split_and_round_trips(tmp_path):
    ds = _table_dataset(3_000, seed=3)
    agent = agents.make("linear_ips", clip_grid=(1.0, 10.0, 100.0)).fit(ds)
    values = agent.selection["validation_snips"]
    assert set(values) == {1.0, 10.0, 100.0}
    assert values[agent.selection["clip"]] == max(values.values())
    loaded = LinearIPS.load(agent.save(tmp_path / "lin.pt"))
    x = np.eye(2, dtype=np.float32)
    np.testing.assert_array_equal(loaded.act(x), agent.act(x))


@pytest.mark.parametrize("bad", [{"ridge": 0.0}, {"clip_grid": ()}, {"clip_grid": (0.5,)},
                                 {"validation_fraction": 1.0}])
def test_linear_ips_rejects_invalid_settings(bad):
    with pytest.raises(ValueError):
        agents.make("linear_ips", **bad)


def test_split_keeps_each_logged_visit_on_one_side():
    ds = _table_dataset(100, seed=0, protocol="without_replacement", logged_per_user=5)
    split = split_rows(ds, 0.2, seed=0)
    assert len(split.valid) == 20 and len(split.train) == 80
    assert set(np.unique(split.valid // 5)).isdisjoint(np.unique(split.train // 5))
    again = split_rows(ds, 0.2, seed=0)
    np.testing.assert_array_equal(again.valid, split.valid)
    with pytest.raises(ValueError, match="fraction"):
        split_rows(ds, 0.0, seed=0)


def test_snips_matches_a_hand_computation():
    ds = _table_dataset(6, seed=4)
    est = ShownItemSNIPS(ds, np.arange(6))
    nominated = np.array([[0, 1]] * 6)  # the ranker picks item 1 (the higher id)
    match = ds.action == 1
    expected = (ds.reward * match / ds.pscore).sum() / (match / ds.pscore).sum() \
        if match.any() else math.nan
    value, support = est.value(nominated)
    assert support == int(match.sum())
    np.testing.assert_equal(value, expected)
    np.testing.assert_array_equal(est.picks(np.array([[3, 5]] * 6)), [5] * 6)
    assert better(0.2, math.nan) and not better(math.nan, 0.1) and not better(0.1, 0.1)


def test_generators_keep_the_epoch_of_best_validation_value():
    torch.set_num_threads(1)
    ds = _table_dataset(3_000, seed=5)
    agent = agents.make("ce", epochs=4, batch_size=256, seed=0).fit(ds)
    values = agent.selection["validation_snips"]
    assert len(values) == 4 and len(agent.selection["validation_support"]) == 4
    finite = [v if not math.isnan(v) else -1 for v in values]
    assert agent.selection["epoch"] == int(np.argmax(finite)) + 1
    # The kept model is that epoch's: retraining for exactly that many epochs on the same
    # split and seed gives the same nominations.
    again = agents.make("ce", epochs=agent.selection["epoch"], batch_size=256, seed=0).fit(ds)
    x = np.eye(2, dtype=np.float32)
    np.testing.assert_array_equal(again.act(x), agent.act(x))
    whole = agents.make("ce", epochs=2, batch_size=256, validation_fraction=0.0).fit(ds)
    assert whole.selection == {"epoch": 2, "validation_snips": [], "validation_support": []}
