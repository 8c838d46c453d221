"""Every registered environment passes the same checks: API compliance, exact seeded
determinism, pickling, observations inside their space, and native-vector agreement."""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import recsim_envs
from tests.env_cases import CASES

# Warnings a checker may emit that we accept, each with the reason.
# (pattern, reason). Empty: every checker warning is a failure until it is argued for here.
ALLOWED_WARNINGS: list[tuple[str, str]] = [
    (r"Your observation (recent_)?item_features has an unconventional shape",
     "SequentialRec-v0(item_features=True): one row of public attributes per item, "
     "(n_items, d) and (history_len, d), as RecSim passes candidate documents' features "
     "(issue 19); SB3's MultiInputPolicy flattens them (tested with MaskablePPO)"),
]

N_STEPS = 50


def env_id_of(case: str) -> str:
    return "/".join(case.split("/")[:2])


def make(case: str, tmp_path: Path, **extra: Any) -> gym.Env:
    return gym.make(env_id_of(case), **CASES[case](tmp_path), **extra)


def unexpected(caught: list[warnings.WarningMessage]) -> list[str]:
    out = []
    for w in caught:
        msg = str(w.message)
        if not any(re.search(pattern, msg) for pattern, _ in ALLOWED_WARNINGS):
            out.append(f"{w.category.__name__}: {msg}")
    return out


def assert_same(a: Any, b: Any, where: str) -> None:
    """Element-wise equality of observations, arrays, dicts and scalars."""
    if isinstance(a, dict):
        assert set(a) == set(b), f"{where}: keys differ"
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, (str, bytes)):
        assert a == b, where
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=where)


def numeric_info(info: dict[str, Any]) -> dict[str, Any]:
    kinds = (int, float, np.ndarray, np.generic, str)
    return {k: v for k, v in info.items() if isinstance(v, kinds)}


def rollout(env: gym.Env, seed: int, n_steps: int) -> list[tuple]:
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    trace = [("reset", obs, numeric_info(info))]
    for _ in range(n_steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs), f"observation outside the space: {obs}"
        trace.append(("step", obs, reward, terminated, truncated, numeric_info(info)))
        if terminated or truncated:
            obs, info = env.reset()
            assert env.observation_space.contains(obs)
            trace.append(("reset", obs, numeric_info(info)))
    return trace


def test_every_registered_id_has_a_test_case():
    ids = recsim_envs.registered_ids()
    assert ids, "nothing registered"
    missing = [i for i in ids if i not in {env_id_of(c) for c in CASES}]
    assert not missing, f"add test settings for {missing} to tests/env_cases.py"


CASE_IDS = sorted(CASES)


@pytest.mark.parametrize("case", CASE_IDS)
def test_gymnasium_checker_passes(case, tmp_path):
    env = make(case, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped, skip_render_check=False)
    assert not unexpected(caught)


@pytest.mark.parametrize("case", CASE_IDS)
def test_stable_baselines3_checker_passes_without_warnings(case, tmp_path):
    env = make(case, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env, warn=True)
    assert not unexpected(caught)


@pytest.mark.parametrize("case", CASE_IDS)
def test_same_seed_gives_identical_50_step_rollouts(case, tmp_path):
    a = rollout(make(case, tmp_path), seed=7, n_steps=N_STEPS)
    b = rollout(make(case, tmp_path), seed=7, n_steps=N_STEPS)
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert_same(list(x), list(y), f"{case} entry {i}")


@pytest.mark.parametrize("case", CASE_IDS)
def test_different_seeds_give_different_rollouts(case, tmp_path):
    a = rollout(make(case, tmp_path), seed=1, n_steps=5)
    b = rollout(make(case, tmp_path), seed=2, n_steps=5)
    with pytest.raises(AssertionError):
        assert_same(a[0][1], b[0][1], "first observations")


@pytest.mark.parametrize("case", CASE_IDS)
def test_pickled_environment_continues_identically(case, tmp_path):
    env = make(case, tmp_path)
    env.action_space.seed(3)
    env.reset(seed=3)
    _, _, terminated, truncated, _ = env.step(env.action_space.sample())
    if terminated or truncated:
        env.reset()
    clone = pickle.loads(pickle.dumps(env))
    clone.action_space.seed(11)
    env.action_space.seed(11)
    for _ in range(5):
        a = env.action_space.sample()
        clone.action_space.sample()
        out_a = env.step(a)
        out_b = clone.step(a)
        assert_same(out_a[0], out_b[0], "obs after unpickling")
        assert out_a[1:4] == out_b[1:4]
        if out_a[2] or out_a[3]:
            assert_same(env.reset()[0], clone.reset()[0], "reset after unpickling")


@pytest.mark.parametrize("case", CASE_IDS)
def test_native_vector_env_agrees_with_single_envs(case, tmp_path):
    env_id = env_id_of(case)
    kwargs = CASES[case](tmp_path)
    if gym.spec(env_id).vector_entry_point is None:
        pytest.skip("no native vector implementation")
    n, seed = 3, 21
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    singles = [gym.make(env_id, **kwargs) for _ in range(n)]
    vobs, _ = venv.reset(seed=seed)
    sobs = [s.reset(seed=seed + i)[0] for i, s in enumerate(singles)]
    for i in range(n):
        assert_same(_index(vobs, i), sobs[i], f"reset obs of sub-env {i}")
    for s in singles:
        s.action_space.seed(5)
    for step in range(20):
        actions = [s.action_space.sample() for s in singles]
        vobs, vrew, vterm, vtrunc, vinfo = venv.step(_stack(actions))
        for i, s in enumerate(singles):
            obs, rew, term, trunc, info = s.step(actions[i])
            assert vrew[i] == rew, f"step {step} env {i}: reward"
            assert bool(vterm[i]) == term and bool(vtrunc[i]) == trunc, f"step {step} env {i}"
            if "expected_reward" in info:
                assert np.isclose(vinfo["expected_reward"][i], info["expected_reward"])
            if term or trunc:
                assert_same(_index(vinfo["final_obs"], i), obs, f"final obs, env {i}")
                obs, _ = s.reset()
            assert_same(_index(vobs, i), obs, f"step {step} env {i}: obs")
    venv.close()


def _index(batch: Any, i: int) -> Any:
    if isinstance(batch, dict):
        return {k: v[i] for k, v in batch.items()}
    return batch[i]


def _stack(actions: list[Any]) -> Any:
    if isinstance(actions[0], dict):
        return {k: np.stack([a[k] for a in actions]) for k in actions[0]}
    return np.stack(actions)
