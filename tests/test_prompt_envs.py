"""The prompt-to-sentence environments: generative process, exact values, logging, bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401
from recsim_envs.core.policies import SoftmaxPolicy, UniformPolicy
from recsim_envs.data import LoggedDataset, collect
from recsim_envs.prompt.envs import PromptSentenceEnv
from recsim_envs.prompt.text.components import (
    BilinearSentenceReward,
    GaussianSentenceGenerator,
    small_matmul,
)
from recsim_envs.prompt.text_envs import PromptSentenceTextEnv

SMALL = {"n_prompts": 20, "n_eval": 500}
TEXT_SMALL = {"n_prompts": 12, "n_mc": 4, "n_eval": 300}


@pytest.fixture(scope="module")
def env() -> PromptSentenceEnv:
    return gym.make("recsim_envs/PromptSentence-v0", **SMALL).unwrapped


@pytest.fixture(scope="module")
def text_env() -> PromptSentenceTextEnv:
    return gym.make("recsim_envs/PromptSentenceText-v0", **TEXT_SMALL).unwrapped


# ---------------------------------------------------------------- generative process
def test_generator_mean_matches_the_hand_computed_formula():
    m = np.array([[1.0, 0.0], [0.0, 2.0]])
    n = np.array([[0.5, 0.0], [0.0, 1.0]])
    e = np.array([[np.pi, 0.0], [0.0, np.pi / 2]])
    gen = GaussianSentenceGenerator(m, n, e, noise_std=0.0)
    q = np.array([[1.0, 1.0], [2.0, 0.0]])
    out = gen.mean(q, np.array([0, 1]))
    # row 0: q M = [1, 2]; e_0 N = [pi/2, 0] -> 5 sin = [5, 0]
    # row 1: q M = [2, 0]; e_1 N = [0, pi/2] -> 5 sin = [0, 5]
    np.testing.assert_allclose(out, [[6.0, 2.0], [2.0, 5.0]], atol=1e-12)
    assert gen.generate(q, np.array([0, 1]), np.random.default_rng(0)).shape == (2, 2)


def test_bilinear_reward_is_the_scaled_dot_product():
    rew = BilinearSentenceReward(np.eye(2), 2 * np.eye(2), scale=0.5)
    x, q, o = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[3.0, 4.0]])
    # (x Q + q R) = [1, 2]; . o = 11; * 0.5
    np.testing.assert_allclose(rew.expected(x, q, o), [5.5])


def test_small_matmul_equals_matmul():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 5)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(small_matmul(a, b), a @ b, atol=1e-12)


def test_published_code_quirk_doubles_the_sentence_and_shares_matrices():
    quirk = PromptSentenceEnv(published_code_quirk=True, **SMALL)
    np.testing.assert_array_equal(quirk.generator.query_weights, quirk.reward_model.user_weights)
    np.testing.assert_array_equal(quirk.generator.prompt_weights, quirk.reward_model.query_weights)
    assert quirk.generator.repeat == 2.0
    plain = PromptSentenceEnv(**SMALL)
    assert plain.generator.repeat == 1.0
    assert not np.array_equal(plain.generator.query_weights, plain.reward_model.user_weights)


def test_expected_reward_matrix_matches_a_monte_carlo_average(env):
    ctx = env.sample_contexts(3, np.random.default_rng(1))
    exact = env.expected_reward_matrix(ctx)
    rng = np.random.default_rng(2)
    n = 20_000
    for i, a in [(0, 3), (1, 7), (2, 19)]:
        rows = np.repeat(ctx[i : i + 1], n, axis=0).astype(np.float64)
        user, query = env.split(rows)
        emb = env.generator.generate(query, np.full(n, a), rng)
        mc = env.reward_model.expected(user, query, emb)
        assert abs(mc.mean() - exact[i, a]) < 4 * mc.std() / np.sqrt(n) + 1e-9
    np.testing.assert_allclose(
        env.expected_reward(ctx, np.array([3, 7, 19])), exact[[0, 1, 2], [3, 7, 19]], atol=1e-10
    )


def test_optimality_is_zero_for_uniform_and_one_for_the_best_policy(env):
    n_p = env.n_prompts

    def best(obs):
        m = env.expected_reward_matrix(obs)
        return np.eye(n_p)[m.argmax(1)]

    assert env.optimality(lambda obs: np.full((len(obs), n_p), 1 / n_p)) == pytest.approx(0.0)
    assert env.optimality(best) == pytest.approx(1.0)
    assert env.best_value() > env.uniform_value()


def test_world_is_fixed_by_world_seed_and_episodes_by_reset_seed():
    a, b = PromptSentenceEnv(world_seed=3, **SMALL), PromptSentenceEnv(world_seed=3, **SMALL)
    np.testing.assert_array_equal(a.generator.prompt_embeddings, b.generator.prompt_embeddings)
    c = PromptSentenceEnv(world_seed=4, **SMALL)
    assert not np.array_equal(a.generator.prompt_embeddings, c.generator.prompt_embeddings)
    oa, _ = a.reset(seed=9)
    ob, _ = b.reset(seed=9)
    np.testing.assert_array_equal(oa, ob)
    ra, rb = a.step(4), b.step(4)
    assert ra[1] == rb[1]
    np.testing.assert_array_equal(ra[4]["sentence_embedding"], rb[4]["sentence_embedding"])


def test_step_info_carries_the_sentence_embedding_and_expected_reward(env):
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(5)
    assert terminated and not truncated
    assert info["sentence_embedding"].shape == (5,)
    expected = env.expected_reward(obs[None], np.array([5]))[0]
    assert info["expected_reward"] == pytest.approx(expected)
    assert np.isfinite(reward)


def test_reward_noise_zero_gives_the_sentence_reward():
    e = PromptSentenceEnv(reward_noise=0.0, **SMALL)
    e.reset(seed=1)
    _, r, _, _, info = e.step(2)
    assert r == pytest.approx(info["sentence_expected_reward"])


def test_render_ansi_shows_the_round():
    e = gym.make("recsim_envs/PromptSentenceText-v0", render_mode="ansi", **TEXT_SMALL)
    e.reset(seed=0)
    _, _, _, _, info = e.step(1)
    text = e.render()
    assert "prompt 1" in text and info["sentence"] in text


# ---------------------------------------------------------------- logging
def test_log_rounds_is_exact_and_deterministic(env):
    pol = SoftmaxPolicy(lambda x: x[:, :1] * np.arange(env.n_prompts)[None], env.n_prompts)
    d1 = collect(env, pol, 300, seed=5)
    d2 = collect(env, pol, 300, seed=5)
    for name in ("context", "action", "pscore", "reward", "expected_reward"):
        np.testing.assert_array_equal(getattr(d1, name), getattr(d2, name))
    np.testing.assert_array_equal(d1.extras["sentence_embedding"], d2.extras["sentence_embedding"])
    probs = pol.probs(d1.context)
    np.testing.assert_allclose(d1.pscore, probs[np.arange(300), d1.action])
    np.testing.assert_allclose(d1.extras["pi_b"], probs, rtol=1e-6, atol=1e-7)
    assert d1.extras["sentence_embedding"].shape == (300, 5)
    assert d1.system["prompt_embeddings"].shape == (env.n_prompts, 5)
    assert d1.meta.info["family"] == "prompt" and d1.meta.info["query_slice"] == [5, 10]
    np.testing.assert_allclose(
        d1.expected_reward, env.expected_reward(d1.context, d1.action), rtol=1e-5, atol=1e-6
    )


def test_logged_rewards_are_unbiased_for_expected_rewards(env):
    d = collect(env, UniformPolicy(env.n_prompts), 4000, seed=0)
    resid = d.reward - d.expected_reward
    # noise: generator (through the reward direction) plus reward noise of std 1
    assert abs(resid.mean()) < 4 * resid.std() / np.sqrt(len(resid))
    assert 0.9 < resid.std() < 1.2


def test_logged_dataset_round_trips_through_parquet(env, tmp_path):
    d = collect(env, UniformPolicy(env.n_prompts), 50, seed=1)
    back = LoggedDataset.load(d.save(tmp_path / "p.parquet"))
    np.testing.assert_array_equal(back.extras["sentence_embedding"], d.extras["sentence_embedding"])
    np.testing.assert_array_equal(back.system["prompt_embeddings"], d.system["prompt_embeddings"])
    assert back.meta.info["query_slice"] == [5, 10]


def test_log_pi_b_false_leaves_out_the_distribution():
    e = PromptSentenceEnv(log_pi_b=False, **SMALL)
    d = collect(e, UniformPolicy(e.n_prompts), 20, seed=0)
    assert "pi_b" not in d.extras and "sentence_embedding" in d.extras


def test_reference_behaviour_policy_is_near_uniform_but_better():
    from recsim_envs.prompt.behaviour import reference_behaviour_policy

    e = PromptSentenceEnv(n_prompts=50, n_eval=1000)
    pol = reference_behaviour_policy(e, seed=0, n_rounds=2000, regressor_steps=500)
    probs = pol.probs(e.eval_contexts)
    assert probs.shape == (1000, 50)
    assert probs.max() < 0.5  # softmax with beta = 1 over small rewards: close to uniform
    assert e.policy_value(pol.probs) > e.uniform_value()


# ---------------------------------------------------------------- text environment
def test_text_sentences_follow_the_prompt_and_the_query(text_env):
    from recsim_envs.prompt.text.writer import ASPECTS, GENRES, TONES

    rng = np.random.default_rng(0)
    ctx = text_env.sample_contexts(400, rng)
    ids = np.zeros(400, dtype=np.int64)
    _, text = text_env._generate(text_env.split(ctx)[1], ids, rng, with_text=True)
    tone = TONES[text_env.writer.prompt_tone[0]]
    aspect = ASPECTS[text_env.writer.prompt_aspect[0]]
    share = np.mean([f" {tone} " in s and aspect in s for s in text])
    assert 0.4 < share < 0.75  # both words kept with probability about 0.7^2 (+ chance)
    genre = text_env.writer.parse_query(text_env.split(ctx)[1])[0]
    assert all(any(p in s for p in GENRES[g]) for s, g in zip(text, genre, strict=True))


def test_fast_template_encoding_equals_encoding_the_text(text_env):
    rng = np.random.default_rng(3)
    ctx = text_env.sample_contexts(64, rng)
    ids = rng.integers(0, text_env.n_prompts, 64)
    noise = text_env.writer.draw_noise(64, rng)
    emb, text = text_env.generator.write(text_env.split(ctx)[1], ids, noise, with_text=True)
    np.testing.assert_allclose(emb, text_env.encoder.encode(text), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0)


def test_hashed_encoder_is_deterministic_and_similar_for_shared_words():
    from recsim_envs.prompt.text.encoders import HashedNGramEncoder

    enc = HashedNGramEncoder(dim=64, seed=0)
    a, b, c = enc.encode(["a thrilling space movie", "a thrilling space film", "quiet poem"])
    np.testing.assert_array_equal(a, HashedNGramEncoder(dim=64, seed=0).encode(
        ["a thrilling space movie"])[0])
    assert a @ b > a @ c + 0.3


def test_text_expected_reward_is_close_to_a_fresh_monte_carlo(text_env):
    ctx = text_env.sample_contexts(1, np.random.default_rng(4))
    user, query = text_env.split(np.repeat(ctx, 4000, axis=0))
    rng = np.random.default_rng(5)
    for a in (0, 5):
        emb, _ = text_env._generate(query, np.full(4000, a), rng)
        fresh = text_env.reward_model.expected(user, query, emb)
        # the table uses n_mc = 4 sentences: allow its Monte Carlo error
        tol = 5 * fresh.std() / np.sqrt(text_env.n_mc) + 1e-9
        assert abs(fresh.mean() - text_env.expected_reward(ctx, np.array([a]))[0]) < tol


def test_text_reward_scale_gives_the_requested_gap(text_env):
    assert text_env.best_value() - text_env.uniform_value() == pytest.approx(0.5, rel=1e-6)


# ---------------------------------------------------------------- bad input
def test_unknown_prompt_index_is_refused(env):
    env.reset(seed=0)
    with pytest.raises(ValueError, match="unknown prompt index 20"):
        env.step(20)
    with pytest.raises(ValueError, match="unknown prompt index -1"):
        env.step(-1)
    with pytest.raises(ValueError, match="unknown prompt index"):
        env.expected_reward(env.eval_contexts[:1], np.array([99]))


@pytest.mark.parametrize("n_prompts", [5, 10_001])
def test_n_prompts_out_of_range_is_refused(n_prompts):
    with pytest.raises(ValueError, match="n_prompts must be between 10 and 10,000"):
        PromptSentenceEnv(n_prompts=n_prompts)


def test_encoder_of_the_wrong_dimension_is_refused():
    class Wrong:
        dim = 32

        def encode(self, sentences):
            return np.ones((len(sentences), 16))

    with pytest.raises(ValueError, match="declares dim=32 but returned an embedding of shape"):
        PromptSentenceTextEnv(encoder=Wrong(), **TEXT_SMALL)


def test_encoder_that_disagrees_with_the_reward_model_is_refused():
    from recsim_envs.prompt.text.encoders import HashedNGramEncoder

    reward = BilinearSentenceReward(np.ones((5, 8)), np.ones((15, 8)))
    with pytest.raises(ValueError, match="reads 8-dimensional embeddings but the encoder"):
        PromptSentenceTextEnv(encoder=HashedNGramEncoder(dim=32), reward_model=reward,
                              **TEXT_SMALL)


def test_plugged_in_encoder_is_used_through_the_text(text_env):
    from recsim_envs.prompt.text.encoders import HashedNGramEncoder

    class Plain:
        """A plug-in encoder: not the built-in class, so the env must encode the text."""

        def __init__(self):
            self.inner = HashedNGramEncoder(dim=16, seed=1)
            self.dim = 16
            self.calls = 0

        def encode(self, sentences):
            self.calls += 1
            return self.inner.encode(sentences)

    enc = Plain()
    e = PromptSentenceTextEnv(encoder=enc, n_prompts=10, n_mc=2, n_eval=50)
    calls = enc.calls
    e.reset(seed=0)
    _, _, _, _, info = e.step(3)
    assert enc.calls == calls + 1 and info["sentence_embedding"].shape == (16,)


def test_sentence_transformer_encoder_needs_a_local_model(tmp_path):
    from recsim_envs.prompt.text.encoders import SentenceTransformerEncoder

    with pytest.raises(FileNotFoundError, match="never downloads"):
        SentenceTransformerEncoder(tmp_path / "missing")
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="sentence-transformers"):
            SentenceTransformerEncoder(tmp_path)


def test_behaviour_policy_of_the_wrong_size_is_refused(env):
    with pytest.raises(ValueError, match="has 7 actions but the environment has 20 prompts"):
        collect(env, UniformPolicy(7), 10, seed=0)
