"""SequentialRec-v0's learner interface (issue 19): item-feature observation keys and the
action mask of the documented quit rule, on the single env, the native vector env and the
fitted-world env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401  (registers the ids)
from recsim_envs.sequential.envs import ENV_ID, SequentialRecEnv

SMALL = {"n_users": 40, "n_items": 30}
DEFAULT_KEYS = {"user_id", "user_features", "recent_items", "recent_feedback"}


def random_rollout(env, seed: int, n_steps: int):
    """(obs, info) after reset and after each of ``n_steps`` uniform actions (resets on end)."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    out = [(obs, info, None)]
    for _ in range(n_steps):
        a = int(rng.integers(env.action_space.n))
        obs, _, term, trunc, info = env.step(a)
        out.append((obs, info, (a, term)))
        if term or trunc:
            obs, info = env.reset()
            out.append((obs, info, None))
    return out


@pytest.mark.parametrize("kwargs", [SMALL, {**SMALL, "quit_rule": "distance"},
                                    {**SMALL, "quit_window": 3, "max_same_category": 1}])
def test_action_mask_is_exactly_the_items_the_quit_rule_lets_through(kwargs):
    env = SequentialRecEnv(with_text=False, **kwargs)
    dyn = env._dyn
    rng = np.random.default_rng(0)
    n = env.world.n_items
    for _ in range(12):
        env.reset(seed=int(rng.integers(1000)))
        for _ in range(int(rng.integers(0, 6))):
            env.step(int(rng.integers(n)))
        quits = dyn.would_quit(np.repeat(env._hist, n, axis=0), np.arange(n))
        expected = ~quits if not quits.all() else np.ones(n, bool)
        np.testing.assert_array_equal(env.action_masks(), expected)


def test_a_masked_item_ends_the_session_and_an_allowed_one_does_not():
    env = SequentialRecEnv(with_text=False, **SMALL)
    for a, step in [(a, s) for s in range(6) for a in (0, 7, 13)]:
        env.reset(seed=3)
        for t in range(step):
            env.step(int(np.flatnonzero(env.action_masks())[t % 3]))
        mask = env.action_masks()
        _, _, term, _, _ = env.step(a)
        assert term == (not mask[a])


def test_info_carries_the_mask_of_the_observation_returned():
    env = gym.make(ENV_ID, with_text=False, **SMALL)
    rng = np.random.default_rng(5)
    _, info = env.reset(seed=5)
    for _ in range(40):
        np.testing.assert_array_equal(info["action_mask"], env.unwrapped.action_masks())
        assert info["action_mask"].dtype == bool and info["action_mask"].shape == (30,)
        _, _, term, trunc, info = env.step(int(rng.integers(30)))
        if term or trunc:
            _, info = env.reset()


def test_item_feature_keys_are_the_public_catalogue_and_the_default_keys_are_unchanged():
    plain = gym.make(ENV_ID, with_text=False, **SMALL)
    rich = gym.make(ENV_ID, with_text=False, item_features=True, **SMALL)
    assert set(plain.observation_space.spaces) == DEFAULT_KEYS
    assert set(rich.observation_space.spaces) == DEFAULT_KEYS | {
        "item_features", "recent_item_features"}
    table = rich.unwrapped.world.item_features()
    assert rich.observation_space["item_features"].shape == table.shape == (30, 23)
    for (o1, i1, s1), (o2, i2, s2) in zip(random_rollout(plain, 9, 60),
                                          random_rollout(rich, 9, 60), strict=True):
        assert s1 == s2
        for key in DEFAULT_KEYS:
            np.testing.assert_array_equal(o1[key], o2[key])
        np.testing.assert_array_equal(i1["action_mask"], i2["action_mask"])
        np.testing.assert_array_equal(o2["item_features"], table)
        items = o2["recent_items"]
        pad = items == 30
        np.testing.assert_array_equal(o2["recent_item_features"][~pad], table[items[~pad]])
        assert not o2["recent_item_features"][pad].any()
        assert rich.observation_space.contains(o2)


def test_vector_env_masks_and_item_features_agree_with_single_envs():
    n, seed = 3, 4
    kw = {**SMALL, "item_features": True, "max_turns": 6}
    venv = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", **kw)
    singles = [gym.make(ENV_ID, with_text=False, **kw) for _ in range(n)]
    vobs, vinfo = venv.reset(seed=seed)
    infos = [s.reset(seed=seed + i)[1] for i, s in enumerate(singles)]
    rng = np.random.default_rng(1)
    for _ in range(25):
        for i in range(n):
            np.testing.assert_array_equal(vinfo["action_mask"][i], infos[i]["action_mask"])
        np.testing.assert_array_equal(venv.unwrapped.action_masks(), vinfo["action_mask"])
        actions = rng.integers(30, size=n)
        vobs, _, _, _, vinfo = venv.step(actions)
        for i, s in enumerate(singles):
            obs, _, term, trunc, infos[i] = s.step(int(actions[i]))
            if term or trunc:
                obs, infos[i] = s.reset()
            for key in obs:
                np.testing.assert_array_equal(vobs[key][i], obs[key])


def test_fitted_world_env_has_the_same_interface(tmp_path):
    from tests.worlds_fixtures import fitted_world_dir

    env = gym.make("recsim_envs/SequentialFromWorld-v0", world=str(fitted_world_dir(tmp_path)),
                   with_text=False, item_features=True)
    base = env.unwrapped
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(obs["item_features"], base.world.item_features())
    n = base.world.n_items
    for _ in range(5):
        quits = base._dyn.would_quit(np.repeat(base._hist, n, axis=0), np.arange(n))
        np.testing.assert_array_equal(info["action_mask"], ~quits)
        obs, _, term, trunc, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
        assert env.observation_space.contains(obs)
        if term or trunc:
            break


def test_maskable_ppo_learns_on_the_env_with_its_mask():
    sb3_contrib = pytest.importorskip("sb3_contrib")

    env = gym.make(ENV_ID, with_text=False, **SMALL)
    model = sb3_contrib.MaskablePPO("MultiInputPolicy", env, n_steps=32, batch_size=16,
                                    n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    obs, _ = env.reset(seed=2)
    for _ in range(20):
        mask = env.unwrapped.action_masks()
        a, _ = model.predict(obs, action_masks=mask)
        assert mask[int(a)]
        obs, _, term, trunc, _ = env.step(int(a))
        assert not term  # a masked policy never triggers the quit rule
        if trunc:
            obs, _ = env.reset()
