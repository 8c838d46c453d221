"""TwoStageSynthetic-v0: action semantics, settings, bad input and scale."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401  (registers the environments)
from recsim_envs.two_stage.world import TwoStageConfig

ENV_ID = "recsim_envs/TwoStageSynthetic-v0"


@pytest.fixture
def env():
    return gym.make(ENV_ID, n_items=100, n_candidates=5)


def test_defaults_match_the_issue(env):
    big = gym.make(ENV_ID)
    assert big.action_space.nvec.tolist() == [1000] * 30
    assert big.observation_space.shape == (16,)
    obs, _ = big.reset(seed=0)
    _, _, terminated, truncated, info = big.step(big.action_space.sample())
    assert terminated and not truncated  # one-step episodes by default
    assert info["shown"].shape == (1,)


def test_info_reports_the_ranker_choice_and_exact_expected_reward(env):
    obs, _ = env.reset(seed=0)
    base = env.unwrapped
    cands = np.array([3, 17, 42, 8, 99])
    _, reward, _, _, info = env.step(cands)
    scores = base.world.ranker.scores(obs[None], cands[None])[0]
    assert info["shown"][0] == cands[np.argmax(scores)]
    p_all = base.expected_reward_all()
    assert np.isclose(info["expected_reward"], p_all[info["shown"][0]])
    assert reward in (0.0, 1.0)


def test_repeated_ids_count_once_so_one_repeated_item_is_shown(env):
    env.reset(seed=1)
    _, _, _, _, info = env.step(np.full(5, 7))
    assert info["shown"].tolist() == [7]


def test_slate_shorter_than_requested_is_padded_with_minus_one():
    env = gym.make(ENV_ID, n_items=50, n_candidates=4, slate_size=3)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.array([5, 5, 6, 6]))
    assert sorted(info["shown"][:2].tolist()) == [5, 6] and info["shown"][2] == -1
    assert info["click_prob"][2] == 0 and info["clicks"][2] == 0
    assert reward == info["clicks"].sum()


def test_session_keeps_the_user_and_ends_after_session_length():
    env = gym.make(ENV_ID, n_items=50, n_candidates=4, session_length=3)
    obs0, _ = env.reset(seed=0)
    for t in range(3):
        obs, _, terminated, _, _ = env.step(np.arange(4))
        np.testing.assert_array_equal(obs, obs0)
        assert terminated == (t == 2)
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(np.arange(4))


@pytest.mark.parametrize(
    "action, match",
    [
        (np.array([0, 1, 2, 3, 100]), "outside"),
        (np.array([0, 1, 2, 3, -1]), "outside"),
        (np.array([0, 1, 2]), "shape"),
        (np.array([[0, 1, 2, 3, 4]] * 2), "shape"),
        (np.array([0.5, 1, 2, 3, 4]), "integer"),
        (np.array([np.nan, 1, 2, 3, 4]), "integer"),
    ],
)
def test_bad_actions_raise_a_clear_error(env, action, match):
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.unwrapped.step(action)


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"n_items": 9}, "n_items"),
        ({"n_items": 1_000_001}, "n_items"),
        ({"n_candidates": 0}, "n_candidates"),
        ({"slate_size": 31}, "slate_size"),
        ({"session_length": 0}, "session_length"),
        ({"ranker_noise": -1.0}, "ranker_noise"),
        ({"colour": "red"}, "unknown setting"),
    ],
)
def test_bad_settings_raise_a_clear_error(settings, match):
    with pytest.raises((ValueError, TypeError), match=match):
        gym.make(ENV_ID, **settings)


def test_config_defaults_are_documented_values():
    cfg = TwoStageConfig()
    assert (cfg.n_items, cfg.n_candidates, cfg.slate_size, cfg.session_length) == (1000, 30, 1, 1)


def test_world_is_fixed_by_world_seed():
    a = gym.make(ENV_ID, n_items=30, n_candidates=3).unwrapped.world
    b = gym.make(ENV_ID, n_items=30, n_candidates=3).unwrapped.world
    c = gym.make(ENV_ID, n_items=30, n_candidates=3, world_seed=1).unwrapped.world
    np.testing.assert_array_equal(a.item_features, b.item_features)
    np.testing.assert_array_equal(a.ranker.weights, b.ranker.weights)
    assert not np.array_equal(a.item_features, c.item_features)


def test_smallest_and_largest_catalogues_step():
    for n_items in (10, 1_000_000):
        env = gym.make(ENV_ID, n_items=n_items, n_candidates=10)
        env.reset(seed=0)
        _, _, _, _, info = env.step(np.arange(10) * (n_items // 10))
        assert 0 <= info["expected_reward"] <= 1


def test_native_vector_env_steps_many_users_in_one_call():
    venv = gym.make_vec(ENV_ID, num_envs=64, vectorization_mode="vector_entry_point",
                        n_items=100, n_candidates=5)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (64, 16)
    obs2, rewards, terminated, truncated, info = venv.step(np.tile(np.arange(5), (64, 1)))
    assert rewards.shape == (64,) and terminated.all() and not truncated.any()
    assert info["_final_obs"].all()
    np.testing.assert_array_equal(info["final_obs"], obs)
    assert not np.array_equal(obs2, obs)  # fresh users after the same-step reset
    with pytest.raises(ValueError, match="shape"):
        venv.step(np.zeros((63, 5), dtype=np.int64))


def _vector_rollout(block, n_steps=12, settings=None):
    settings = settings or {"n_items": 60, "n_candidates": 4, "slate_size": 2,
                            "session_length": 2}
    venv = gym.make_vec(ENV_ID, num_envs=5, vectorization_mode="vector_entry_point",
                        episode_block=block, **settings)
    out = [venv.reset(seed=3)[0]]
    acts = np.random.default_rng(0).integers(0, settings["n_items"],
                                             (n_steps, 5, settings["n_candidates"]))
    for t in range(n_steps):
        obs, rew, term, _, info = venv.step(acts[t])
        out += [obs, rew, term, info["clicks"], info["click_prob"]]
        if t == 4:
            out.append(venv.reset()[0])  # no seed: the generators (and buffers) go on
        if t == 8:
            out.append(venv.reset(seed=[9, 8, 7, 6, 5])[0])  # new generators: buffers void
    return out, acts


@pytest.mark.parametrize("block", [1, 2, 3])
def test_the_episode_buffer_changes_no_draw(block):
    # Blocks of 1 (a generator call per episode, the pre-buffer behaviour), 2 and 3 split
    # each generator's stream differently; the default (64 here) spans the whole run.
    ref, _ = _vector_rollout(None)
    got, _ = _vector_rollout(block)
    assert len(ref) == len(got)
    for a, b in zip(ref, got, strict=True):
        np.testing.assert_array_equal(a, b)


def test_vector_env_equals_single_envs_beyond_one_buffer_of_episodes():
    # 30 one-step episodes per sub-environment with blocks of 4: seven refills, each checked
    # against single environments with seeds s + i.
    settings = {"n_items": 40, "n_candidates": 3}
    venv = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                        episode_block=4, **settings)
    singles = [gym.make(ENV_ID, **settings) for _ in range(3)]
    vobs, _ = venv.reset(seed=11)
    sobs = np.stack([s.reset(seed=11 + i)[0] for i, s in enumerate(singles)])
    np.testing.assert_array_equal(vobs, sobs)
    acts = np.random.default_rng(1).integers(0, 40, (30, 3, 3))
    for t in range(30):
        vobs, vrew, _, _, vinfo = venv.step(acts[t])
        for i, s in enumerate(singles):
            _, rew, term, _, info = s.step(acts[t, i])
            assert term and vrew[i] == rew
            assert vinfo["expected_reward"][i] == info["expected_reward"]
            np.testing.assert_array_equal(vobs[i], s.reset()[0])


@pytest.mark.parametrize("block", [0, -1, 1.5, True])
def test_bad_episode_block_is_refused(block):
    with pytest.raises(ValueError, match="episode_block"):
        gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point",
                     episode_block=block, n_items=40, n_candidates=3)


def test_render_ansi_describes_the_step():
    env = gym.make(ENV_ID, n_items=50, n_candidates=4, render_mode="ansi")
    env.reset(seed=0)
    env.step(np.arange(4))
    text = env.render()
    assert "shown: item" in text and "4 distinct candidates" in text
