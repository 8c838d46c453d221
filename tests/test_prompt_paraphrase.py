"""The paraphrase text world, the fairness diagnostics, DSO's bandwidth rule and the suite's
caches (issue 12)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401
from agents.prompt.dso import DSO
from recsim_envs.__main__ import main
from recsim_envs.core.policies import UniformPolicy
from recsim_envs.data import collect
from recsim_envs.prompt.text.components import BilinearSentenceReward, GaussianSentenceGenerator
from recsim_envs.prompt.text.diagnostics import (
    best_fixed_optimality,
    diagnose,
    kernel_contrast,
    keyword_r2,
    prompt_variance_share,
)
from recsim_envs.prompt.text.kernel import kernel_distance
from recsim_envs.prompt.text.paraphrase import make_paraphrase_writer
from recsim_envs.prompt.text_envs import PromptSentenceTextEnv

SMALL = {"n_prompts": 40, "n_paraphrases": 4, "n_mc": 4, "n_eval": 300}


@pytest.fixture(scope="module")
def para() -> PromptSentenceTextEnv:
    return gym.make("recsim_envs/PromptSentenceParaphrase-v0", **SMALL).unwrapped


# ---------------------------------------------------------------- the paraphrase world
def test_paraphrases_of_one_intent_write_the_same_sentences_from_the_same_noise():
    writer = make_paraphrase_writer(40, np.random.default_rng(0), n_paraphrases=4)
    group = writer.prompt_group
    a, b = np.flatnonzero(group == group[0])[:2]
    q = np.zeros((1, 15))
    q[0, [0, 6, 11]] = 1.0
    noise = writer.draw_noise(50, np.random.default_rng(1))
    qs = np.repeat(q, 50, axis=0)
    same_a = writer.choices(qs, np.full(50, a), noise)
    same_b = writer.choices(qs, np.full(50, b), noise)
    np.testing.assert_array_equal(same_a, same_b)
    texts = writer.prompt_text(np.array([a, b]))
    assert texts[0] != texts[1]  # two paraphrases, one effect


def test_every_intent_has_about_n_paraphrases_distinct_texts():
    writer = make_paraphrase_writer(40, np.random.default_rng(0), n_paraphrases=4)
    assert np.bincount(writer.prompt_group).tolist() == [4] * 10
    assert len(set(writer.prompt_text())) == 40


def test_prompts_of_one_group_have_equal_expected_rewards(para):
    m = para.expected_reward_matrix(para.eval_contexts[:50])
    for g in range(4):
        cols = m[:, para.prompt_group == g]
        np.testing.assert_allclose(cols, cols[:, :1].repeat(cols.shape[1], axis=1))
    ids = np.arange(50) % para.n_prompts
    np.testing.assert_allclose(para.expected_reward(para.eval_contexts[:50], ids),
                               m[np.arange(50), ids])


def test_the_query_offset_is_subtracted_before_the_query_weights():
    rew = BilinearSentenceReward(np.eye(2), np.eye(2), scale=1.0, query_offset=[1.0, 0.0])
    # x Q + (q - offset) R = [0, 0] + [0, 1]; . o = 4
    assert rew.expected(np.zeros((1, 2)), np.array([[1.0, 1.0]]), np.array([[3.0, 4.0]]))[0] == 4
    with pytest.raises(ValueError, match="query_offset must have shape"):
        BilinearSentenceReward(np.eye(2), np.eye(2), query_offset=[1.0])


def test_an_unknown_world_or_too_many_prompts_is_refused():
    with pytest.raises(ValueError, match="world must be one of"):
        PromptSentenceTextEnv(world="poetry", n_prompts=10)
    with pytest.raises(ValueError, match="n_prompts must be between"):
        gym.make("recsim_envs/PromptSentenceParaphrase-v0", n_prompts=5)
    with pytest.raises(ValueError, match="paraphrase world"):
        gym.make("recsim_envs/PromptSentenceParaphrase-v0", world="keywords")


def test_a_shared_world_reuses_its_table_and_a_rebuilt_one_gives_the_same_values(para):
    # no process-wide cache: a world passed as built_world is reused, one rebuilt from the
    # same settings is equal element-wise
    from recsim_envs.prompt.text_envs import PromptSentenceParaphraseEnv

    world = PromptSentenceParaphraseEnv.build_world(**SMALL)
    shared = gym.make("recsim_envs/PromptSentenceParaphrase-v0", **SMALL,
                      built_world=world).unwrapped
    assert shared.group_embeddings is world.world["group_embeddings"]
    again = gym.make("recsim_envs/PromptSentenceParaphrase-v0", **SMALL).unwrapped
    assert again.group_embeddings is not para.group_embeddings
    np.testing.assert_array_equal(again.group_embeddings, para.group_embeddings)
    np.testing.assert_array_equal(again.eval_reward_matrix, para.eval_reward_matrix)
    np.testing.assert_array_equal(shared.eval_reward_matrix, para.eval_reward_matrix)


# ---------------------------------------------------------------- diagnostics
def _toy_env(amplitude: float, noise: float, n_prompts: int = 20):
    """A synthetic generator world without a reward: o = q M + amplitude sin(e_a N) + noise."""
    rng = np.random.default_rng(0)
    gen = GaussianSentenceGenerator(rng.standard_normal((3, 3)), rng.standard_normal((3, 3)),
                                    rng.standard_normal((n_prompts, 3)), noise_std=noise,
                                    amplitude=amplitude)
    return SimpleNamespace(
        n_prompts=n_prompts, generator=gen,
        sample_contexts=lambda n, r: r.standard_normal((n, 3)),
        split=lambda c: (c[:, :0], c),
    )


def test_a_prompt_without_effect_gives_contrast_one_and_no_variance_share():
    env = _toy_env(amplitude=0.0, noise=1.0)
    rng = np.random.default_rng(0)
    assert kernel_contrast(env, 0.5, rng, n=20_000) == pytest.approx(1.0, abs=0.03)
    assert prompt_variance_share(env, rng) == pytest.approx(0.0, abs=0.03)


def test_a_prompt_that_fixes_the_sentence_gives_a_large_contrast_and_full_share():
    env = _toy_env(amplitude=5.0, noise=0.01)
    rng = np.random.default_rng(0)
    assert kernel_contrast(env, 0.1, rng, n=2000) > 5.0
    assert prompt_variance_share(env, rng) > 0.99


def test_best_fixed_optimality_is_the_best_column_mean_normalised():
    # uniform value 0.5, best 1.0, best column mean 2/3 -> (2/3 - 1/2) / (1 - 1/2) = 1/3
    env = SimpleNamespace(eval_reward_matrix=np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]))
    assert best_fixed_optimality(env) == pytest.approx(1 / 3)


def test_keyword_r2_is_one_for_linear_effects_and_low_for_unrelated_features():
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((60, 3))
    coef = rng.standard_normal((3, 40))
    ctx = np.zeros((40, 1))

    def env_with(f):
        return SimpleNamespace(n_prompts=60, eval_contexts=ctx,
                               expected_reward_matrix=lambda c: (feats @ coef).T[: len(c)],
                               system_prompt_embeddings=lambda: f)

    assert keyword_r2(env_with(feats), n_contexts=40) == pytest.approx(1.0, abs=1e-9)
    assert keyword_r2(env_with(rng.standard_normal((60, 3))), n_contexts=40) < 0.3


def test_diagnose_reports_all_four_numbers_for_the_paraphrase_world(para):
    d = diagnose(para, n_pairs=500)
    assert d.n_groups == 10 and d.bandwidth_rule == "within_query" and d.bandwidth > 0
    assert d.kernel_contrast > 1.0
    assert 0.0 < d.prompt_variance_share < 1.0
    # 40 prompts, 33 features: out-of-fold R^2 may be below 0 (worse than no effect at all)
    assert d.keyword_r2 < 1.0 and 0.0 <= d.best_fixed_optimality <= 1.0


def test_the_cli_prints_the_diagnostics_as_json(capsys):
    assert main(["prompt-diagnostics", "recsim_envs/PromptSentence-v0",
                 "--kwargs", json.dumps({"n_prompts": 20, "n_eval": 200}),
                 "--embedding-noise", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"kernel_contrast", "prompt_variance_share", "keyword_r2",
            "best_fixed_optimality", "bandwidth"} <= set(out)


# ---------------------------------------------------------------- DSO's bandwidth rule
@pytest.fixture(scope="module")
def synthetic_data():
    env = gym.make("recsim_envs/PromptSentence-v0", n_prompts=20, n_eval=200).unwrapped
    return env, collect(env, UniformPolicy(20), 400, seed=0)


def test_within_query_tau_is_the_factor_times_the_median_within_query_distance(
        synthetic_data):
    env, data = synthetic_data
    taus = [DSO(seed=0, n_steps=0, density_steps=0, bandwidth=b).fit(
        data, generator=env.generator).tau for b in (0.5, 1.0)]
    assert taus[1] == pytest.approx(2 * taus[0])  # same seed, same draws
    # the scale: sentences of one query under two prompts, with the reference's noise 1
    rng = np.random.default_rng(0)
    q = data.context[:, 5:].astype(np.float64)
    a, b = rng.integers(0, 20, (2, len(q)))
    d = kernel_distance(env.generator.generate(q, a, rng) + rng.standard_normal((len(q), 5)),
                        env.generator.generate(q, b, rng) + rng.standard_normal((len(q), 5)))
    assert taus[1] == pytest.approx(np.median(d), rel=0.15)


def test_dso_picks_text_settings_for_unit_norm_embeddings(para, synthetic_data):
    env, data = synthetic_data
    agent = DSO(seed=0, n_steps=0, density_steps=0).fit(data, generator=env.generator)
    assert (agent.embedding_noise, agent.density) == (1.0, "model")
    text = collect(para, UniformPolicy(para.n_prompts), 200, seed=0)
    agent = DSO(seed=0, n_steps=0, n_mc=4).fit(text, generator=para.generator)
    assert (agent.embedding_noise, agent.density) == (0.0, "mc")
    assert agent.tau < 0.1  # unit-norm sentences: distances / 32 are small


def test_the_behaviour_policy_is_a_function_of_world_and_seed(para):
    # built once per cell (no process-wide cache): the same world and seed give the same
    # policy, another seed another one
    from recsim_envs.prompt.harness import HARNESS

    settings = {"policy": "reference", "n_rounds": 200, "regressor_steps": 5}
    ctx = para.sample_contexts(20, np.random.default_rng(0))
    first = HARNESS.behaviour_policy(para, settings, seed=3).probs(ctx)
    np.testing.assert_array_equal(HARNESS.behaviour_policy(para, settings, seed=3).probs(ctx),
                                  first)
    assert not np.array_equal(HARNESS.behaviour_policy(para, settings, seed=4).probs(ctx), first)
