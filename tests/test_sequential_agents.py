"""Sequential agents and the online harness: protocol, known optima, determinism, checkpoints."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import agents
from agents.base import AgentError
from agents.sequential.ialp import IALP, AIALPAdaptive, AIALPFineTune, LLMGreedy
from recsim_envs.data import collect
from recsim_envs.evaluation.learning import OnlineConfig, make_flat_env, run_online
from recsim_envs.sequential.behaviour import sequential_behaviour_policy
from recsim_envs.sequential.envs import ENV_ID

SMALL = {"n_users": 40, "n_items": 30}
FAST = {"n_imagined_sessions": 40, "session_len": 5, "rm_updates": 150, "ac_updates": 150,
        "batch_size": 128}


@pytest.fixture(scope="module")
def setup():
    env = gym.make(ENV_ID, **SMALL)
    data = collect(ENV_ID, sequential_behaviour_policy(env), 600, seed=0, **SMALL)
    return env, data


@pytest.fixture(scope="module")
def pretrained(setup):
    env, data = setup
    return IALP(seed=0, **FAST).fit(data, llm=env.unwrapped.make_llm_user(alignment=0.5))


def test_every_sequential_name_is_registered():
    for name in ("ialp", "a_ialp_ft", "a_ialp_ap", "bc", "llm_greedy", "ppo", "dqn",
                 "seq_random", "seq_oracle", "no_repeat_popular"):
        assert name in agents.registered(), name
        assert agents.resolve(name).name == name


def test_ialp_pretraining_is_deterministic_and_learns_the_stated_preferences(setup, pretrained):
    env, data = setup
    again = IALP(seed=0, **FAST).fit(data, llm=env.unwrapped.make_llm_user(alignment=0.5))
    for a, b in zip(pretrained.actor.parameters(), again.actor.parameters(), strict=True):
        assert torch.equal(a, b)
    assert pretrained.fit_info["rm_pair_accuracy"] > 0.75
    assert pretrained.fit_info["n_logged"] == 600
    probs = pretrained.item_probs(data.context[:7])
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    acts = pretrained.act(data.context[:7])
    assert acts.shape == (7,) and ((acts >= 0) & (acts < 30)).all()
    assert isinstance(pretrained.act(data.context[0]), int)


def test_ialp_without_the_language_model_or_with_wrong_observations_is_refused(setup):
    _, data = setup
    with pytest.raises(AgentError, match="make_llm_user"):
        IALP().fit(data)
    with pytest.raises(AgentError, match="must be fit"):
        IALP().act(data.context[0])


def test_ialp_checkpoint_reproduces_actions(tmp_path, setup, pretrained):
    _, data = setup
    loaded = IALP.load(pretrained.save(tmp_path / "ialp.pt"))
    np.testing.assert_array_equal(loaded.act(data.context), pretrained.act(data.context))


def test_oracle_reaches_the_hand_computed_optimum_when_nobody_quits(setup):
    # quit_window=1: no quitting, so the optimum is the best rating every turn.
    kwargs = {**SMALL, "quit_window": 1, "max_turns": 6}
    env = gym.make(ENV_ID, **kwargs)
    data = collect(ENV_ID, sequential_behaviour_policy(env), 50, seed=0, **kwargs)
    oracle = agents.make("seq_oracle").fit(data)
    res = run_online(oracle, OnlineConfig(env_kwargs=kwargs, n_epochs=1, episodes_per_epoch=2))
    w = env.unwrapped.world
    expected = 6 * w.ratings[w.test_users].max(axis=1).mean()
    np.testing.assert_allclose(res.eval_return, expected)
    np.testing.assert_allclose(res.eval_length, 6)


def test_harness_hands_every_training_step_to_observe_and_none_during_evaluation(setup):
    _, data = setup

    class Recorder(agents.BaseAgent):
        name = "recorder"
        Config = type(None)

        def __init__(self):
            self.steps, self.ends, self.rewards = 0, 0, 0.0
            self.fitted = True

        def fit(self, dataset, deployment=None):
            return self

        def act(self, obs):
            obs = np.asarray(obs)
            return 0 if obs.ndim == 1 else np.zeros(len(obs), np.int64)

        explore = act  # an online learner acts through explore while it learns

        def observe(self, obs, action, reward, next_obs, terminated, truncated):
            assert obs.shape == next_obs.shape == (1 + 14 + 10,)
            self.steps += 1
            self.ends += terminated or truncated
            self.rewards += reward

    rec = Recorder()
    cfg = OnlineConfig(env_kwargs=SMALL, n_epochs=2, episodes_per_epoch=3)
    res = run_online(rec, cfg)
    assert rec.steps == round(res.train_length.sum() * 3)
    assert rec.ends == 6
    np.testing.assert_allclose(rec.rewards, res.train_return.sum() * 3)
    # always item 0: the second turn repeats it and the user quits
    np.testing.assert_allclose(res.eval_length, 2)


def test_online_variants_learn_only_what_they_should(setup, pretrained):
    cfg = OnlineConfig(env_kwargs=SMALL, n_epochs=1, episodes_per_epoch=4)
    ft = AIALPFineTune(seed=0, **FAST, learning_starts=8).from_pretrained(pretrained)
    ap = AIALPAdaptive(seed=0, **FAST, learning_starts=8).from_pretrained(pretrained)
    pre_actor = {k: v.clone() for k, v in pretrained.actor.state_dict().items()}
    run_online(ft, cfg)
    res = run_online(ap, cfg)
    # the pre-trained policy is untouched: A-iALP_ap keeps it frozen, fine-tuning copies it
    for k, v in ap.actor_pre.state_dict().items():
        assert torch.equal(v, pre_actor[k]), k
    for k, v in pretrained.actor.state_dict().items():
        assert torch.equal(v, pre_actor[k]), k
    changed = [not torch.equal(v, pre_actor[k]) for k, v in ap.actor.state_dict().items()]
    assert any(changed)
    assert any(not torch.equal(v, pre_actor[k]) for k, v in ft.actor.state_dict().items())
    assert ap.choice_counts.sum() == ap.online_steps == round(res.train_length.sum() * 4)
    assert res.eval_return.shape == (2,) and res.train_return.shape == (1,)


@pytest.mark.parametrize("judge", ["frozen_critic", "online_critic"])
def test_adaptive_choice_follows_its_judge(setup, pretrained, judge):
    ap = AIALPAdaptive(seed=0, **FAST, judge=judge).from_pretrained(pretrained)
    with torch.no_grad():  # make the two critics differ, as after online updates
        for p in ap.critic.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
    _, data = setup
    x = torch.as_tensor(data.context[:50])
    with torch.no_grad():
        q = (ap.critic_pre if judge == "frozen_critic" else ap.critic)(x).numpy()
    a_pre = np.zeros(50, np.int64)
    a_on = np.ones(50, np.int64)
    pick = ap._composite(x, a_pre, a_on, stochastic=False)
    np.testing.assert_array_equal(pick, (q[:, 1] > q[:, 0]).astype(int))


def test_behaviour_cloning_imitates_a_near_deterministic_logger():
    env = gym.make(ENV_ID, **SMALL)
    policy = sequential_behaviour_policy(env, temperature=0.05)
    data = collect(ENV_ID, policy, 2000, seed=0, **SMALL)
    bc = agents.make("bc", updates=800).fit(data)
    greedy = policy.probs(data.context).argmax(1)
    assert (bc.act(data.context) == greedy).mean() > 0.9


def test_llm_greedy_with_a_perfect_stub_shows_the_best_item_first(setup):
    env, data = setup
    llm = env.unwrapped.make_llm_user(alignment=1.0, temperature=0.0, hallucination_rate=0.0,
                                      boredom=0.0)
    agent = LLMGreedy().fit(data, llm=llm)
    first = data.extras["step"] == 0
    ctx = data.context[first][:10]
    users = ctx[:, 0].astype(int)
    np.testing.assert_array_equal(agent.act(ctx), env.unwrapped.world.ratings[users].argmax(1))
    assert agent.stats()["fallbacks"] == 0


def test_ppo_and_dqn_learn_through_their_own_env_for_exactly_the_budget(setup):
    _, data = setup
    for name in ("ppo", "dqn"):
        agent = agents.make(name, seed=0, n_steps=32, batch_size=32, learning_starts=10).fit(data)
        with pytest.raises(AgentError, match="online"):
            agent.act(data.context[0])
        rets, lens = agent.learn_episodes(3, lambda: make_flat_env(ENV_ID, **SMALL))
        assert rets.shape == (3,) and (lens >= 1).all()
        assert 0 <= agent.act(data.context[0]) < 30


def test_random_agent_is_seeded(setup):
    _, data = setup
    a = agents.make("seq_random", seed=3).fit(data).act(data.context[:20])
    b = agents.make("seq_random", seed=3).fit(data).act(data.context[:20])
    np.testing.assert_array_equal(a, b)


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="gamma"):
        IALP(gamma=1.0)
    with pytest.raises(ValueError, match="explore"):
        IALP(explore=2.0)
    with pytest.raises(ValueError, match="n_epochs"):
        OnlineConfig(n_epochs=0)


@pytest.mark.slow
def test_pretraining_beats_random_in_the_first_online_epoch_over_three_seeds():
    """Statistical: A-iALP_ap's first-epoch return exceeds random's on every seed."""
    env = gym.make(ENV_ID)
    for seed in range(3):
        data = collect(ENV_ID, sequential_behaviour_policy(env, seed=seed), 2000, seed=seed)
        llm = env.unwrapped.make_llm_user(alignment=0.5)
        ap = AIALPAdaptive(seed=seed).fit(data, llm=llm)
        cfg = OnlineConfig(n_epochs=1, episodes_per_epoch=10, seed=seed)
        r_ap = run_online(ap, cfg).train_return[0]
        r_rand = run_online(agents.make("seq_random", seed=seed).fit(data), cfg).train_return[0]
        assert r_ap > r_rand, (seed, r_ap, r_rand)
