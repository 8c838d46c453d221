"""A fourth family registered from a test folder (tests/toy_family) runs end to end through
the benchmark runner - logging, fit, online phase, evaluation, off-policy - with no shared
code edited, and its world is built once per cell."""

from __future__ import annotations

import pytest

from benchmarks.cells import RunContext, cell_seeds, cells_of
from benchmarks.runner import run_cell
from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec
from tests import toy_family
from tests.toy_family import env as toy_env

CONTEXT = RunContext(version="test", git_commit="0" * 40, git_dirty=False)
AGENTS = "tests.toy_family.agents"


@pytest.fixture(scope="module")
def rows():
    import gymnasium as gym

    from recsim_envs.families import FAMILIES

    toy_family.register()
    yield _run()
    # leave the suite's registries as they were (the registry tests list every id)
    del FAMILIES["toy"]
    del gym.registry[toy_env.ENV_ID]


def _run():
    spec = BenchmarkSpec(
        name="toy", family="toy",
        envs=(EnvSpec("small", "recsim_envs/ToyBandit-v0", {"n_actions": 4, "dim": 3}),),
        agents=(AgentSpec("greedy", f"{AGENTS}:ToyGreedy"),
                AgentSpec("uniform", f"{AGENTS}:ToyUniform")),
        seeds=1, data=DataSpec(n_train=2000, n_heldout=2000),
        evaluation=EvalSpec(n_eval=2000), behaviour={"policy": "uniform"},
    )
    out, builds = {}, {}
    for cell in cells_of(spec):
        before = toy_env.BUILDS[0]
        out[cell.agent.name] = run_cell(cell, CONTEXT)
        builds[cell.agent.name] = toy_env.BUILDS[0] - before
    return spec, out, builds


def test_the_toy_family_runs_every_phase_of_a_cell(rows):
    _, out, _ = rows
    for row in out.values():
        assert row["status"] == "ok", row["error"]
        assert row["family"] == "toy" and row["data"]["unit"] == "rounds"
        assert set(row["ope"]) == {"ips"}
    greedy, uniform = (out[n]["online"]["value"] for n in ("greedy", "uniform"))
    # the toy has a known optimum: greedy on per-arm ridge fits beats uniform choice by far
    assert greedy["ci_low"] > uniform["ci_high"]
    # IPS from uniform logs is unbiased: its interval covers the online value of uniform
    ips = out["uniform"]["ope"]["ips"]
    assert ips["ci_low"] <= uniform["mean"] <= ips["ci_high"]


def test_the_toy_world_is_built_once_per_cell(rows):
    _, _, builds = rows
    assert builds == {"greedy": 1, "uniform": 1}


def test_evaluate_with_a_rows_seeds_reproduces_its_online_value(rows):
    from benchmarks.families import get_family
    from benchmarks.plugins import build_agent
    from recsim_envs.evaluation import evaluate

    spec, out, _ = rows
    cell = next(c for c in cells_of(spec) if c.agent.name == "uniform")
    seeds = cell_seeds(spec.name, cell.env.name, cell.seed_index)
    harness, kwargs = get_family("toy"), cell.env_kwargs()
    env = harness.make_env(cell.env.id, kwargs)
    policy = harness.behaviour_policy(env, cell.behaviour(), seeds["behaviour"])
    train = harness.log(env, policy, spec.data.n_train, seeds["log_train"])
    agent, _ = build_agent(cell.agent, seeds["agent"])
    agent.fit(train)
    result = evaluate(agent, cell.env.id, kwargs, spec.evaluation.n_eval, seeds["evaluation"])
    assert result.value.to_dict() == out["uniform"]["online"]["value"]

