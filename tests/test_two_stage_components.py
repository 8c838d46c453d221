"""Components of the two-stage environments against hand-computed values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recsim_envs.core.policies import (
    EpsilonGreedyPolicy,
    SoftmaxPolicy,
    UniformPolicy,
    sample_categorical,
    softmax,
)
from recsim_envs.two_stage.items import ItemCatalogue
from recsim_envs.two_stage.ranker import (
    BilinearRanker,
    fit_bilinear,
    fit_bilinear_grid,
    greedy_slate,
    shown_item_probability,
)
from recsim_envs.two_stage.response import LogisticResponse
from recsim_envs.two_stage.users import LowRankUserSampler, uniforms_to_normals


def test_greedy_slate_orders_by_score_then_lower_id():
    scores = np.array([[1.0, 3.0, 2.0], [5.0, 5.0, 1.0]])
    cands = np.array([[5, 7, 9], [8, 3, 1]])
    np.testing.assert_array_equal(greedy_slate(scores, cands, 1), [[7], [3]])
    np.testing.assert_array_equal(greedy_slate(scores, cands, 2), [[7, 9], [3, 8]])


def test_greedy_slate_counts_repeated_ids_once_and_pads_with_minus_one():
    scores = np.array([[1.0, 1.0, 0.5]])
    cands = np.array([[4, 4, 2]])
    np.testing.assert_array_equal(greedy_slate(scores, cands, 3), [[4, 2, -1]])


def test_bilinear_ranker_scores_match_hand_computation():
    w = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.5]], dtype=np.float32)
    items = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    ranker = BilinearRanker(weights=w, item_features=items)
    x = np.array([[3.0, -1.0]], dtype=np.float32)
    # [3, -1, 1] W [f, 1]^T = 3 f1 - 2 f2 + 0.5
    np.testing.assert_allclose(ranker.scores_all(x), [[3.5, -1.5, 1.5]])
    np.testing.assert_allclose(ranker.scores(x, np.array([[2, 0]])), [[1.5, 3.5]])
    np.testing.assert_array_equal(ranker.select(x, np.array([[1, 2, 1]]), 1), [[2]])


def test_shown_item_probability_hand_example():
    # Ranker order: item 1 > item 0 > item 2; k = 2 draws from p = (0.5, 0.3, 0.2).
    probs = np.array([[0.5, 0.3, 0.2]])
    scores = np.array([[2.0, 3.0, 1.0]])
    got = [shown_item_probability(probs, scores, np.array([a]), 2)[0] for a in range(3)]
    np.testing.assert_allclose(got, [0.7**2 - 0.2**2, 1 - 0.7**2, 0.2**2])
    assert np.isclose(sum(got), 1.0)


def test_shown_item_probability_equals_enumeration_over_all_candidate_tuples():
    rng = np.random.default_rng(0)
    n_items, k = 5, 3
    probs = rng.dirichlet(np.ones(n_items))[None]
    scores = np.array([[0.3, 0.3, -1.0, 2.0, 0.1]])  # a tie: item 0 beats item 1 (lower id)
    exact = np.zeros(n_items)
    for tup in itertools.product(range(n_items), repeat=k):
        shown = greedy_slate(scores[:, list(tup)], np.array([tup]), 1)[0, 0]
        exact[shown] += np.prod(probs[0, list(tup)])
    got = [shown_item_probability(probs, scores, np.array([a]), k)[0] for a in range(n_items)]
    np.testing.assert_allclose(got, exact, rtol=1e-12)


def test_logistic_response_hand_computation():
    cat = ItemCatalogue(
        features=np.zeros((2, 1), np.float32),
        latent=np.array([[2.0, 0.0], [0.0, 1.0]], np.float32),
        bias=np.array([0.5, 0.0], np.float32),
    )
    model = LogisticResponse(cat, scale=1.0, offset=-1.0)
    hidden = np.array([[1.0, 0.0]], np.float32)
    expected = 1 / (1 + np.exp(-np.array([1.5, -1.0])))
    np.testing.assert_allclose(model.click_prob_all(hidden)[0], expected, rtol=1e-6)
    np.testing.assert_allclose(model.click_prob(hidden, np.array([[1, 0]]))[0], expected[::-1],
                               rtol=1e-6)


def test_catalogue_rejects_nan_features():
    with pytest.raises(ValueError, match="NaN"):
        ItemCatalogue(np.array([[np.nan]], np.float32), np.zeros((1, 0), np.float32),
                      np.zeros(1, np.float32))


def test_box_muller_hand_values():
    u = np.array([[1 - np.exp(-0.5), 0.0]])  # radius 1, angle 0
    np.testing.assert_allclose(uniforms_to_normals(u), [[1.0, 0.0]], atol=1e-12)


def test_user_sampler_features_are_clipped_projection_plus_noise():
    sampler = LowRankUserSampler(np.eye(2, dtype=np.float32), feature_noise=0.0, bound=0.5)
    batch = sampler.from_uniforms(np.array([[1 - np.exp(-0.5), 1 - np.exp(-0.5), 0.0, 0.25]]))
    np.testing.assert_allclose(batch.hidden, [[1.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(batch.features, [[0.5, 0.0]], atol=1e-6)  # 1.0 clipped to 0.5


def test_sample_categorical_frequencies_and_degenerate_rows():
    rng = np.random.default_rng(1)
    probs = np.array([[0.2, 0.8, 0.0], [0.0, 0.0, 1.0]])
    draws = sample_categorical(probs, 100_000, rng)
    assert set(np.unique(draws[1])) == {2}
    freq = np.mean(draws[0] == 1)
    assert abs(freq - 0.8) < 5 * np.sqrt(0.8 * 0.2 / 100_000)
    assert not np.any(draws[0] == 2)


def test_policies_give_the_documented_probabilities():
    scores = np.array([[0.0, 1.0, 2.0]])
    scorer = lambda x: np.repeat(scores, len(x), axis=0)  # noqa: E731
    ctx = np.zeros((2, 4))
    np.testing.assert_allclose(UniformPolicy(3).probs(ctx), np.full((2, 3), 1 / 3))
    np.testing.assert_allclose(
        SoftmaxPolicy(scorer, 3, temperature=0.5).probs(ctx)[0], softmax(scores[0] / 0.5)
    )
    np.testing.assert_allclose(
        EpsilonGreedyPolicy(scorer, 3, epsilon=0.3).probs(ctx)[0], [0.1, 0.1, 0.8]
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SoftmaxPolicy(lambda x: x, 3, temperature=0.0), "temperature"),
        (lambda: EpsilonGreedyPolicy(lambda x: x, 3, epsilon=0.0), "epsilon"),
        (lambda: UniformPolicy(0), "n_actions"),
    ],
)
def test_policy_settings_are_validated(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_policy_rejects_scorer_of_wrong_shape_or_nan():
    pol = SoftmaxPolicy(lambda x: np.zeros((len(x), 2)), 3)
    with pytest.raises(ValueError, match="shape"):
        pol.probs(np.zeros((1, 4)))
    pol = SoftmaxPolicy(lambda x: np.full((len(x), 3), np.nan), 3)
    with pytest.raises(ValueError, match="NaN"):
        pol.probs(np.zeros((1, 4)))


def test_bilinear_fits_recover_a_known_weight_matrix():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 4))
    x, f = rng.standard_normal((40, 2)), rng.standard_normal((30, 3))
    xb, fb = np.hstack([x, np.ones((40, 1))]), np.hstack([f, np.ones((30, 1))])
    grid = xb @ w @ fb.T
    np.testing.assert_allclose(fit_bilinear_grid(x, f, grid, ridge=1e-9), w, atol=1e-4)
    uu, ii = np.meshgrid(np.arange(40), np.arange(30), indexing="ij")
    flat = fit_bilinear(x[uu.ravel()], f[ii.ravel()], grid.ravel(), ridge=1e-9)
    np.testing.assert_allclose(flat, w, atol=1e-4)
