"""Behaviour-policy sampling: the distributions drawn are the ones reported, and draws are
element-wise reproducible for a seed."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from recsim_envs.core.policies import (
    EpsilonGreedyPolicy,
    LinearScorer,
    SoftmaxPolicy,
    UniformPolicy,
    draw_actions,
    sample_categorical,
    softmax,
    softmax_draws,
)
from recsim_envs.core.sampling import softmax_block

SCORES = np.array([[0.0, 1.0, 2.0, -1.0, 0.5, 3.0], [2.0, 2.0, -5.0, 0.0, 1.0, 0.0]])


def chi_square_p(draws: np.ndarray, probs: np.ndarray) -> float:
    """p-value of Pearson's chi-square test of ``draws`` against ``probs``."""
    counts = np.bincount(draws, minlength=len(probs))
    support = probs > 0
    assert counts[~support].sum() == 0, "drew an action of zero probability"
    return stats.chisquare(counts[support], probs[support] * len(draws)).pvalue


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_softmax_draws_follow_the_reported_probabilities(temperature):
    rng = np.random.default_rng(11)
    n = 20_000  # more than one block of rows, so block boundaries are crossed
    scores = np.repeat(SCORES, n, axis=0)  # rows 0..n-1 of the first kind, then the second
    draws, probs = softmax_draws(scores, temperature, 2, rng)
    assert draws.shape == (2 * n, 2) and draws.dtype == np.int64
    assert probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    for i in range(2):
        # The reported rows are the softmax up to float32 rounding, and identical per kind.
        np.testing.assert_allclose(probs[i * n], softmax(SCORES[i], temperature), rtol=1e-6)
        assert np.all(probs[i * n : (i + 1) * n] == probs[i * n])
        assert chi_square_p(draws[i * n : (i + 1) * n].ravel(), probs[i * n]) > 1e-4


def test_softmax_draws_are_element_wise_reproducible_and_never_draw_zero_mass():
    scores = np.random.default_rng(0).normal(size=(500, 50))
    a = softmax_draws(scores, 0.7, 3, np.random.default_rng(3))
    b = softmax_draws(scores, 0.7, 3, np.random.default_rng(3))
    c = softmax_draws(scores, 0.7, 3, np.random.default_rng(4))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    # float32 underflow: the first and last actions get probability exactly 0, never drawn.
    draws, probs = softmax_draws(np.array([[-200.0, 0.0, 0.5, -300.0]] * 2_000), 1.0, 5,
                                 np.random.default_rng(1))
    assert probs[0, 0] == 0.0 and probs[0, 3] == 0.0
    assert set(np.unique(draws)) == {1, 2}


@pytest.mark.parametrize("n_draws", [1, 7])
def test_sample_categorical_follows_the_probabilities_and_never_draws_zero_mass(n_draws):
    rng = np.random.default_rng(5)
    probs = softmax(SCORES, 0.8)
    probs[1, 2] = 0.0  # a zero-probability action in the middle ...
    probs[0, -1] = 0.0  # ... and at the end of a row
    rows = np.repeat(probs, 20_000, axis=0)
    draws = sample_categorical(rows, n_draws, rng)
    assert draws.shape == (len(rows), n_draws) and draws.dtype == np.int64
    first, second = draws[:20_000].ravel(), draws[20_000:].ravel()
    assert not np.any(first == 5) and not np.any(second == 2)
    assert chi_square_p(first, probs[0] / probs[0].sum()) > 1e-4
    assert chi_square_p(second, probs[1] / probs[1].sum()) > 1e-4


def test_sample_categorical_is_reproducible_across_block_boundaries(monkeypatch):
    import recsim_envs.core.sampling as sampling

    probs = softmax(np.random.default_rng(1).normal(size=(300, 40)))
    whole = sample_categorical(probs, 5, np.random.default_rng(9))
    monkeypatch.setattr(sampling, "_SEARCH_BLOCK_CELLS", 40 * 7)  # blocks of 7 rows
    blocked = sample_categorical(probs, 5, np.random.default_rng(9))
    np.testing.assert_array_equal(whole, blocked)


@pytest.mark.parametrize("n", [70, 65, 17, 1, 0])
@pytest.mark.parametrize("temperature", [0.4, 1.0])
@pytest.mark.parametrize("scores_dtype", [np.float32, np.float64])
def test_softmax_policy_draws_what_softmax_then_sample_categorical_draw(
        n, temperature, scores_dtype, monkeypatch):
    """SoftmaxPolicy.draw fuses the softmax and the draws per block of rows: the same
    probabilities and draws as the two steps one after the other (several blocks here)."""
    import recsim_envs.core.policies as policies

    monkeypatch.setattr(policies, "SOFTMAX_BLOCK_ROWS", 16)
    rng = np.random.default_rng(3)
    weights, features = rng.normal(size=(4, 3)), rng.normal(size=(50, 2))
    linear = LinearScorer(weights, features)
    policy = SoftmaxPolicy(lambda x: linear(x).astype(scores_dtype), 50, temperature)
    ctx = rng.normal(size=(n, 3))
    draws, probs = policy.draw(ctx, 6, np.random.default_rng(8))
    expected = softmax(linear(ctx).astype(scores_dtype), temperature)
    np.testing.assert_array_equal(probs, expected)
    np.testing.assert_array_equal(policy.probs(ctx), expected)
    np.testing.assert_array_equal(draws, sample_categorical(expected, 6,
                                                            np.random.default_rng(8)))
    assert draws.shape == (n, 6) and draws.dtype == np.int64 and probs.dtype == np.float64


def _softmax_reference(scores, temperature):
    """softmax() as written before issue 23's blocking: float64 copy, scale, minus the row
    maximum, exp, times the reciprocal of the row sum."""
    z = np.array(scores, dtype=np.float64)
    if temperature != 1.0:
        z *= 1.0 / temperature
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z *= 1.0 / z.sum(axis=1, keepdims=True)
    return z


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("temperature", [1.0, 0.7, 1e-3, 250.0])
@pytest.mark.parametrize("shape", [(300, 1000), (5, 1), (0, 7), (3, 2)])
def test_softmax_block_has_the_bits_of_the_plain_softmax(dtype, temperature, shape):
    rng = np.random.default_rng(6)
    scores = (rng.normal(size=shape) * 20).astype(dtype)
    if shape[0] > 3 and shape[1] > 1:
        scores[1] = scores[1, 0]  # a flat row
        scores[2, :2] = np.asarray([3e4, -3e4]).astype(dtype)  # exp underflows to 0
    out = np.full(shape, np.nan)
    softmax_block(scores, temperature, out)
    np.testing.assert_array_equal(out, _softmax_reference(scores, temperature))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_scores_raise_a_named_error(bad, monkeypatch):
    """A NaN or infinite score (here in the third block of rows) is refused, as before."""
    import recsim_envs.core.policies as policies

    monkeypatch.setattr(policies, "SOFTMAX_BLOCK_ROWS", 16)

    def scorer(x):
        out = np.zeros((len(x), 5), dtype=np.float32)
        out[np.asarray(x)[:, 0] == 40, 3] = bad  # the context with 40 in column 0
        return out

    ctx = np.arange(60, dtype=np.float32)[:, None]
    policy = SoftmaxPolicy(scorer, 5, temperature=0.5)
    with pytest.raises(ValueError, match="NaN or infinite"):
        policy.draw(ctx, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="NaN or infinite"):
        policy.probs(ctx)
    with pytest.raises(ValueError, match="NaN or infinite"):
        softmax_block(scorer(ctx), 1.0, np.empty((60, 5)))
    draws, _ = policy.draw(ctx[:40], 3, np.random.default_rng(0))  # the rows before it
    assert draws.shape == (40, 3)


def _sample_reference(probs, n_draws, rng, block_cells=1 << 21):
    """sample_categorical as written before issue 23: numpy's cumsum of each whole block
    and one search of the flattened block (the draws the speed-up must keep)."""
    n, n_actions = probs.shape
    u = np.sort(rng.random((n, n_draws)), axis=1)
    out = np.empty((n, n_draws), dtype=np.int64)
    rows = max(1, block_cells // n_actions)
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        cdf = np.cumsum(probs[lo:hi].ravel(), dtype=np.float64)
        ends = cdf[n_actions - 1 :: n_actions]
        starts = np.r_[0.0, ends[:-1]]
        queries = starts[:, None] + u[lo:hi] * (ends - starts)[:, None]
        np.minimum(queries, np.nextafter(ends, -np.inf)[:, None], out=queries)
        idx = np.searchsorted(cdf, queries.ravel(), side="right").reshape(hi - lo, n_draws)
        out[lo:hi] = np.clip(idx - (np.arange(hi - lo) * n_actions)[:, None], 0, n_actions - 1)
    return out


@pytest.mark.parametrize("shape, search_cells", [
    ((3000, 777), 1 << 15),  # two blocks, sub-blocks of 42 rows that straddle nothing
    ((500, 64), 64 * 3 + 5),  # sub-blocks of 3 rows
    ((40, 5000), 1000),  # rows longer than a sub-block: one row each
    ((7, 1), 1 << 15),  # one action
])
def test_sample_categorical_draws_what_the_plain_numpy_sampler_drew(shape, search_cells,
                                                                    monkeypatch):
    import recsim_envs.core.sampling as sampling

    monkeypatch.setattr(sampling, "_SEARCH_BLOCK_CELLS", search_cells)
    rng = np.random.default_rng(4)
    probs = np.exp(3 * rng.normal(size=shape))
    probs[1] = 0.0  # an all-zero row
    probs[2, : shape[1] // 2] = 0.0  # zero mass before the support
    for p in (probs, probs.astype(np.float32), softmax(np.log(probs + 1e-300))):
        np.testing.assert_array_equal(
            sample_categorical(p, 9, np.random.default_rng(5)),
            _sample_reference(p, 9, np.random.default_rng(5)))


def test_blocked_softmax_equals_the_softmax_of_the_whole_array():
    scores = np.random.default_rng(2).normal(size=(1000, 33)).astype(np.float32) * 4
    blocked = softmax(scores, 0.7)  # more rows than a block: computed 256 rows at a time
    whole = np.array(scores, dtype=np.float64) * (1.0 / 0.7)
    whole -= whole.max(axis=1, keepdims=True)
    whole = np.exp(whole)
    whole *= 1.0 / whole.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(blocked, whole)


@pytest.mark.parametrize("make", [
    lambda s: SoftmaxPolicy(s, 6, temperature=0.5),
    lambda s: EpsilonGreedyPolicy(s, 6, epsilon=0.3),
    lambda s: UniformPolicy(6),
])
def test_each_behaviour_policy_draws_from_the_probabilities_it_reports(make):
    scorer = lambda x: np.repeat(SCORES[:1], len(x), axis=0)  # noqa: E731
    policy = make(scorer)
    context = np.zeros((30_000, 2))
    draws, probs = draw_actions(policy, context, 3, np.random.default_rng(2))
    np.testing.assert_allclose(probs, policy.probs(context))
    assert chi_square_p(np.asarray(draws).ravel(), np.asarray(probs)[0]) > 1e-4
    again, _ = draw_actions(policy, context, 3, np.random.default_rng(2))
    np.testing.assert_array_equal(draws, again)


def test_the_two_stage_family_passes_the_softmax_precision_through():
    import gymnasium as gym

    from recsim_envs.two_stage.harness import HARNESS as family

    env = gym.make("recsim_envs/TwoStageSynthetic-v0", n_items=30, n_candidates=3)
    default = family.behaviour_policy(env, {"policy": "softmax"}, 0)
    fast = family.behaviour_policy(env, {"policy": "softmax", "precision": "float32"}, 0)
    assert default.precision == "float64" and "precision" not in default.settings()
    assert fast.settings()["precision"] == "float32"
    with pytest.raises(ValueError, match="precision"):
        family.behaviour_policy(env, {"policy": "softmax", "precision": "float16"}, 0)
