"""Fuzzing with generated bad input: every environment's ``step`` / ``reset`` and every
loader either succeeds or raises one of the suite's named errors (a ``ValueError`` or
``TypeError`` subclass with a message), never anything else (IndexError, KeyError,
AttributeError, ...: a crash that tells the user nothing)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from tests.env_cases import CASES
from tests.test_env_registry import env_id_of

FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMED = (ValueError, TypeError, gym.error.Error)
"""The suite's errors (DatasetError, TableError, WorldError, SpecError, AgentError, ...
subclass ValueError; ContractError subclasses TypeError) and Gymnasium's own (a bad seed)."""

# One case per registered id, the cheapest.
ENV_CASES = sorted({env_id_of(c): c for c in sorted(CASES, reverse=True)}.values())

bad_scalars = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.none(), st.text(max_size=3), st.booleans(),
)
bad_arrays = st.one_of(
    arrays(np.int64, array_shapes(max_dims=3, max_side=40),
           elements=st.integers(-(2**40), 2**40)),
    arrays(np.float64, array_shapes(max_dims=2, max_side=40)),
)


@pytest.fixture(scope="module", params=ENV_CASES)
def env(request, tmp_path_factory):
    e = gym.make(env_id_of(request.param), **CASES[request.param](tmp_path_factory.mktemp("f")))
    e.reset(seed=0)
    yield e
    e.close()


@FUZZ
@given(action=st.one_of(bad_scalars, bad_arrays, st.lists(st.integers(-5, 50), max_size=40)))
@example(action=float("inf"))  # found by this test: an OverflowError in SequentialRec-v0
@example(action=float("nan"))
@example(action=-1)
@example(action=10**6)
@example(action="3")
def test_step_with_any_action_succeeds_or_names_the_problem(env, action):
    env.reset(seed=1)
    try:
        obs, reward, terminated, truncated, info = env.unwrapped.step(action)
    except NAMED as exc:
        assert str(exc), "an error without a message"
        return
    # Coercions (a float 3.0, a one-element array) may be accepted; ids outside the action
    # space may not: they would silently index another item (-1 is the last one).
    values = np.asarray(action)
    if values.dtype.kind in "iu" and values.size:
        space = env.action_space
        high = space.n if isinstance(space, gym.spaces.Discrete) else space.nvec.max()
        assert values.min() >= 0 and values.max() < high, \
            f"accepted ids outside {space}: {action!r}"
    assert env.observation_space.contains(obs)
    assert np.all(np.isfinite(np.asarray(reward, dtype=np.float64)))


@FUZZ
@given(seed=st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=3)),
       options=st.one_of(st.none(), st.dictionaries(st.text(max_size=8), bad_scalars,
                                                    max_size=2)))
def test_reset_with_any_seed_and_options_succeeds_or_names_the_problem(env, seed, options):
    try:
        obs, info = env.unwrapped.reset(seed=seed, options=options)
    except NAMED as exc:
        assert str(exc)
        return
    assert env.observation_space.contains(obs)


@FUZZ
@given(data=st.binary(max_size=300))
def test_loaders_reject_garbage_files_with_their_named_error(tmp_path_factory, data):
    from benchmarks.spec import load_spec
    from recsim_envs.data import LoggedDataset
    from recsim_envs.worlds import load_world, read_table

    folder = tmp_path_factory.mktemp("garbage")
    for name, load in (("x.parquet", LoggedDataset.load), ("x.csv", read_table),
                       ("x.toml", load_spec)):
        path = folder / name
        path.write_bytes(data)
        try:
            load(path)
        except NAMED as exc:
            assert str(exc)
    (folder / "world").mkdir()
    (folder / "world" / "manifest.json").write_bytes(data)
    with pytest.raises(NAMED):
        load_world(folder / "world")
