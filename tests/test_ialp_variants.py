"""iALP variants (issue 12), the stated quit rule, the no-repeat hand rule and PPO deployment."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import agents
from agents.sequential.ialp import IALP, AIALPAdaptive, AIALPFineTune, IALPConfig
from agents.sequential.reference import NoRepeatPopular, StatedQuitRule
from recsim_envs.data import collect
from recsim_envs.evaluation.learning import OnlineConfig, make_flat_env, run_online
from recsim_envs.sequential.behaviour import sequential_behaviour_policy
from recsim_envs.sequential.envs import ENV_ID

SMALL = {"n_users": 40, "n_items": 30}
FAST = {"n_imagined_sessions": 30, "session_len": 8, "rm_updates": 100, "ac_updates": 150,
        "batch_size": 64}
# protocol-only tests: tiny networks and few updates (what they check does not need learning)
TINY = {"n_imagined_sessions": 8, "session_len": 4, "rm_updates": 10, "ac_updates": 10,
        "batch_size": 32, "d_emb": 4, "hidden": 8, "learning_starts": 8, "online_batch": 16}


@pytest.fixture(scope="module")
def setup():
    env = gym.make(ENV_ID, **SMALL)
    data = collect(ENV_ID, sequential_behaviour_policy(env), 600, seed=0, **SMALL)
    return env, data


@pytest.fixture(scope="module")
def quit_aware(setup):
    env, data = setup
    return IALP(seed=0, **FAST).fit(data, llm=env.unwrapped.make_llm_user(alignment=0.5))


@pytest.fixture(scope="module")
def tiny(setup):
    env, data = setup
    return IALP(seed=0, **TINY).fit(data, llm=env.unwrapped.make_llm_user(alignment=0.5))


def test_stated_quit_rule_predicts_every_logged_termination(setup):
    _, data = setup
    rule = StatedQuitRule.from_dataset(data)
    pred = rule.quits(data.context)[np.arange(len(data)), data.action]
    np.testing.assert_array_equal(pred, data.extras["terminated"].astype(bool))
    assert pred.any() and not pred.all()


def test_stated_quit_rule_matches_the_environment_for_every_item(setup):
    env, data = setup
    dyn = env.unwrapped._dyn
    ctx = data.context[:40]
    _, _, items, _ = StatedQuitRule.from_dataset(data).layout.split(ctx)
    n_items = SMALL["n_items"]
    hist = np.concatenate([np.full((40, dyn.L - items.shape[1]), n_items), items], 1)
    truth = dyn.would_quit(np.repeat(hist, n_items, 0), np.tile(np.arange(n_items), 40))
    got = StatedQuitRule.from_dataset(data).quits(ctx)
    np.testing.assert_array_equal(got, truth.reshape(40, n_items))


def test_no_repeat_popular_shows_the_most_popular_safe_item(setup):
    env, data = setup
    agent = NoRepeatPopular().fit(data)
    ctx = data.context[:60]
    quits = StatedQuitRule.from_dataset(data).quits(ctx)
    pop = data.system["item_popularity"]
    expected = np.where(quits, -np.inf, pop[None, :]).argmax(1)
    np.testing.assert_array_equal(agent.act(ctx), expected)
    assert not quits[np.arange(60), agent.act(ctx)].any()


def test_no_repeat_popular_keeps_users_longer_than_random(setup):
    _, data = setup
    cfg = OnlineConfig(env_kwargs=SMALL, n_epochs=1, episodes_per_epoch=1)
    rule = run_online(agents.make("no_repeat_popular").fit(data), cfg)
    rand = run_online(agents.make("seq_random", seed=0).fit(data), cfg)
    assert rule.eval_length[0] > rand.eval_length[0] + 2, (rule.eval_length, rand.eval_length)


def test_variants_set_their_settings_and_explicit_settings_win():
    built = IALPConfig(variant="as_built")
    assert (built.learn_termination, built.online_bc_weight, built.judge) == (
        False, 0.0, "online_critic")
    aware = IALPConfig()
    assert (aware.learn_termination, aware.online_bc_weight, aware.online_bc_target,
            aware.judge) == (True, 0.1, "pretrained", "frozen_critic")
    assert IALPConfig(variant="as_built", online_bc_weight=0.3).online_bc_weight == 0.3
    with pytest.raises(ValueError, match="variant"):
        IALPConfig(variant="fixed")
    with pytest.raises(ValueError, match="judge"):
        IALPConfig(judge="oracle")


def test_fitting_one_instance_twice_gives_identical_networks(setup):
    env, data = setup
    agent = IALP(seed=3, **TINY)
    agent.fit(data, llm=env.unwrapped.make_llm_user(alignment=0.5))
    first = {k: v.clone() for k, v in agent.actor.state_dict().items()}
    agent.fit(data, llm=env.unwrapped.make_llm_user(alignment=0.5))
    for k, v in agent.actor.state_dict().items():
        assert torch.equal(v, first[k]), k


def test_imagined_sessions_end_only_in_the_quit_aware_variant(setup):
    env, data = setup
    cfg = {**TINY, "n_imagined_sessions": 30, "session_len": 8}
    built, aware = (IALP(seed=0, variant=v, **cfg).fit(
        data, llm=env.unwrapped.make_llm_user(alignment=0.5)) for v in ("as_built", "quit_aware"))
    assert built.fit_info["imagined_quit_rate"] == 0.0
    assert built.fit_info["n_imagined"] == 30 * 8
    assert aware.fit_info["imagined_quit_rate"] > 0.0
    # ended sessions record no later turns
    assert aware.fit_info["n_imagined"] < 30 * 8


@pytest.mark.slow
def test_quit_aware_critic_values_ending_items_below_safe_ones(setup, quit_aware):
    """The critic learns termination: in logged states, items the quit rule says end the
    session get a lower Q than safe items (by more than one reward unit on average)."""
    _, data = setup
    ctx = data.context[:300]
    quits = StatedQuitRule.from_dataset(data).quits(ctx)
    mixed = quits.any(1) & (~quits).any(1)
    with torch.no_grad():
        q = quit_aware.critic(torch.as_tensor(ctx)).numpy()
    gap = [q[i][~quits[i]].mean() - q[i][quits[i]].mean() for i in np.flatnonzero(mixed)]
    assert np.mean(gap) > 1.0, np.mean(gap)


def test_online_bc_pulls_toward_the_frozen_pretrained_actor(setup, tiny):
    cfg = OnlineConfig(env_kwargs=SMALL, n_epochs=1, episodes_per_epoch=3)
    ft = AIALPFineTune(seed=0, **TINY).from_pretrained(tiny)
    run_online(ft, cfg)
    assert ft.config.online_bc_weight == 0.1
    for k, v in ft.actor_pre.state_dict().items():  # the pull's target never moves
        assert torch.equal(v, tiny.actor.state_dict()[k]), k


def test_adaptive_with_frozen_judge_keeps_its_judge_frozen(setup, tiny):
    cfg = OnlineConfig(env_kwargs=SMALL, n_epochs=1, episodes_per_epoch=3)
    ap = AIALPAdaptive(seed=0, **TINY).from_pretrained(tiny)
    run_online(ap, cfg)
    for k, v in ap.critic_pre.state_dict().items():
        assert torch.equal(v, tiny.critic.state_dict()[k]), k
    assert any(not torch.equal(v, tiny.critic.state_dict()[k])
               for k, v in ap.critic.state_dict().items())
    assert sum(ap.stats().values()) == ap.online_steps


def test_online_phase_is_reproducible_from_fit_or_from_pretrained(tmp_path, setup, tiny):
    env, data = setup
    cfg = OnlineConfig(env_kwargs=SMALL, n_epochs=1, episodes_per_epoch=2)
    a = AIALPAdaptive(seed=0, **TINY).fit(data, llm=env.unwrapped.make_llm_user(alignment=0.5))
    b = AIALPAdaptive(seed=0, **TINY).from_pretrained(tiny)
    ra, rb = run_online(a, cfg), run_online(b, cfg)
    np.testing.assert_array_equal(ra.train_return, rb.train_return)
    np.testing.assert_array_equal(a.act(data.context), b.act(data.context))
    loaded = AIALPAdaptive.load(a.save(tmp_path / "ap.pt"))
    np.testing.assert_array_equal(loaded.act(data.context), a.act(data.context))


def test_ppo_is_deployed_stochastically_from_its_own_seeded_generator(setup):
    _, data = setup

    def trained(seed):
        agent = agents.make("ppo", seed=seed, n_steps=32, batch_size=32).fit(data)
        agent.learn_episodes(2, lambda: make_flat_env(ENV_ID, **SMALL))
        return agent

    a, b = trained(0), trained(0)
    ctx = data.context[:50]
    np.testing.assert_array_equal(a.act(ctx), b.act(ctx))
    probs = a.action_probs(ctx)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    assert len(np.unique(a.act(np.repeat(ctx[:1], 200, 0)))) > 1  # samples, not argmax
    det = agents.make("ppo", seed=0, n_steps=32, batch_size=32, deterministic=True).fit(data)
    det.learn_episodes(2, lambda: make_flat_env(ENV_ID, **SMALL))
    np.testing.assert_array_equal(det.act(ctx), det.action_probs(ctx).argmax(1))


# ---------------------------------------------------------------- issue 19 options


def test_issue19_options_are_validated():
    with pytest.raises(ValueError, match="calibration"):
        IALPConfig(calibration="linear")
    with pytest.raises(ValueError, match="candidate_pool"):
        IALPConfig(candidate_pool="all")
    with pytest.raises(ValueError, match="learn_termination"):
        IALPConfig(variant="as_built", candidate_pool="safe")


def test_safe_candidate_pool_lists_only_items_the_stated_rule_lets_through(setup):
    from agents.sequential.ialp.imagination import safe_candidates

    _, data = setup
    rule = StatedQuitRule.from_dataset(data)
    quits = rule.quits(data.context[:50])
    cand = safe_candidates(quits, 10, np.random.default_rng(0))
    assert cand.shape == (50, 10)
    assert all(len(set(row)) == 10 for row in cand)
    assert not quits[np.arange(50)[:, None], cand].any()


def test_profile_calibration_adds_popularity_and_like_to_the_reward_model(setup):
    env, data = setup
    agent = IALP(seed=0, calibration="profile", **TINY).fit(
        data, llm=env.unwrapped.make_llm_user(alignment=0.5))
    a, b, c_pop, c_like = (float(v) for v in agent.reward_scale)
    x = data.context[:20]
    with torch.no_grad():
        got = agent.calibrated_reward(torch.as_tensor(x)).numpy()
        raw = agent.reward_model(torch.as_tensor(x)).numpy()
    w = env.unwrapped.world
    likes = x[:, 1:15][:, -8:][:, w.item_category]
    expected = a * raw + b + c_pop * w.item_popularity[None, :] + c_like * likes
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # the coefficients are the least-squares fit on the logged rewards
    prof = agent._profile_of(data.context, data.action)
    r_hat = agent.reward_model(torch.as_tensor(data.context)).detach().numpy()[
        np.arange(len(data)), data.action]
    design = np.column_stack([r_hat, np.ones(len(data)), prof])
    coef, *_ = np.linalg.lstsq(design, data.reward, rcond=None)
    np.testing.assert_allclose([a, b, c_pop, c_like], coef, rtol=1e-3, atol=1e-3)
