"""Exchange of logs: OBP round trips for every family, Minari export and import, and a
user's own bandit table imported with validation."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401
from recsim_envs.core.policies import SoftmaxPolicy, UniformPolicy
from recsim_envs.data import LoggedDataset, collect, collect_sessions
from recsim_envs.data.dataset import DatasetError
from recsim_envs.data.exchange import from_obp, import_bandit_table, to_obp
from recsim_envs.sequential.behaviour import sequential_behaviour_policy


def _two_stage() -> LoggedDataset:
    env = gym.make("recsim_envs/TwoStageSynthetic-v0", n_items=50, n_candidates=5,
                   slate_size=2)
    base = env.unwrapped
    return collect(env, SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 1.0), 200, seed=0)


def _sequential() -> LoggedDataset:
    env = gym.make("recsim_envs/SequentialRec-v0", n_users=30, n_items=20, max_turns=6)
    return collect(env, sequential_behaviour_policy(env), 600, seed=0)


def _prompt() -> LoggedDataset:
    env = gym.make("recsim_envs/PromptSentence-v0", n_prompts=10, n_eval=100)
    return collect(env, UniformPolicy(env.unwrapped.n_prompts), 200, seed=0)


def _assert_equal(a: LoggedDataset, b: LoggedDataset) -> None:
    for name in ("context", "action", "pscore", "reward", "expected_reward"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert set(a.extras) == set(b.extras) and set(a.system) == set(b.system)
    for k in a.extras:
        np.testing.assert_array_equal(a.extras[k], b.extras[k], err_msg=k)
    for k in a.system:
        np.testing.assert_array_equal(a.system[k], b.system[k], err_msg=k)
    assert a.meta.to_json() == b.meta.to_json()


@pytest.mark.parametrize("make", [_two_stage, _sequential, _prompt],
                         ids=["two_stage", "sequential", "prompt"])
def test_the_obp_round_trip_is_element_wise_equal(make):
    data = make()
    d = data.to_obp()
    assert d["n_rounds"] == len(data) and d["n_actions"] == data.meta.n_actions
    np.testing.assert_array_equal(d["pscore"], data.pscore)
    assert d["position"].shape == (len(data),)
    if "item_features" in data.system:
        assert d["action_context"].shape[0] == data.meta.n_actions
    _assert_equal(data, LoggedDataset.from_obp(d))


def test_foreign_obp_feedback_reads_the_logged_actions_expected_reward():
    rng = np.random.default_rng(0)
    n, k = 50, 4
    action = rng.integers(0, k, n)
    q = rng.random((n, k))
    d = {"n_rounds": n, "n_actions": k, "context": rng.random((n, 3)), "action": action,
         "reward": rng.integers(0, 2, n), "pscore": np.full(n, 0.25),
         "position": np.zeros(n, int), "expected_reward": q,
         "action_context": np.eye(k)}
    data = from_obp(d)
    np.testing.assert_allclose(data.expected_reward, q[np.arange(n), action].astype(np.float32))
    assert data.system["item_features"].shape == (k, k) and data.meta.n_actions == k
    back = to_obp(data)
    np.testing.assert_array_equal(back["action"], action)


def test_minari_export_and_import_round_trip(tmp_path, monkeypatch):
    pytest.importorskip("minari")
    from recsim_envs.data.exchange import from_minari, to_minari

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    data = _sequential()
    ds = to_minari(data, "recsim/test/sessions-v0")
    assert ds.total_steps == len(data)
    assert ds.total_episodes == len(np.unique(data.extras["episode_id"]))
    env = ds.recover_environment()
    assert env.spec.id == "recsim_envs/SequentialRec-v0"
    assert env.spec.kwargs == data.meta.env_kwargs
    back = from_minari("recsim/test/sessions-v0")
    for name in ("context", "action", "pscore", "reward", "expected_reward"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name), err_msg=name)
    for k in data.extras:
        np.testing.assert_array_equal(back.extras[k], data.extras[k], err_msg=k)
    for k in data.system:
        np.testing.assert_array_equal(back.system[k], data.system[k], err_msg=k)
    assert back.meta.env_id == data.meta.env_id and back.meta.policy_name == "softmax"


def _minari_reference(data: LoggedDataset, dataset_id: str):
    """The dataset Minari's own writer makes: one EpisodeBuffer per episode (the export's
    layout before issue 23, quadratic in the number of episodes)."""
    import dataclasses

    import minari
    from gymnasium import spaces
    from minari.data_collector import EpisodeBuffer

    ep = data.extras["episode_id"]
    starts = np.flatnonzero(np.r_[True, ep[1:] != ep[:-1]])
    buffers = []
    for k, (s, e) in enumerate(zip(starts, np.r_[starts[1:], len(ep)], strict=True)):
        infos = {"pscore": np.r_[np.nan, data.pscore[s:e]][:, None],
                 "expected_reward": np.r_[np.nan, data.expected_reward[s:e]].astype(
                     np.float32)[:, None],
                 "episode_id": np.r_[-1, ep[s:e]].astype(np.int64)[:, None]}
        buffers.append(EpisodeBuffer(
            id=k, observations=np.vstack([data.context[s:e], data.extras["next_context"][
                e - 1:e]]).astype(np.float32), actions=data.action[s:e],
            rewards=data.reward[s:e], terminations=data.extras["terminated"][s:e].astype(bool),
            truncations=data.extras["truncated"][s:e].astype(bool), infos=infos))
    spec = dataclasses.replace(gym.spec(data.meta.env_id), kwargs=data.meta.env_kwargs)
    return minari.create_dataset_from_buffers(
        dataset_id, buffers, env=spec, data_format="arrow", author="a", author_email="b",
        observation_space=spaces.Box(-np.inf, np.inf, (data.context.shape[1],), np.float32),
        action_space=spaces.Discrete(int(data.meta.n_actions)), description="reference")


def test_the_batched_minari_export_reads_back_as_minaris_own_writer(tmp_path, monkeypatch):
    pytest.importorskip("minari")
    from recsim_envs.data.exchange import to_minari

    monkeypatch.setattr("recsim_envs.data.exchange._EPISODES_PER_WRITE", 7)  # several writes
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    env = gym.make("recsim_envs/SequentialRec-v0", n_users=30, n_items=20, max_turns=6)
    data = collect(env, sequential_behaviour_policy(env), 160, seed=0)
    ours = to_minari(data, "recsim/test/batched-v0")
    ref = _minari_reference(data, "recsim/test/reference-v0")
    assert (ours.total_episodes, ours.total_steps) == (ref.total_episodes, ref.total_steps)
    assert ours.total_episodes > 3 * 7
    assert ours.storage.metadata["dataset_size"] > 0
    pairs = zip(ours.iterate_episodes(), ref.iterate_episodes(), strict=True)
    for a, b in pairs:
        assert a.id == b.id
        for name in ("observations", "actions", "rewards", "terminations", "truncations"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype, name
            np.testing.assert_array_equal(x, y, err_msg=f"episode {a.id}: {name}")
        assert set(a.infos) == set(b.infos)
        for k in a.infos:
            np.testing.assert_array_equal(a.infos[k], b.infos[k], err_msg=f"{a.id}: {k}")
    ids = range(ours.total_episodes)
    assert list(ours.storage.get_episode_metadata(ids)) == list(
        ref.storage.get_episode_metadata(ids))


def test_a_minari_export_records_absolute_world_paths_and_loads_elsewhere(tmp_path,
                                                                           monkeypatch):
    pytest.importorskip("minari")
    from recsim_envs.data.exchange import from_minari, to_minari
    from tests.worlds_fixtures import fitted_world_dir

    world = fitted_world_dir(tmp_path.parent)
    monkeypatch.chdir(world.parent)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))
    env = gym.make("recsim_envs/SequentialFromWorld-v0", world=world.name, max_turns=4)
    data = collect_sessions(env, sequential_behaviour_policy(env), 20, seed=1)
    assert data.meta.env_kwargs["world"] == world.name  # relative, as the user typed it
    to_minari(data, "recsim/test/world-v0", env_id="recsim_envs/SequentialFromWorld-v0")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    back = from_minari("recsim/test/world-v0")
    assert back.meta.env_kwargs["world"] == str(world.resolve())
    np.testing.assert_array_equal(back.action, data.action)
    for k in data.system:
        np.testing.assert_array_equal(back.system[k], data.system[k], err_msg=k)


def _table(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "logs.csv"
    path.write_text("\n".join(["x0,x1,action,reward,pscore", *rows]) + "\n")
    return path


def test_a_users_bandit_table_imports_and_off_policy_estimates_run(tmp_path):
    path = _table(tmp_path, ["0.5,1.0,2,1,0.5", "0.1,-1.0,0,0,0.25", "0.3,0.0,1,1,1.0"])
    data = import_bandit_table(path, context_cols=["x0", "x1"])
    np.testing.assert_array_equal(data.action, [2, 0, 1])
    np.testing.assert_allclose(data.context, [[0.5, 1.0], [0.1, -1.0], [0.3, 0.0]])
    assert data.meta.n_actions == 3
    # IPS of "always action 2" = mean(1[a = 2] r / pscore) = (1 / 0.5) / 3
    ips = np.mean((data.action == 2) * data.reward / data.pscore)
    assert ips == pytest.approx(2 / 3)


@pytest.mark.parametrize("rows, kwargs, match", [
    (["0.5,1.0,2,1,0.5"], {"context_cols": ["x0", "x9"]}, r"lacks the column\(s\) \['x9'\]"),
    (["0.5,1.0,2,1,0.5", "0.5,,1,1,0.5"], {}, r"column 'x1' must hold numbers .* row 1"),
    (["0.5,1.0,2,1,0.0"], {}, r"'pscore' must lie in \(0, 1\]; row 0"),
    (["0.5,1.0,1.5,1,0.5"], {}, r"'action' must hold integer action ids; row 0"),
    (["0.5,1.0,4,1,0.5"], {"n_actions": 3}, r"'action' must lie in \[0, 3\)"),
])
def test_a_bad_bandit_table_names_the_column_and_row(tmp_path, rows, kwargs, match):
    kwargs = {"context_cols": ["x0", "x1"], **kwargs}
    with pytest.raises(DatasetError, match=match):
        import_bandit_table(_table(tmp_path, rows), **kwargs)
