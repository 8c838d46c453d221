"""The runner: one row per cell, failing cells isolated, resume after interruption,
identical rows across executors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.cells import RunContext
from benchmarks.results import deterministic_part, read_rows
from benchmarks.runs import run_benchmark
from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = RunContext(version="test", git_commit="0" * 40, git_dirty=False)


class RaisingAgent:
    """A plug-in agent whose fit raises."""

    name = "raising"

    def fit(self, dataset):
        raise RuntimeError("boom in fit")

    def act(self, obs):  # pragma: no cover - never reached
        return obs


class OutOfSpaceAgent:
    """Nominates item ids beyond the catalogue."""

    name = "out_of_space"

    def fit(self, dataset):
        self.k, self.n = int(dataset.meta.info["n_candidates"]), dataset.meta.n_actions
        return self

    def act(self, obs):
        return np.full((len(obs), self.k), self.n + 7)


class FirstItemsAgent:
    """Always nominates items 0..k-1 (plain class, no BaseAgent, seed from the harness)."""

    name = "first_items"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, dataset):
        self.k = int(dataset.meta.info["n_candidates"])
        return self

    def act(self, obs):
        return np.tile(np.arange(self.k), (len(obs), 1))


def tiny_spec(agents, seeds=2, name="tiny"):
    return BenchmarkSpec(
        name=name,
        family="two_stage",
        envs=(EnvSpec("small", "recsim_envs/TwoStageSynthetic-v0",
                      {"n_items": 30, "n_candidates": 3}),),
        agents=tuple(agents),
        seeds=seeds,
        data=DataSpec(n_train=300, n_heldout=200),
        evaluation=EvalSpec(n_eval=100),
        behaviour={"policy": "softmax"},
    )


GOOD = [AgentSpec("popular", "popular"),
        AgentSpec("mine", "recsim_envs.examples.my_agent:PopularIPS", {"clip": 50.0}),
        AgentSpec("first", f"{__name__}:FirstItemsAgent")]


def test_rows_hold_spec_seed_values_estimates_and_provenance(tmp_path):
    summary = run_benchmark(tiny_spec(GOOD), tmp_path, executor="serial", context=CONTEXT,
                            log=lambda m: None)
    assert summary.ok and summary.n_cells == 6
    rows = read_rows(tmp_path / "tiny.jsonl").rows
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)
    row = next(r for r in rows if r["agent"]["name"] == "mine" and r["seed_index"] == 1)
    assert row["env"]["kwargs"] == {"n_items": 30, "n_candidates": 3}
    assert row["agent"]["module"] == "recsim_envs.examples.my_agent"
    assert row["agent"]["file"] == "my_agent.py" and len(row["agent"]["sha256"]) == 64
    assert row["agent"]["settings"] == {"clip": 50.0}
    assert row["versions"]["git_commit"] == "0" * 40
    value = row["online"]["value"]
    assert value["ci_low"] <= value["mean"] <= value["ci_high"] and value["n"] == 100
    assert set(row["ope"]) == {"ips", "snips", "dm", "dr"}
    assert set(row["timing"]) >= {"fit_s", "eval_s", "total_s"}
    # Every agent of a seed saw the same data and users; seeds differ across seed indices.
    seeds = {(r["seed_index"], json.dumps(r["seeds"])) for r in rows}
    assert len(seeds) == 2
    assert all(0 <= r["online"]["value"]["mean"] <= 1 for r in rows)


def test_failing_cells_are_isolated_and_named(tmp_path):
    agents = GOOD[:1] + [
        AgentSpec("raising", f"{__name__}:RaisingAgent"),
        AgentSpec("oos", f"{__name__}:OutOfSpaceAgent"),
        AgentSpec("ghost", "no_such_agent"),
        AgentSpec("noimport", "no_such_pkg.mod:Agent"),
        AgentSpec("badsetting", "popular", {"epochz": 3}),
    ]
    summary = run_benchmark(tiny_spec(agents, seeds=1), tmp_path, executor="serial",
                            context=CONTEXT, log=lambda m: None)
    assert not summary.ok
    errors = {r["agent"]["name"]: r["error"] for r in summary.rows if r["status"] != "ok"}
    assert set(errors) == {"raising", "oos", "ghost", "noimport", "badsetting"}
    assert "cell tiny/small/raising/seed0 failed in fit" in errors["raising"]
    assert "boom in fit" in errors["raising"]
    assert "out-of-space actions" in errors["oos"] and "row 0" in errors["oos"]
    assert "unknown agent 'no_such_agent'" in errors["ghost"]
    assert "could not import agent module 'no_such_pkg.mod'" in errors["noimport"]
    assert "unknown setting(s) ['epochz']" in errors["badsetting"]
    assert [r["status"] for r in summary.rows if r["agent"]["name"] == "popular"] == ["ok"]
    assert len(summary.failures) == 5


def test_unknown_environment_and_setting_fail_their_cells(tmp_path):
    spec = tiny_spec(GOOD[:1], seeds=1)
    spec = spec.replace(envs=(
        EnvSpec("ghost", "recsim_envs/NoSuchEnv-v0"),
        EnvSpec("typo", "recsim_envs/TwoStageSynthetic-v0", {"n_itemz": 30}),
        spec.envs[0],
    ))
    summary = run_benchmark(spec, tmp_path, executor="serial", context=CONTEXT,
                            log=lambda m: None)
    by_env = {r["env"]["name"]: r for r in summary.rows}
    assert "unknown environment 'recsim_envs/NoSuchEnv-v0'" in by_env["ghost"]["error"]
    assert "n_itemz" in by_env["typo"]["error"]
    assert by_env["small"]["status"] == "ok"


def test_an_interrupted_run_resumes_without_losing_or_repeating_cells(tmp_path):
    spec = tiny_spec(GOOD)
    full = run_benchmark(spec, tmp_path / "a", executor="serial", context=CONTEXT,
                         log=lambda m: None)
    lines = (tmp_path / "a" / "tiny.jsonl").read_text().splitlines(keepends=True)
    # Simulate a kill after two cells, mid-way through writing the third row.
    part = tmp_path / "b" / "tiny.jsonl"
    part.parent.mkdir()
    part.write_text(lines[0] + lines[1] + lines[2][:40])
    messages = []
    resumed = run_benchmark(spec, tmp_path / "b", executor="serial", context=CONTEXT,
                            log=messages.append)
    assert resumed.n_skipped == 2 and len(resumed.rows) == 4 and resumed.ok
    assert any("tiny.jsonl:3: broken result line" in m for m in messages)
    result = read_rows(part)
    assert not result.problems  # the broken line was repaired when its cell ran again
    by_id = {r["cell_id"]: deterministic_part(r) for r in result.rows}
    assert len(by_id) == 6
    for row in full.rows:  # resumed rows equal the uninterrupted ones, timing aside
        assert by_id[row["cell_id"]] == deterministic_part(row)
    # A third start has nothing left to do.
    again = run_benchmark(spec, tmp_path / "b", executor="serial", context=CONTEXT,
                          log=lambda m: None)
    assert again.n_skipped == 6 and again.rows == []


def test_failed_cells_run_again_on_resume(tmp_path):
    spec = tiny_spec([AgentSpec("raising", f"{__name__}:RaisingAgent")], seeds=1)
    first = run_benchmark(spec, tmp_path, executor="serial", context=CONTEXT,
                          log=lambda m: None)
    second = run_benchmark(spec, tmp_path, executor="serial", context=CONTEXT,
                           log=lambda m: None)
    assert not first.ok and not second.ok and second.n_skipped == 0


def test_process_pool_gives_the_same_rows_as_in_process(tmp_path):
    spec = tiny_spec(GOOD[:2], seeds=1)
    serial = run_benchmark(spec, tmp_path / "s", executor="serial", context=CONTEXT,
                           log=lambda m: None)
    pool = run_benchmark(spec, tmp_path / "p", executor="local", workers=2, context=CONTEXT,
                         log=lambda m: None)
    a = {r["cell_id"]: deterministic_part(r) for r in serial.rows}
    b = {r["cell_id"]: deterministic_part(r) for r in pool.rows}
    assert a == b and len(a) == 2


def test_the_ray_executor_without_ray_says_how_to_install_it():
    try:
        import ray  # noqa: F401
    except ImportError:
        from benchmarks.executors import get_executor

        with pytest.raises(RuntimeError, match=r"pip install 'ray\[default\]'"):
            get_executor("ray", 2)
    else:
        pytest.skip("ray is installed")


def test_cells_run_again_when_their_agent_code_changes(tmp_path, monkeypatch):
    module = tmp_path / "bench_agent_v.py"
    source = (ROOT / "recsim_envs" / "examples" / "my_agent.py").read_text()
    module.write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = tiny_spec([AgentSpec("v", "bench_agent_v:PopularIPS")], seeds=1)
    first = run_benchmark(spec, tmp_path / "out", executor="serial", context=CONTEXT,
                          log=lambda m: None)
    assert first.ok and len(first.rows) == 1
    module.write_text(source + "\n# a change\n")
    messages = []
    second = run_benchmark(spec, tmp_path / "out", executor="serial", context=CONTEXT,
                           log=messages.append)
    assert second.n_skipped == 0 and len(second.rows) == 1
    assert any("agent's code changed" in m for m in messages)
    assert second.rows[0]["agent"]["sha256"] != first.rows[0]["agent"]["sha256"]


def test_non_finite_numbers_become_null_and_are_named():
    from benchmarks.results import _finite_or_none, _non_finite

    row = {"online": {"metrics": {"optimality": float("inf")}}, "error": "a NaN in text",
           "curve": [1.0, float("nan")]}
    assert _non_finite(row) == [".online.metrics.optimality", ".curve[1]"]
    assert _finite_or_none(row) == {"online": {"metrics": {"optimality": None}},
                                    "error": "a NaN in text", "curve": [1.0, None]}


def test_a_cell_leaves_the_torch_thread_setting_as_it_found_it(tmp_path):
    import torch

    before = torch.get_num_threads()
    run_benchmark(tiny_spec(GOOD[:1], seeds=1), tmp_path, executor="serial", context=CONTEXT,
                  log=lambda m: None)
    assert torch.get_num_threads() == before
