"""SequentialRec-v0: hand-computed dynamics, text state, rating files, logging, vector env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401  (registers the ids)
from recsim_envs.data import collect
from recsim_envs.sequential.behaviour import sequential_behaviour_policy
from recsim_envs.sequential.envs import ENV_ID, SequentialRecEnv
from recsim_envs.sequential.observation import SequentialFlatObservation, flatten_obs
from recsim_envs.sequential.text_env import parse_state_text
from recsim_envs.sequential.world import RatingMatrixError, load_rating_matrix

SMALL = {"n_users": 40, "n_items": 30}


def items_of_category(env: SequentialRecEnv, n: int) -> tuple[int, np.ndarray]:
    cats, counts = np.unique(env.world.item_category, return_counts=True)
    c = int(cats[np.argmax(counts)])
    return c, np.flatnonzero(env.world.item_category == c)[:n]


def test_reward_is_the_true_rating_and_padding_sits_at_the_front():
    env = SequentialRecEnv(**SMALL)
    obs, info = env.reset(seed=0)
    u = obs["user_id"]
    assert u in env.world.train_users
    np.testing.assert_array_equal(obs["recent_items"], np.full(5, 30))
    np.testing.assert_array_equal(obs["recent_feedback"], np.zeros(5))
    a1, a2 = 3, 17
    _, r1, *_ = env.step(a1)
    obs, r2, *_ = env.step(a2)
    assert r1 == env.world.ratings[u, a1] and r2 == env.world.ratings[u, a2]
    np.testing.assert_array_equal(obs["recent_items"], [30, 30, 30, a1, a2])
    np.testing.assert_array_equal(obs["recent_feedback"], [0, 0, 0, r1, r2])


def test_click_reward_is_one_exactly_when_rating_reaches_threshold():
    env = SequentialRecEnv(**SMALL, reward_type="click", quit_window=1)
    obs, _ = env.reset(seed=1)
    ratings = env.world.ratings[obs["user_id"]]
    for a in range(10):
        _, r, *_ = env.step(a)
        assert r == float(ratings[a] >= 4)


def test_third_item_of_one_category_in_the_window_makes_the_user_quit():
    env = SequentialRecEnv(**SMALL, quit_window=5, max_same_category=2)
    _, same = items_of_category(env, 3)
    env.reset(seed=0)
    assert env.step(int(same[0]))[2] is False
    assert env.step(int(same[1]))[2] is False
    _, _, terminated, truncated, info = env.step(int(same[2]))
    assert terminated and not truncated and info["quit"]


def test_repeating_an_item_quits_and_window_clamps_at_episode_start():
    env = SequentialRecEnv(**SMALL, quit_window=3)
    env.reset(seed=0)
    assert env.step(5)[2] is False  # the first item never quits: no earlier items count
    assert env.step(5)[2] is True


def test_items_leaving_the_window_no_longer_count():
    env = SequentialRecEnv(**SMALL, quit_window=2, max_same_category=1)
    c, same = items_of_category(env, 2)
    other = np.flatnonzero(env.world.item_category != c)[:1]
    env.reset(seed=0)
    for a in (same[0], other[0], same[1]):  # same[0] left the 2-item window
        assert env.step(int(a))[2] is False


def test_turn_limit_truncates_after_max_turns():
    env = SequentialRecEnv(**SMALL, quit_window=1, max_turns=7)
    env.reset(seed=0)
    for t in range(7):
        _, _, term, trunc, _ = env.step(0)
        assert not term
        assert trunc == (t == 6)


def test_distance_rule_quits_on_items_with_close_rating_columns():
    probe = SequentialRecEnv(**SMALL, quit_rule="distance")
    dist = probe._dyn.dist[:30, :30]
    off = dist + np.eye(30) * 99
    i, j = np.unravel_index(np.argmin(off), off.shape)
    far = int(np.argmax(dist[i]))
    assert dist[i, j] < dist[i, far]
    threshold = float(dist[i, j] + dist[i, far]) / 2
    env = SequentialRecEnv(**SMALL, quit_rule="distance", distance_threshold=threshold)
    env.reset(seed=0)
    env.step(int(i))
    assert env.step(far)[2] is False
    env.reset(seed=0)
    env.step(int(i))
    assert env.step(int(j))[2] is True


@pytest.mark.parametrize("bad", [-1, 30, 2.5, "3", [1, 2]])
def test_action_outside_the_catalogue_raises(bad):
    env = SequentialRecEnv(**SMALL)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="catalogue|integer"):
        env.step(bad)


def test_state_text_names_user_items_and_ratings_and_parses_back():
    env = SequentialRecEnv(**SMALL)
    obs, info = env.reset(seed=2)
    assert f"User {obs['user_id']}:" in info["state_text"]
    assert "No items recommended yet" in info["state_text"]
    env.step(4)
    _, _, _, _, info = env.step(9)
    text = info["state_text"]
    assert env.world.item_names[4] in text and env.world.item_names[9] in text
    user, items, ratings = parse_state_text(text, env.world)
    assert user == obs["user_id"] and items == [4, 9]
    assert ratings == [env.world.ratings[user, 4], env.world.ratings[user, 9]]


def test_ansi_render_describes_what_was_shown():
    env = gym.make(ENV_ID, **SMALL, render_mode="ansi")
    env.reset(seed=0)
    env.step(4)
    assert env.unwrapped.world.item_names[4] in env.render()


def test_flat_wrapper_matches_layout_and_space():
    env = SequentialFlatObservation(gym.make(ENV_ID, **SMALL))
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    env.step(3)
    obs, *_ = env.step(7)
    assert env.observation_space.contains(obs)
    user, feats, items, fb = env.layout.split(obs[None])
    np.testing.assert_array_equal(items[0], [30, 30, 30, 3, 7])
    assert feats.shape == (1, 14) and fb[0, -1] == env.unwrapped.world.ratings[user[0], 7]


def test_vector_env_resets_finished_sessions_in_the_same_step():
    venv = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", **SMALL,
                        quit_window=1, max_turns=2, with_text=True)
    venv.reset(seed=0)
    venv.step(np.array([1, 2]))
    obs, _, term, trunc, info = venv.step(np.array([1, 2]))
    assert trunc.all() and not term.any()
    np.testing.assert_array_equal(obs["recent_items"], np.full((2, 5), 30))  # already reset
    np.testing.assert_array_equal(info["final_obs"][0]["recent_items"], [30, 30, 30, 1, 1])
    assert "User" in info["state_text"][1]


# ---------------------------------------------------------------- rating files


def write(tmp_path, text: str):
    (tmp_path / "ratings.txt").write_text(text)
    return tmp_path


def test_rating_file_loads_and_sets_the_world_shape(tmp_path):
    write(tmp_path, "1 2 3\n4 5 1\n2 2 2\n3 3 3\n")
    env = SequentialRecEnv(data_dir=str(tmp_path))
    assert env.world.ratings.shape == (4, 3)
    np.testing.assert_array_equal(env.world.ratings[1], [4, 5, 1])
    assert env.action_space.n == 3


@pytest.mark.parametrize(
    "text, match",
    [
        ("1 2 3\n4 5\n", "has 2 entries"),
        ("1 2 x\n4 5 1\n", "'x' is not a number"),
        ("1 2 3\n4 5 6\n", "outside the rating scale"),
        ("1 2 3\n4 nan 1\n", "finite"),
        ("", "empty"),
    ],
)
def test_bad_rating_files_raise_clear_errors(tmp_path, text, match):
    write(tmp_path, text)
    with pytest.raises(RatingMatrixError, match=match):
        load_rating_matrix(tmp_path)


def test_rating_file_of_the_wrong_shape_is_refused(tmp_path):
    write(tmp_path, "1 2 3\n4 5 1\n")
    with pytest.raises(RatingMatrixError, match="2 x 3 matrix but 5 users x 3 items"):
        load_rating_matrix(tmp_path, shape=(5, 3))


def test_missing_rating_file_names_the_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="ratings.txt"):
        SequentialRecEnv(data_dir=str(tmp_path))


# ---------------------------------------------------------------- logging


def test_logged_rounds_have_exact_pscores_true_rewards_and_consistent_episodes():
    env = gym.make(ENV_ID, **SMALL)
    policy = sequential_behaviour_policy(env)
    data = collect(ENV_ID, policy, 700, seed=3, **SMALL)
    assert len(data) == 700 and data.meta.info["family"] == "sequential"
    probs = policy.probs(data.context)
    np.testing.assert_allclose(data.pscore, probs[np.arange(700), data.action])
    lay = env.unwrapped.layout
    users, _, _, _ = lay.split(data.context)
    np.testing.assert_array_equal(data.reward, env.unwrapped.world.ratings[users, data.action])
    ep, step, nxt = data.extras["episode_id"], data.extras["step"], data.extras["next_context"]
    same = ep[1:] == ep[:-1]
    np.testing.assert_array_equal(step[1:][same], step[:-1][same] + 1)
    np.testing.assert_array_equal(nxt[:-1][same], data.context[1:][same])
    ended = (data.extras["terminated"] | data.extras["truncated"]).astype(bool)
    assert not np.any(ended[:-1] & same)  # nothing follows an ended step in its episode
    assert (step[ended] < 30).all() and (step[data.extras["truncated"] == 1] == 29).all()


def test_logging_is_identical_for_the_same_seed_and_differs_otherwise():
    env = gym.make(ENV_ID, **SMALL)
    pol = sequential_behaviour_policy(env)
    a = collect(ENV_ID, pol, 300, seed=1, **SMALL)
    b = collect(ENV_ID, pol, 300, seed=1, **SMALL)
    c = collect(ENV_ID, pol, 300, seed=2, **SMALL)
    np.testing.assert_array_equal(a.context, b.context)
    np.testing.assert_array_equal(a.action, b.action)
    assert not np.array_equal(a.action, c.action)


def test_logged_dataset_round_trips_through_parquet(tmp_path):
    env = gym.make(ENV_ID, **SMALL)
    data = collect(ENV_ID, sequential_behaviour_policy(env), 100, seed=0, **SMALL)
    back = type(data).load(data.save(tmp_path / "seq.parquet"))
    np.testing.assert_array_equal(back.extras["next_context"], data.extras["next_context"])
    np.testing.assert_array_equal(back.system["item_names"], data.system["item_names"])


def test_flatten_obs_handles_single_and_batched():
    env = SequentialRecEnv(**SMALL)
    obs, _ = env.reset(seed=0)
    flat = flatten_obs(obs)
    assert flat.shape == (env.layout.dim,)
    batch = {k: np.stack([np.asarray(v)] * 3) for k, v in obs.items()}
    np.testing.assert_array_equal(flatten_obs(batch), np.stack([flat] * 3))
