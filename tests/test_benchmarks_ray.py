"""The Ray executor on an existing cluster (``--executor ray --address ADDR``) gives the same
rows as the local process pool, apart from timings.

The cluster is a Ray instance this test starts in its own process (its GCS address is
what ``ray start --head`` prints); the command line connects to it as it would to a
cluster's head node. Ray is installed by ``make install`` (the ``dev`` extra), so this runs
in the default test run; it is skipped only where Ray is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks.executors import RayExecutor
from benchmarks.results import deterministic_part, read_rows
from tests.spec_text import tiny_two_stage_toml

ROOT = Path(__file__).resolve().parent.parent

SPEC = tiny_two_stage_toml("ray", """
[[agents]]
agent = "recsim_envs.examples.my_agent:PopularIPS"
""")


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_a_run_on_an_existing_ray_cluster_gives_the_rows_of_the_process_pool(tmp_path):
    ray = pytest.importorskip("ray")
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    local = cli("run", str(spec), "--executor", "local", "--workers", "2",
                "--out", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        address = ray.get_runtime_context().gcs_address
        remote = cli("run", str(spec), "--executor", "ray", "--address", address,
                     "--out", str(tmp_path / "ray"))
    finally:
        ray.shutdown()
    assert remote.returncode == 0, remote.stderr
    assert "2 ok, 0 failed" in remote.stdout
    a = {r["cell_id"]: deterministic_part(r) for r in read_rows(tmp_path / "local/ray.jsonl").rows}
    b = {r["cell_id"]: deterministic_part(r) for r in read_rows(tmp_path / "ray/ray.jsonl").rows}
    assert len(a) == 2 and all(r["status"] == "ok" for r in a.values())
    assert a == b


def test_ray_init_arguments_per_kind_of_address(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    local = RayExecutor.__new__(RayExecutor)
    local.workers, local.address = 3, None
    kwargs = local._init_kwargs()
    assert kwargs["num_cpus"] == 3 and "address" not in kwargs  # a local instance
    cluster = RayExecutor.__new__(RayExecutor)
    cluster.workers, cluster.address = 3, "10.0.0.1:6379"
    kwargs = cluster._init_kwargs()
    assert kwargs["address"] == "10.0.0.1:6379" and "num_cpus" not in kwargs
    client = RayExecutor.__new__(RayExecutor)
    client.workers, client.address = 3, "ray://head:10001"
    assert set(client._init_kwargs()) == {"address", "runtime_env"}


def test_address_without_the_ray_executor_is_a_usage_error(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    out = cli("run", str(spec), "--address", "auto", "--out", str(tmp_path))
    assert out.returncode == 2 and "use it with --executor ray" in out.stderr


def test_a_ray_start_up_failure_is_one_line_and_runs_no_cell(monkeypatch):
    ray = pytest.importorskip("ray")

    def fail(**kwargs):
        raise TimeoutError("Timed out while waiting for the GCS\nmany more lines of Ray log")

    monkeypatch.setattr(ray, "init", fail)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    rows = []
    with pytest.raises(RuntimeError) as info:
        RayExecutor(2).run([], None, rows.append)
    message = str(info.value)
    assert message.startswith("Ray could not start (TimeoutError: Timed out while waiting")
    assert "\n" not in message and "--executor local" in message and rows == []
