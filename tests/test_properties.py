"""Property-based tests (hypothesis) of the suite's small exact pieces: the shown-item
probability (the logged pscore and the target's distribution), greedy slates, ranking-metric
bounds, the sequential observation layout, the Parquet round trip of logged data and the
paired statistics. Each property is checked on generated inputs, not on one hand-picked case."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recsim_envs.core.stats import diff_ci, holm_bonferroni
from recsim_envs.data.dataset import DatasetMeta, LoggedDataset
from recsim_envs.ope.policy import shown_item_distribution
from recsim_envs.sequential.observation import ObsLayout, flatten_obs
from recsim_envs.two_stage.ranker import greedy_slate, shown_item_probability
from recsim_envs.two_stage.ranking_metrics import ranking_metrics

FAST = settings(max_examples=40, deadline=None, derandomize=True)  # same examples on every run


@st.composite
def small_two_stage(draw):
    """(probs (1, N), scores (1, N), k) with N <= 5 items and k <= 3 draws."""
    n_items = draw(st.integers(2, 5))
    k = draw(st.integers(1, 3))
    weights = draw(arrays(np.float64, n_items, elements=st.floats(0.0, 1.0)))
    if weights.sum() <= 1e-6:
        weights[draw(st.integers(0, n_items - 1))] = 1.0
    scores = draw(arrays(np.float64, n_items, elements=st.integers(-3, 3).map(float)))
    return (weights / weights.sum())[None], scores[None], k


def _best_ranked(items, scores):
    """The ranker's pick: highest score, lowest id among ties (the ranker's strict order)."""
    return min(items, key=lambda a: (-scores[a], a))


@FAST
@given(small_two_stage())
def test_shown_item_probability_with_replacement_agrees_with_enumeration(case):
    probs, scores, k = case
    got = shown_item_distribution(probs, scores, k, with_replacement=True)[0]
    expected = np.zeros(probs.shape[1])
    for draw in itertools.product(range(probs.shape[1]), repeat=k):
        expected[_best_ranked(set(draw), scores[0])] += np.prod(probs[0, list(draw)])
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert np.isclose(got.sum(), 1.0) and np.all(got >= 0)


@FAST
@given(st.integers(2, 6).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(1, n), st.lists(st.integers(-3, 3), min_size=n, max_size=n))))
def test_shown_item_probability_without_replacement_agrees_with_enumeration(case):
    n_items, k, raw_scores = case
    scores = np.array(raw_scores, dtype=np.float64)[None]
    probs = np.full((1, n_items), 1.0 / n_items)
    got = shown_item_distribution(probs, scores, k, with_replacement=False)[0]
    expected = np.zeros(n_items)
    subsets = list(itertools.combinations(range(n_items), k))
    for subset in subsets:
        expected[_best_ranked(subset, scores[0])] += 1.0 / len(subsets)
    np.testing.assert_allclose(got, expected, atol=1e-12)


@FAST
@given(st.integers(1, 8).flatmap(lambda n_items: st.tuples(
    arrays(np.int64, (3, min(n_items, 4)), elements=st.integers(0, n_items - 1)),
    arrays(np.bool_, (3, n_items)))))
def test_ranking_metrics_lie_in_zero_one(case):
    top, positives = case
    ks = list(range(1, top.shape[1] + 1))
    metrics = ranking_metrics(top, positives, ks)
    has_pos = positives.any(axis=1)
    for name, values in metrics.items():
        finite = values[~np.isnan(values)]
        assert np.all((finite >= 0) & (finite <= 1 + 1e-12)), name
        if not name.startswith("precision"):
            # recall and NDCG are undefined exactly for users without positives
            assert np.array_equal(np.isnan(values), ~has_pos), name


@FAST
@given(n=st.integers(1, 30), d=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_logged_data_survives_the_parquet_round_trip(tmp_path_factory, n, d, seed):
    rng = np.random.default_rng(seed)
    data = LoggedDataset(
        context=rng.normal(size=(n, d)), action=rng.integers(0, 7, n),
        pscore=rng.uniform(0.01, 1.0, n), reward=rng.integers(0, 2, n),
        expected_reward=rng.uniform(size=n),
        meta=DatasetMeta(env_id="recsim_envs/X-v0", env_kwargs={"n": n}, n_actions=7,
                         policy_name="p", seed=seed),
        extras={"candidates": rng.integers(0, 7, (n, 3)).astype(np.int32)},
    )
    path = data.save(tmp_path_factory.mktemp("rt") / "d.parquet")
    back = LoggedDataset.load(path)
    for name in ("context", "action", "pscore", "reward", "expected_reward"):
        a, b = getattr(data, name), getattr(back, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert np.array_equal(back.extras["candidates"], data.extras["candidates"])
    assert back.extras["candidates"].dtype == np.int32
    assert back.meta == data.meta


@FAST
@given(arrays(np.float64, st.integers(2, 20), elements=st.floats(-10, 10)),
       st.floats(-5, 5))
def test_a_paired_interval_moves_with_a_constant_shift(x, shift):
    base, shifted = diff_ci(x, np.zeros_like(x)), diff_ci(x + shift, np.zeros_like(x))
    assert np.isclose(shifted.mean, base.mean + shift, atol=1e-9)
    assert np.isclose(shifted.ci_high - shifted.ci_low, base.ci_high - base.ci_low, atol=1e-8)


@FAST
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_holm_adjusted_p_values_are_monotone_and_at_least_raw(p_values):
    adjusted, reject = holm_bonferroni(p_values, 0.05)
    assert all(a >= p - 1e-12 and a <= 1.0 for a, p in zip(adjusted, p_values, strict=True))
    order = np.argsort(p_values, kind="stable")
    sorted_adj = np.asarray(adjusted)[order]
    assert np.all(np.diff(sorted_adj) >= -1e-12)
    assert reject == [a <= 0.05 for a in adjusted]


@FAST
@given(small_two_stage())
def test_the_logged_shown_item_probability_sums_to_one_and_agrees_with_enumeration(case):
    """``ranker.shown_item_probability`` (the pscore written into two-stage logs), item by
    item, against enumerating every ordered k-tuple of i.i.d. candidate draws."""
    probs, scores, k = case
    n_items = probs.shape[1]
    items = np.arange(n_items)
    got = shown_item_probability(np.repeat(probs, n_items, 0), np.repeat(scores, n_items, 0),
                                 items, k)
    want = np.zeros(n_items)
    for draws in itertools.product(range(n_items), repeat=k):
        want[_best_ranked(set(draws), scores[0])] += np.prod(probs[0, list(draws)])
    support = probs[0] > 0
    np.testing.assert_allclose(got[support], want[support], atol=1e-12)
    assert np.isclose(got[support].sum(), 1.0)


@FAST
@given(st.integers(1, 6).flatmap(lambda k: st.tuples(
    arrays(np.int64, (3, k), elements=st.integers(0, 7)),
    arrays(np.float64, (3, k), elements=st.integers(-2, 2).map(float)),
    st.integers(1, k))))
def test_greedy_slates_are_the_top_distinct_candidates_in_the_rankers_order(case):
    candidates, raw_scores, slate_size = case
    # a candidate's score is a function of the item (repeats score the same)
    item_score = {int(i): s for i, s in zip(candidates.ravel(), raw_scores.ravel())}
    scores = np.vectorize(lambda i: item_score[int(i)])(candidates).astype(np.float64)
    got = greedy_slate(scores, candidates, slate_size)
    for row in range(len(candidates)):
        distinct = sorted(set(candidates[row].tolist()), key=lambda a: (-item_score[a], a))
        want = (distinct + [-1] * slate_size)[:slate_size]
        assert got[row].tolist() == want


@FAST
@given(n=st.integers(1, 5), user_dim=st.integers(0, 4), history_len=st.integers(1, 5),
       seed=st.integers(0, 2**31 - 1))
def test_observation_layout_split_inverts_flatten(n, user_dim, history_len, seed):
    rng = np.random.default_rng(seed)
    layout = ObsLayout(n_users=50, n_items=30, user_dim=user_dim, history_len=history_len)
    obs = {
        "user_id": rng.integers(0, 50, n),
        "user_features": rng.random((n, user_dim)).astype(np.float32),
        "recent_items": rng.integers(0, 31, (n, history_len)),
        "recent_feedback": rng.integers(0, 6, (n, history_len)).astype(np.float32),
    }
    flat = flatten_obs(obs)
    assert flat.shape == (n, layout.dim)
    users, features, items, feedback = layout.split(flat)
    np.testing.assert_array_equal(users, obs["user_id"])
    np.testing.assert_array_equal(features, obs["user_features"])
    np.testing.assert_array_equal(items, obs["recent_items"])
    np.testing.assert_array_equal(feedback, obs["recent_feedback"])
    assert ObsLayout.from_array(layout.to_array()) == layout
