"""DSO and the prompt baselines: kernels, toy problems they must solve, persistence, bad input."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import agents
import recsim_envs  # noqa: F401
from agents.base import AgentError
from agents.prompt.dso import DSO, DSOConfig
from agents.prompt.gradients import kmeans
from agents.prompt.online import OnlinePG, train_online
from agents.prompt.reference import PromptLogging
from recsim_envs.core.policies import SoftmaxPolicy, UniformPolicy
from recsim_envs.data import collect
from recsim_envs.data.dataset import DatasetError
from recsim_envs.prompt.text.kernel import kernel_values

ENV_KW = {"n_prompts": 10, "reward_noise": 0.0, "n_eval": 1000}
STEPS = 800
LEARNERS = ["dso", "regression_pg", "is_pg", "dr_pg", "potec"]


@pytest.fixture(scope="module")
def env():
    return gym.make("recsim_envs/PromptSentence-v0", **ENV_KW).unwrapped


@pytest.fixture(scope="module")
def data(env):
    return collect(env, UniformPolicy(env.n_prompts), 1000, seed=0)


def fit(name, data, env, **kw):
    cfg = {"seed": 0, "n_steps": STEPS, "regressor_steps": 600, **kw}
    if name == "dso":
        cfg.setdefault("density_steps", 300)
        return agents.make(name, **cfg).fit(data, generator=env.generator)
    return agents.make(name, **cfg).fit(data)


# ---------------------------------------------------------------- components
def test_kernel_values_match_the_formula():
    a = np.array([[0.0, 0.0], [0.0, 0.0]])
    b = np.array([[2.0, 0.0], [6.0, 8.0]])
    # d = ||a - b|| / dim = 1 and 5
    np.testing.assert_allclose(kernel_values(a, b, "gaussian", 1.0), np.exp([-0.5, -12.5]))
    np.testing.assert_allclose(kernel_values(a, b, "gaussian", 2.0), np.exp([-0.125, -3.125]))
    np.testing.assert_array_equal(kernel_values(a, b, "uniform", 1.0), [1.0, 0.0])


def test_kmeans_recovers_separated_clusters():
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(c, 0.1, (20, 2)) for c in (0.0, 5.0, 10.0)])
    labels = kmeans(pts, 3, 20, np.random.default_rng(1))
    for block in range(3):
        assert len(set(labels[20 * block : 20 * (block + 1)])) == 1
    assert len(set(labels)) == 3


def test_agents_are_registered():
    for name in [*LEARNERS, "online_pg", "uniform", "prompt_logging"]:
        assert name in agents.registered()
    assert agents.resolve("dso") is DSO
    assert OnlinePG.offline is False


# ---------------------------------------------------------------- toy problems
@pytest.mark.parametrize("name", LEARNERS)
def test_learner_finds_good_prompts_on_a_small_noise_free_problem(name, env, data):
    # DSO's one-sample kernel gradient (no baseline, as in the reference) is noisier than
    # the others' on 10 prompts: it gets more steps. Measured at 1,500 steps (seed 0):
    # dso 0.56, regression 0.73, is 0.78, dr 0.89, potec 0.90; uniform is 0, best 1.
    agent = fit(name, data, env, n_steps=1500 if name == "dso" else STEPS)
    probs = agent.action_probs(data.context[:5])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert env.optimality(agent.action_probs) > 0.35


def test_dso_monte_carlo_and_fitted_densities_agree(env, data):
    mc = DSO(seed=0, n_steps=0, density="mc", n_mc=100).fit(data, generator=env.generator)
    model = DSO(seed=0, n_steps=0, density_steps=1500).fit(data, generator=env.generator)
    # Both are noisy (100 kernel draws per row; a 1,500-step fit); measured correlation 0.63.
    corr = np.corrcoef(mc.pi0_hat, model.pi0_hat)[0, 1]
    assert corr > 0.5
    assert 0.5 < model.pi0_hat.mean() / mc.pi0_hat.mean() < 2.0


def test_same_seed_gives_the_same_policy(env, data):
    a = fit("dso", data, env, n_steps=50, density_steps=20)
    b = fit("dso", data, env, n_steps=50, density_steps=20)
    np.testing.assert_array_equal(a.action_probs(data.context), b.action_probs(data.context))
    c = fit("dso", data, env, n_steps=50, density_steps=20, seed=1)
    assert not np.array_equal(a.action_probs(data.context), c.action_probs(data.context))


@pytest.mark.parametrize("name", ["dso", "potec", "dr_pg"])
def test_save_and_load_restore_the_policy(name, env, data, tmp_path):
    extra = {"density_steps": 10} if name == "dso" else {}
    agent = fit(name, data, env, n_steps=30, regressor_steps=30, **extra)
    back = type(agent).load(agent.save(tmp_path / f"{name}.pt"))
    np.testing.assert_allclose(
        back.action_probs(data.context), agent.action_probs(data.context), atol=1e-12
    )
    assert isinstance(agent.act(data.context[0]), int)
    assert agent.act(data.context).shape == (len(data),)


def test_prompt_logging_replays_the_behaviour_policy(env):
    pol = SoftmaxPolicy(lambda x: x[:, :1] * np.arange(env.n_prompts)[None], env.n_prompts)
    d = collect(env, pol, 100, seed=0)
    agent = PromptLogging().fit(d, behaviour=pol)
    np.testing.assert_allclose(agent.action_probs(d.context), pol.probs(d.context))
    assert env.policy_value(agent.action_probs) == pytest.approx(env.policy_value(pol.probs))
    with pytest.raises(AgentError, match="behaviour=policy"):
        PromptLogging().fit(d)


def test_uniform_agent_has_zero_optimality(env, data):
    agent = agents.make("uniform").fit(data)
    assert env.optimality(agent.action_probs) == pytest.approx(0.0, abs=1e-12)


def test_online_skyline_learns_from_environment_rewards(env, data):
    agent = OnlinePG(seed=0, batch_size=32).fit(data)
    vec = gym.make_vec(
        "recsim_envs/PromptSentence-v0", num_envs=32, vectorization_mode="vector_entry_point",
        **ENV_KW,
    )
    train_online(agent, vec, 400, seed=0)
    assert env.optimality(agent.action_probs) > 0.3


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("tau", [0.0, -1.0, float("nan")])
def test_non_positive_bandwidth_is_refused(tau):
    with pytest.raises(ValueError, match="bandwidth tau must be a positive number"):
        DSOConfig(bandwidth=tau)


def test_dataset_without_sentence_embeddings_is_refused(env, data):
    bare = dataclasses.replace(data, extras={"pi_b": data.extras["pi_b"]})
    with pytest.raises(DatasetError, match="no extras\\['sentence_embedding'\\]"):
        DSO(n_steps=1).fit(bare, generator=env.generator)


def test_dataset_without_behaviour_distribution_is_refused_by_dso_and_potec(env, data):
    bare = dataclasses.replace(
        data, extras={"sentence_embedding": data.extras["sentence_embedding"]}
    )
    with pytest.raises(DatasetError, match="pi_b"):
        DSO(n_steps=1).fit(bare, generator=env.generator)
    with pytest.raises(DatasetError, match="pi_b"):
        agents.make("potec", n_steps=1, regressor_steps=1).fit(bare)


def test_dso_without_a_generator_is_refused(data):
    with pytest.raises(AgentError, match="needs the frozen generator"):
        DSO(n_steps=1).fit(data)


def test_dso_with_a_generator_of_the_wrong_width_is_refused(data):
    other = gym.make("recsim_envs/PromptSentence-v0", n_prompts=10, dim_sentence=3).unwrapped
    with pytest.raises(AgentError, match="writes 3-dimensional embeddings"):
        DSO(n_steps=1).fit(data, generator=other.generator)


def test_generator_handle_exposes_no_reward(env):
    handle = env.generator
    assert not hasattr(handle, "expected") and not hasattr(handle, "user_weights")


def test_acting_before_fit_is_refused(data):
    with pytest.raises(AgentError, match="must be fit"):
        DSO().act(data.context[0])


def test_median_bandwidth_rule_scales_tau_to_the_sentence_distances(env, data):
    from recsim_envs.prompt.text.kernel import kernel_distance

    agent = DSO(seed=0, n_steps=0, density_steps=0, bandwidth=2.0, bandwidth_rule="median",
                embedding_noise=0.0).fit(data, generator=env.generator)
    s = data.extras["sentence_embedding"].astype(np.float64)
    d = kernel_distance(s[:-1], s[1:])
    assert agent.tau == pytest.approx(2.0 * np.median(d), rel=0.15)
    with pytest.raises(ValueError, match="bandwidth_rule"):
        DSOConfig(bandwidth_rule="silverman")


def test_dso_trains_with_the_text_generator_handle():
    text = gym.make("recsim_envs/PromptSentenceText-v0", n_prompts=12, n_mc=4,
                    n_eval=300).unwrapped
    d = collect(text, UniformPolicy(text.n_prompts), 300, seed=0)
    agent = DSO(seed=0, n_steps=100, density_steps=50, bandwidth_rule="median",
                embedding_noise=0.0).fit(d, generator=text.generator)
    assert agent.action_probs(d.context).shape == (300, 12)
    assert np.isfinite(text.optimality(agent.action_probs))
