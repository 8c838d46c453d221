"""Two-stage logging keeps its bits: the shown-item propensity and the logged columns equal
the plain implementations they replaced for speed (issue 23), ties and edge cases included."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401
from recsim_envs.core.policies import (
    EpsilonGreedyPolicy,
    SoftmaxPolicy,
    UniformPolicy,
    draw_actions,
)
from recsim_envs.two_stage.ranker import _no_higher_mask, shown_item_probability

ENV = "recsim_envs/TwoStageSynthetic-v0"


def _probability_reference(probs, ranker_scores, shown, n_candidates):
    """shown_item_probability as written before issue 23's speed work: the mask of items
    ranked no higher than the shown one in five passes, one block of rows."""
    n, n_items = probs.shape
    rows = np.arange(n)
    s_a = ranker_scores[rows, shown][:, None]
    ids = np.arange(n_items)
    no_higher = (ranker_scores < s_a) | ((ranker_scores == s_a) & (ids >= shown[:, None]))
    mass = np.einsum("ij,ij->i", probs, no_higher, dtype=np.float64)
    p_a = probs[rows, shown].astype(np.float64)
    mass = np.maximum(mass, p_a)
    ratio = np.clip(p_a / np.where(mass > 0, mass, 1.0), 0.0, 1.0)
    mass = np.minimum(mass, 1.0)
    with np.errstate(divide="ignore"):
        prob = mass**n_candidates * -np.expm1(n_candidates * np.log1p(-ratio))
    return np.minimum(prob, 1.0)


def _tied_scores(rng, n, n_items, levels):
    """float32 ranker scores with few distinct values (many exact ties), some -0.0 and
    +0.0 (equal scores with different bits) and some NaN."""
    scores = rng.integers(-levels, levels + 1, size=(n, n_items)).astype(np.float32)
    scores[rng.random((n, n_items)) < 0.05] = -0.0
    scores[rng.random((n, n_items)) < 0.01] = np.nan
    return scores


@pytest.mark.parametrize("n, n_items, levels", [
    (600, 1000, 3),  # several blocks of rows, most rows with ties
    (300, 50, 0),  # every score 0 / -0 / NaN: ties everywhere
    (40, 1, 2),  # one item
    (0, 10, 2),  # no rows
    (257, 20, 10_000),  # few ties
])
def test_the_mask_and_the_propensity_have_the_bits_of_the_plain_version(n, n_items, levels):
    rng = np.random.default_rng(n + n_items)
    scores = _tied_scores(rng, n, n_items, levels)
    shown = rng.integers(0, n_items, n)
    s_a = scores[np.arange(n), shown][:, None]
    expected = (scores < s_a) | ((scores == s_a) & (np.arange(n_items) >= shown[:, None]))
    np.testing.assert_array_equal(_no_higher_mask(scores, s_a, shown), expected)
    for probs in (rng.dirichlet(np.ones(n_items), n) if n else np.zeros((0, n_items)),
                  rng.random((n, n_items)).astype(np.float32)):
        np.testing.assert_array_equal(shown_item_probability(probs, scores, shown, 7),
                                      _probability_reference(probs, scores, shown, 7))


def test_a_tie_below_the_shown_id_is_ranked_above_it():
    """Hand-checked: items 0 and 2 tie at the top; the ranker puts 0 first, so when item 2
    is shown, item 0 is not among the items ranked no higher than it."""
    scores = np.array([[1.0, 0.0, 1.0, 0.5]], dtype=np.float32)
    probs = np.array([[0.4, 0.1, 0.2, 0.3]])
    assert _no_higher_mask(scores, scores[:, [2]], np.array([2])).tolist() == [
        [False, True, True, True]]
    # P(first = 2) = S^k - (S - p)^k with S = 0.1 + 0.2 + 0.3 = 0.6, p = 0.2, k = 2.
    np.testing.assert_allclose(shown_item_probability(probs, scores, np.array([2]), 2),
                               0.6**2 - 0.4**2)


def _log_reference(env, policy, n_rounds, rng, chunk_cells):
    """The logged columns as log_rounds built them before issue 23: per-chunk lists,
    concatenated at the end."""
    chunk = max(1, chunk_cells // env.n_items)
    parts = {k: [] for k in ("context", "action", "pscore", "reward", "expected_reward",
                             "candidates", "shown", "clicks")}
    k = env.n_candidates
    for start in range(0, n_rounds, chunk):
        m = min(chunk, n_rounds - start)
        users = env.world.users.from_uniforms(rng.random((m, env.world.users.n_uniforms)))
        candidates, probs = draw_actions(policy, users.features, k, rng)
        shown, click_p, clicks = env.respond(users, candidates, rng.random((m, env.slate_size)))
        first = shown[:, 0]
        pscore = _probability_reference(probs, env.world.ranker.scores_all(users.features),
                                        first, k)
        for name, value in (("context", users.features), ("action", first),
                            ("pscore", pscore), ("reward", clicks[:, 0].astype(np.float32)),
                            ("expected_reward", click_p[:, 0]),
                            ("candidates", candidates.astype(np.int32)), ("shown", shown),
                            ("clicks", clicks.astype(np.int8))):
            parts[name].append(value)
    return {name: np.concatenate(v) for name, v in parts.items()}


@pytest.mark.parametrize("policy_name", ["softmax", "softmax32", "uniform", "epsilon"])
@pytest.mark.parametrize("n_rounds, chunk_cells, slate_size", [
    (1_000, 200 * 300, 1),  # chunks of 300 rows, a partial last one
    (601, 200 * 300, 1),  # a last chunk of one row
    (900, 200 * 900, 3),  # one chunk of 900 rows (blocks of 256 and a tail), slates
])
def test_log_rounds_logs_what_the_plain_loop_logged(policy_name, n_rounds, chunk_cells,
                                                    slate_size):
    env = gym.make(ENV, n_items=200, n_candidates=12, slate_size=slate_size).unwrapped
    scorer = env.behaviour_scorer()
    policy = {"softmax": SoftmaxPolicy(scorer, 200, 0.5),
              "softmax32": SoftmaxPolicy(scorer, 200, 0.5, precision="float32"),
              "uniform": UniformPolicy(200),
              "epsilon": EpsilonGreedyPolicy(scorer, 200, 0.2)}[policy_name]
    data = env.log_rounds(policy, n_rounds, np.random.default_rng(5), chunk_cells=chunk_cells)
    ref = _log_reference(env, policy, n_rounds, np.random.default_rng(5), chunk_cells)
    got = {"context": data.context, "action": data.action, "pscore": data.pscore,
           "reward": data.reward, "expected_reward": data.expected_reward,
           "candidates": data.extras["candidates"]}
    if slate_size > 1:
        got.update(shown=data.extras["shown"], clicks=data.extras["clicks"])
    else:
        assert set(data.extras) == {"candidates"}
    for name, value in got.items():
        assert value.dtype == ref[name].dtype, name
        np.testing.assert_array_equal(value, ref[name], err_msg=name)
    assert data.meta.env_kwargs == dataclasses.asdict(env.config)


def test_log_rounds_refuses_zero_rounds():
    env = gym.make(ENV, n_items=20, n_candidates=3).unwrapped
    with pytest.raises(ValueError, match="n_rounds must be >= 1"):
        env.log_rounds(UniformPolicy(20), 0, np.random.default_rng(0))
